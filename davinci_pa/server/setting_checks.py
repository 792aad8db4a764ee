"""Parsers for ``DAVINCI_PA_*`` values: each names the variable, the value and what it expects.

A bad value raises :class:`ConfigurationError` with one line such as
``DAVINCI_PA_CRD_DEFAULT_VERSION='3.0': expected one of 2.0, 2.2``; the CLI prints it and
exits 2. Unknown variables are reported with a "did you mean" suggestion.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from davinci_pa.errors import ConfigurationError
from davinci_pa.fhir.client import AllowList

PREFIX = "DAVINCI_PA_"
Parser = Callable[[str], Any]
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


class BadSetting(ValueError):
    """Raised by a parser: the message says what was expected."""


def invalid(variable: str, raw: str, expected: str) -> ConfigurationError:
    """The one-line error for a bad setting."""
    return ConfigurationError(f"{variable}={raw!r}: expected {expected}")


def text(raw: str) -> str:
    """Any non-empty text."""
    return raw


def choice(options: Collection[str]) -> Parser:
    """One of ``options``."""

    def parse(raw: str) -> str:
        if raw not in options:
            raise BadSetting(f"one of {', '.join(sorted(options))}")
        return raw

    return parse


def boolean(raw: str) -> bool:
    """``1/0``, ``true/false``, ``yes/no`` or ``on/off``."""
    word = raw.lower()
    if word not in TRUE_WORDS | FALSE_WORDS:
        raise BadSetting("1 or 0 (also true/false, yes/no, on/off)")
    return word in TRUE_WORDS


def positive_int(raw: str) -> int:
    """An integer above zero."""
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise BadSetting("a positive integer")
    return value


def seconds(raw: str) -> str:
    """A number of seconds, zero or more (kept as text: ``0`` means off)."""
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise BadSetting("a number of seconds, 0 or more")
    return raw


def http_url(raw: str) -> str:
    """An absolute ``http`` or ``https`` URL."""
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise BadSetting("an absolute http(s) URL such as https://payer.example.com")
    return raw


def url_list(raw: str) -> tuple[str, ...]:
    """Comma-separated absolute ``http(s)`` URLs."""
    items = _split(raw)
    for item in items:
        if item != "*":
            try:
                http_url(item)
            except BadSetting:
                raise BadSetting(
                    f"comma-separated absolute http(s) URLs; {item!r} is not one"
                ) from None
    return items


def url_prefixes(raw: str) -> tuple[str, ...]:
    """Comma-separated URL prefixes for an allowlist (a port may be ``*``)."""
    items = _split(raw)
    try:
        AllowList(items)
    except ValueError as exc:
        raise BadSetting(f"comma-separated http(s) URL prefixes; {exc}") from None
    return items


def origin_list(raw: str) -> tuple[str, ...]:
    """``*`` or comma-separated origins (``https://ehr.example.org``)."""
    items = _split(raw)
    if items == ("*",):
        return items
    try:
        return url_list(raw)
    except BadSetting:
        raise BadSetting("* or comma-separated origins such as https://ehr.example.org") from None


def database_url(raw: str) -> str:
    """A SQLAlchemy URL."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(raw)
    except ArgumentError:
        raise BadSetting(
            "a SQLAlchemy URL such as sqlite:///davinci-pa.sqlite3 or "
            "postgresql+psycopg://user@host/db"
        ) from None
    return raw


def existing_file(raw: str) -> str:
    """The path of a readable file."""
    if not Path(raw).is_file():
        raise BadSetting("the path of an existing file")
    return raw


def existing_dir(raw: str) -> Path:
    """The path of an existing folder."""
    path = Path(raw)
    if not path.is_dir():
        raise BadSetting("the path of an existing folder")
    return path


def rule_pack(raw: str) -> Path:
    """A rule pack folder: it holds ``payers.json``."""
    path = existing_dir(raw)
    if not (path / "payers.json").is_file():
        raise BadSetting("a rule pack folder holding payers.json")
    return path


def package_list(raw: str) -> str:
    """Comma-separated IG packages: ``.tgz`` files or unpacked folders."""
    for item in _split(raw):
        if not Path(item).exists():
            raise BadSetting(f"comma-separated .tgz files or folders; {item!r} does not exist")
    return raw


def unknown_variables(environ: Mapping[str, str], known: Iterable[str]) -> list[str]:
    """A warning for each ``DAVINCI_PA_*`` variable no setting reads, with a suggestion."""
    names = sorted(set(known))
    warnings = []
    for variable in sorted(k for k in environ if k.startswith(PREFIX) and k not in names):
        close = difflib.get_close_matches(variable, names, n=1, cutoff=0.75)
        hint = f" (did you mean {close[0]}?)" if close else ""
        warnings.append(f"unknown setting {variable} is ignored{hint}")
    return warnings


def mask_url(raw: str) -> str:
    """A database URL with its password replaced by ``***``."""
    from sqlalchemy.engine import make_url

    return make_url(raw).render_as_string(hide_password=True)


def _split(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())
