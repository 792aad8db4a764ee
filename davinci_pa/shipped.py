"""The content that ships with davinci-pa, found the same way from a wheel or a checkout.

``rule_pack()`` is the CQL rule pack, ``questionnaires()`` the DTR forms and
``example_request(name)`` one of the CDS Hooks requests of ``examples/requests``::

    from davinci_pa import shipped
    payer = Payer.from_rule_pack(shipped.rule_pack(), database=db)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent


def rule_pack() -> Path:
    """The shipped rule pack folder (``cql_rules``)."""
    return _find("cql_rules")


def questionnaires() -> Path:
    """The shipped DTR content folder (``questionnaires``)."""
    return _find("questionnaires")


def example_requests() -> Path:
    """The folder of example CDS Hooks requests (``examples/requests``)."""
    return _find("examples", "requests")


def example_request(name: str) -> Any:
    """One example request by file stem, e.g. ``"order-sign-power-wheelchair"``."""
    path = example_requests() / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _find(*parts: str) -> Path:
    bundled = _PACKAGE.joinpath("_bundled", *parts)
    return bundled if bundled.is_dir() else _CHECKOUT.joinpath(*parts)
