"""The clock seam (repositories take a ``Clock`` so tests can fix time) and stored times."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

Clock = Callable[[], datetime]
"""Returns the current time as an aware datetime."""


def utc_now() -> datetime:
    """Return the current UTC time (the default clock)."""
    return datetime.now(UTC)


def aware_row(row: Any) -> dict[str, Any]:
    """A database row with every datetime made aware: SQLite returns naive ones, all UTC."""
    return {
        k: v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v
        for k, v in dict(row).items()
    }
