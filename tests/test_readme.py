"""The README's Python example runs as written, from any directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests._shared import REPO


def test_readme_library_example_runs(tmp_path: Path) -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    (code,) = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    code = code.replace("sqlite:///payer.sqlite3", f"sqlite:///{tmp_path / 'payer.sqlite3'}")
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Prior authorization required" in result.stdout
