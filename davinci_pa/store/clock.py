"""The clock seam: repositories take a ``Clock`` so tests can fix time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Returns the current time as an aware datetime."""


def utc_now() -> datetime:
    """Return the current UTC time (the default clock)."""
    return datetime.now(UTC)
