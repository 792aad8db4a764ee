"""Interval algebra over closed views of CQL intervals (CQL §9.6 Interval Operators).

A closed null bound means "unbounded" (the point type's minimum or maximum); an open null
bound means "unknown", but not unconstrained: the unknown start of ``Interval(null, 5]`` lies
somewhere up to 5, so ``Interval(null, 5] overlaps Interval[3, 8]`` is true (CQL §9.6: a
starting or ending point of one interval is in the other). Such a bound is an
:class:`Unknown` range of possible points. Comparisons are three-valued (None when unknown)
and may carry a comparison function honouring a temporal precision.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from davinci_pa.cql.values.bounds import PointOverflow, predecessor, successor
from davinci_pa.cql.values.equality import compare
from davinci_pa.cql.values.interval import Interval

Cmp = Callable[[Any, Any], int | None]
Tri = bool | None


class _Infinity:
    """Sentinel for an unbounded end."""

    __slots__ = ("sign",)

    def __init__(self, sign: int) -> None:
        self.sign = sign

    def __repr__(self) -> str:
        return "+inf" if self.sign > 0 else "-inf"


NEG = _Infinity(-1)
POS = _Infinity(1)


class Unknown:
    """An unknown bound (open null): some point between ``least`` and ``most`` inclusive."""

    __slots__ = ("least", "most")

    def __init__(self, least: Any, most: Any) -> None:
        self.least = least
        self.most = most

    def __repr__(self) -> str:
        return f"Unknown({self.least!r}..{self.most!r})"


def known(bound: Any) -> Any:
    """The bound itself, or None when it is :class:`Unknown`."""
    return None if isinstance(bound, Unknown) else bound


def _closed_low(iv: Interval) -> Any:
    if iv.low is None:
        return NEG
    if iv.low_closed:
        return iv.low
    try:
        return successor(iv.low)
    except (PointOverflow, TypeError):
        return iv.low


def _closed_high(iv: Interval) -> Any:
    if iv.high is None:
        return POS
    if iv.high_closed:
        return iv.high
    try:
        return predecessor(iv.high)
    except (PointOverflow, TypeError):
        return iv.high


def low(iv: Interval) -> Any:
    """The closed low bound: a point, NEG (unbounded) or :class:`Unknown` (open null)."""
    if iv.low is None and not iv.low_closed:
        most = _closed_high(iv) if iv.high is not None or iv.high_closed else POS
        return Unknown(NEG, most)
    return _closed_low(iv)


def high(iv: Interval) -> Any:
    """The closed high bound: a point, POS (unbounded) or :class:`Unknown` (open null)."""
    if iv.high is None and not iv.high_closed:
        least = _closed_low(iv) if iv.low is not None or iv.low_closed else NEG
        return Unknown(least, POS)
    return _closed_high(iv)


def cmp(a: Any, b: Any, base: Cmp = compare) -> int | None:
    """Three-valued comparison aware of the infinity sentinels and unknown bounds."""
    if a is None or b is None:
        return None
    if isinstance(a, Unknown) or isinstance(b, Unknown):
        return _cmp_unknown(a, b, base)
    if isinstance(a, _Infinity) or isinstance(b, _Infinity):
        sa = a.sign if isinstance(a, _Infinity) else 0
        sb = b.sign if isinstance(b, _Infinity) else 0
        return (sa > sb) - (sa < sb)
    return base(a, b)


def _cmp_unknown(a: Any, b: Any, base: Cmp) -> int | None:
    a_least, a_most = (a.least, a.most) if isinstance(a, Unknown) else (a, a)
    b_least, b_most = (b.least, b.most) if isinstance(b, Unknown) else (b, b)
    if (below := cmp(a_most, b_least, base)) is not None and below < 0:
        return -1
    if (above := cmp(a_least, b_most, base)) is not None and above > 0:
        return 1
    return None


def lt(a: Any, b: Any, base: Cmp = compare) -> Tri:
    """``a < b``."""
    r = cmp(a, b, base)
    return None if r is None else r < 0


def le(a: Any, b: Any, base: Cmp = compare) -> Tri:
    """``a <= b``."""
    r = cmp(a, b, base)
    return None if r is None else r <= 0


def eq(a: Any, b: Any, base: Cmp = compare) -> Tri:
    """``a = b``."""
    r = cmp(a, b, base)
    return None if r is None else r == 0


def and3(*values: Tri) -> Tri:
    """Three-valued conjunction."""
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def or3(*values: Tri) -> Tri:
    """Three-valued disjunction."""
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def contains_point(iv: Interval, point: Any, base: Cmp = compare) -> Tri:
    """``iv contains point``."""
    return and3(le(low(iv), point, base), le(point, high(iv), base))


def includes(a: Interval, b: Interval, base: Cmp = compare) -> Tri:
    """``a includes b``."""
    return and3(le(low(a), low(b), base), le(high(b), high(a), base))


def proper_includes(a: Interval, b: Interval, base: Cmp = compare) -> Tri:
    """``a properly includes b``: includes and is strictly larger."""
    return and3(includes(a, b, base), or3(lt(low(a), low(b), base), lt(high(b), high(a), base)))


def before(a: Interval, b: Interval, base: Cmp = compare) -> Tri:
    """``a before b``: a ends before b starts."""
    return lt(high(a), low(b), base)


def overlaps(a: Interval, b: Interval, base: Cmp = compare) -> Tri:
    """``a overlaps b``."""
    return and3(le(low(a), high(b), base), le(low(b), high(a), base))


def meets_before(a: Interval, b: Interval, base: Cmp = compare) -> Tri:
    """``a meets before b``: b starts at the successor of a's end."""
    end = high(a)
    start = low(b)
    if isinstance(end, _Infinity) or isinstance(start, _Infinity):
        return False
    if isinstance(end, Unknown):
        nxt: Any = Unknown(_next(end.least), POS)
    else:
        nxt = _next(end)
        if nxt is None:
            return False
    return eq(nxt, start, base)


def _next(point: Any) -> Any:
    """The successor of a point (itself without one, None past the maximum)."""
    if isinstance(point, _Infinity):
        return point
    try:
        return successor(point)
    except PointOverflow:
        return None
    except TypeError:
        return point


def starts(a: Interval, b: Interval, base: Cmp = compare) -> Tri:
    """``a starts b``."""
    return and3(eq(low(a), low(b), base), le(high(a), high(b), base))


def ends(a: Interval, b: Interval, base: Cmp = compare) -> Tri:
    """``a ends b``."""
    return and3(le(low(b), low(a), base), eq(high(a), high(b), base))


def _value(bound: Any) -> Any:
    return None if isinstance(bound, _Infinity | Unknown) else bound


def make(lo: Any, hi: Any) -> Interval:
    """Build an interval from closed bounds (infinities become closed nulls, unknowns open)."""
    return Interval(_value(lo), _value(hi), known(lo) is not None, known(hi) is not None)


def union(a: Interval, b: Interval) -> Interval | None:
    """``a union b``: null unless they overlap or meet."""
    joined = or3(overlaps(a, b), meets_before(a, b), meets_before(b, a))
    if joined is not True:
        return None
    return make(_pick(low(a), low(b), smaller=True), _pick(high(a), high(b), smaller=False))


def intersect(a: Interval, b: Interval) -> Interval | None:
    """``a intersect b``: null unless they overlap."""
    if overlaps(a, b) is not True:
        return None
    return make(_pick(low(a), low(b), smaller=False), _pick(high(a), high(b), smaller=True))


def _pick(x: Any, y: Any, *, smaller: bool) -> Any:
    """The smaller (or larger) of two bounds; Unknown when that cannot be decided."""
    order = le(x, y)
    if order is None:
        return Unknown(NEG, POS)
    return x if order is smaller else y


def except_(a: Interval, b: Interval) -> Interval | None:
    """``a except b``: null when the result would be empty or split in two."""
    ov = overlaps(a, b)
    if ov is None:
        return None
    if ov is False:
        return a
    starts_inside = lt(low(a), low(b))
    ends_inside = lt(high(b), high(a))
    if starts_inside and ends_inside:
        return None
    if starts_inside:
        return make(low(a), predecessor(low(b)))
    if ends_inside:
        return make(successor(high(b)), high(a))
    return None
