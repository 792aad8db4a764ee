"""The CQL Interval value: ordered low/high bounds, each open or closed, possibly null (§2.1.4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Interval:
    """An interval over an ordered point type; a null bound with a closed flag means unknown."""

    low: Any
    high: Any
    low_closed: bool = True
    high_closed: bool = True

    def __repr__(self) -> str:
        left = "[" if self.low_closed else "("
        right = "]" if self.high_closed else ")"
        return f"Interval{left}{self.low!r}, {self.high!r}{right}"
