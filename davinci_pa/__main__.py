"""``python -m davinci_pa``: the ``davinci-pa`` command line."""

from __future__ import annotations

import sys

from davinci_pa.cli import main

if __name__ == "__main__":
    sys.exit(main())
