"""Interval and timing operators (CQL §9.6, and the timing operators of §9.7).

Start/End, Before/After, Meets, Overlaps, Starts/Ends, the same-as family, Width/Size, PointFrom
and Collapse.

Timing operators accept points or intervals on either side (a point is a unit interval) and an
optional temporal ``precision``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from davinci_pa.cql.compiler import NodeCompiler, call, node, operator
from davinci_pa.cql.ops.temporal import TEMPORAL, point_compare, precision_of
from davinci_pa.cql.runtime import CqlRuntimeError, Fn
from davinci_pa.cql.values import interval_math as im
from davinci_pa.cql.values import temporal_arith as tarith
from davinci_pa.cql.values.decimals import DECIMAL_MAX, DECIMAL_MIN, INT_MAX, INT_MIN
from davinci_pa.cql.values.interval import Interval
from davinci_pa.cql.values.temporal import Date, DateTime, Precision, Time

Timing = Callable[[Interval, Interval, im.Cmp], im.Tri]


def _as_interval(value: Any) -> Interval:
    return value if isinstance(value, Interval) else Interval(value, value, True, True)


def _comparator(precision: Precision | None) -> im.Cmp:
    if precision is None:
        return lambda a, b: point_compare(a, b, None)
    return lambda a, b: point_compare(a, b, precision)


def _timing(*names: str) -> Callable[[Timing], Timing]:
    def register(fn: Timing) -> Timing:
        def build(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
            base = _comparator(precision_of(elm))
            return call(lambda a, b: fn(_as_interval(a), _as_interval(b), base), comp.operands(elm))

        for name in names:
            node(name)(build)
        return fn

    return register


@_timing("Before")
def before(a: Interval, b: Interval, base: im.Cmp) -> im.Tri:
    """``a before b``."""
    return im.before(a, b, base)


@_timing("After")
def after(a: Interval, b: Interval, base: im.Cmp) -> im.Tri:
    """``a after b``."""
    return im.before(b, a, base)


@_timing("SameAs")
def same_as(a: Interval, b: Interval, base: im.Cmp) -> im.Tri:
    """``a same as b`` (same start and end at the precision)."""
    return im.and3(im.eq(im.low(a), im.low(b), base), im.eq(im.high(a), im.high(b), base))


@_timing("SameOrBefore")
def same_or_before(a: Interval, b: Interval, base: im.Cmp) -> im.Tri:
    """``a same or before b``: a ends no later than b starts."""
    return im.le(im.high(a), im.low(b), base)


@_timing("SameOrAfter")
def same_or_after(a: Interval, b: Interval, base: im.Cmp) -> im.Tri:
    """``a same or after b``: a starts no earlier than b ends."""
    return im.le(im.high(b), im.low(a), base)


@_timing("Meets")
def meets(a: Interval, b: Interval, base: im.Cmp) -> im.Tri:
    """``a meets b`` (either side)."""
    return im.or3(im.meets_before(a, b, base), im.meets_before(b, a, base))


@_timing("MeetsBefore")
def meets_before(a: Interval, b: Interval, base: im.Cmp) -> im.Tri:
    """``a meets before b``."""
    return im.meets_before(a, b, base)


@_timing("MeetsAfter")
def meets_after(a: Interval, b: Interval, base: im.Cmp) -> im.Tri:
    """``a meets after b``."""
    return im.meets_before(b, a, base)


@_timing("Overlaps")
def overlaps(a: Interval, b: Interval, base: im.Cmp) -> im.Tri:
    """``a overlaps b``."""
    return im.overlaps(a, b, base)


@_timing("OverlapsBefore")
def overlaps_before(a: Interval, b: Interval, base: im.Cmp) -> im.Tri:
    """``a overlaps before b``: a overlaps b and starts before it."""
    return im.and3(im.overlaps(a, b, base), im.lt(im.low(a), im.low(b), base))


@_timing("OverlapsAfter")
def overlaps_after(a: Interval, b: Interval, base: im.Cmp) -> im.Tri:
    """``a overlaps after b``: a overlaps b and ends after it."""
    return im.and3(im.overlaps(a, b, base), im.lt(im.high(b), im.high(a), base))


@_timing("Starts")
def starts(a: Interval, b: Interval, base: im.Cmp) -> im.Tri:
    """``a starts b``."""
    return im.starts(a, b, base)


@_timing("Ends")
def ends(a: Interval, b: Interval, base: im.Cmp) -> im.Tri:
    """``a ends b``."""
    return im.ends(a, b, base)


def _extreme(sample: Any, high: bool) -> Any:
    if isinstance(sample, bool):
        return None
    if isinstance(sample, int):
        return INT_MAX if high else INT_MIN
    if isinstance(sample, Date):
        return tarith.max_value(Date) if high else tarith.min_value(Date)
    if isinstance(sample, DateTime):
        return tarith.max_value(DateTime) if high else tarith.min_value(DateTime)
    if isinstance(sample, Time):
        return tarith.max_value(Time) if high else tarith.min_value(Time)
    if type(sample).__name__ == "Decimal":
        return DECIMAL_MAX if high else DECIMAL_MIN
    return None


def start_of(iv: Interval) -> Any:
    """``start of iv``: the closed low bound (the type's minimum when unbounded)."""
    lo = im.low(iv)
    if lo is im.NEG:
        return _extreme(iv.high, high=False)
    return im.known(lo)


def end_of(iv: Interval) -> Any:
    """``end of iv``: the closed high bound (the type's maximum when unbounded)."""
    hi = im.high(iv)
    if hi is im.POS:
        return _extreme(iv.low, high=True)
    return im.known(hi)


operator("Start")(start_of)
operator("End")(end_of)


@operator("PointFrom")
def point_from(iv: Interval) -> Any:
    """The single point of a unit interval (error otherwise)."""
    lo, hi = start_of(iv), end_of(iv)
    if lo is None or hi is None:
        return None
    if point_compare(lo, hi, None) != 0:
        raise CqlRuntimeError("point from requires a unit interval")
    return lo


@operator("Width")
def width(iv: Interval) -> Any:
    """``width of iv``: end minus start."""
    lo, hi = start_of(iv), end_of(iv)
    if lo is None or hi is None:
        return None
    if isinstance(lo, TEMPORAL):
        raise CqlRuntimeError("width is not defined for date/time intervals")
    return _subtract(hi, lo)


def _subtract(a: Any, b: Any) -> Any:
    from davinci_pa.cql.ops.arithmetic import EXTENSIONS

    ext = EXTENSIONS.get(("Subtract", type(a), type(b)))
    return ext(a, b) if ext is not None else a - b


@operator("Size")
def size(iv: Interval) -> Any:
    """``size of iv``: the number of points (width plus one step)."""
    lo, hi = start_of(iv), end_of(iv)
    if lo is None or hi is None:
        return None
    from davinci_pa.cql.values.bounds import successor

    return _subtract(successor(hi), lo)


@node("Collapse")
def collapse(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``collapse`` a list of intervals: merge those that overlap or meet, sorted by start."""
    args = comp.operands(elm)
    source = args[0]

    def run(c: Any) -> list[Interval] | None:
        items = source(c)
        if items is None:
            return None
        return collapse_intervals([i for i in items if i is not None])

    return run


def collapse_intervals(items: list[Interval]) -> list[Interval]:
    """Merge overlapping or meeting intervals."""
    live = [i for i in items if not (i.low is None and i.high is None and not i.low_closed)]
    ordered = sorted(live, key=_SortKey)
    out: list[Interval] = []
    for item in ordered:
        if out:
            merged = im.union(out[-1], item)
            if merged is not None:
                out[-1] = merged
                continue
        out.append(item)
    return out


class _SortKey:
    __slots__ = ("value",)

    def __init__(self, iv: Interval) -> None:
        self.value = im.low(iv)

    def __lt__(self, other: _SortKey) -> bool:
        return im.lt(self.value, other.value) is True
