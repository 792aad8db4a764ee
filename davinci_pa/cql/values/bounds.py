"""Successor/predecessor of point values and closed views of intervals (CQL §9.2, §19.1).

Temporal and quantity point types plug in through :func:`register_point_type`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from davinci_pa.cql.values.decimals import (
    DECIMAL_MAX,
    DECIMAL_MIN,
    DECIMAL_STEP,
    INT_MAX,
    INT_MIN,
)
from davinci_pa.cql.values.interval import Interval


class PointOverflow(ArithmeticError):
    """Successor of the maximum value or predecessor of the minimum value."""


@dataclass(frozen=True, slots=True)
class PointOps:
    """Stepping functions for an ordered point type; they raise PointOverflow at the limits."""

    successor: Callable[[Any], Any]
    predecessor: Callable[[Any], Any]


def _int_succ(value: int) -> int:
    if value >= INT_MAX:
        raise PointOverflow("successor of the maximum Integer")
    return value + 1


def _int_pred(value: int) -> int:
    if value <= INT_MIN:
        raise PointOverflow("predecessor of the minimum Integer")
    return value - 1


def _dec_succ(value: Decimal) -> Decimal:
    if value >= DECIMAL_MAX:
        raise PointOverflow("successor of the maximum Decimal")
    return value + DECIMAL_STEP


def _dec_pred(value: Decimal) -> Decimal:
    if value <= DECIMAL_MIN:
        raise PointOverflow("predecessor of the minimum Decimal")
    return value - DECIMAL_STEP


_POINTS: dict[type, PointOps] = {
    int: PointOps(_int_succ, _int_pred),
    Decimal: PointOps(_dec_succ, _dec_pred),
}


def register_point_type(cls: type, ops: PointOps) -> None:
    """Teach successor/predecessor about ``cls``."""
    _POINTS[cls] = ops


def point_ops(value: Any) -> PointOps | None:
    """Return the stepping functions for a value's type, if it has any."""
    return _POINTS.get(type(value))


def successor(value: Any) -> Any:
    """CQL Successor; raises PointOverflow past the maximum, TypeError for unordered types."""
    ops = point_ops(value)
    if ops is None:
        raise TypeError(f"Successor is not defined for {type(value).__name__}")
    return ops.successor(value)


def predecessor(value: Any) -> Any:
    """CQL Predecessor; raises PointOverflow past the minimum, TypeError for unordered types."""
    ops = point_ops(value)
    if ops is None:
        raise TypeError(f"Predecessor is not defined for {type(value).__name__}")
    return ops.predecessor(value)


def closed_bounds(interval: Interval) -> tuple[Any, Any]:
    """Return (low, high) as closed bounds, stepping open bounds inward where possible."""
    low, high = interval.low, interval.high
    if low is not None and not interval.low_closed:
        low = _step(low, successor)
    if high is not None and not interval.high_closed:
        high = _step(high, predecessor)
    return low, high


def _step(value: Any, fn: Callable[[Any], Any]) -> Any:
    try:
        return fn(value)
    except (PointOverflow, TypeError):
        return value
