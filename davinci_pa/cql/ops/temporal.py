"""Date/time selectors, clock functions, component extraction and duration/difference between.

CQL §9.7 (Date and Time Operators) wired to the value types of
:mod:`davinci_pa.cql.values.temporal` and friends; also registers those types with equality,
ordering and successor/predecessor.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from davinci_pa.cql.compiler import NodeCompiler, call, node, operator
from davinci_pa.cql.runtime import Ctx, Fn
from davinci_pa.cql.types import register_system_type
from davinci_pa.cql.values import temporal_arith as arith
from davinci_pa.cql.values import temporal_compare as tcmp
from davinci_pa.cql.values.bounds import PointOps, PointOverflow, register_point_type
from davinci_pa.cql.values.equality import TypeOps, register_type
from davinci_pa.cql.values.temporal import (
    Date,
    DateTime,
    InvalidTemporalValue,
    Precision,
    Time,
    parse_precision,
)
from davinci_pa.cql.values.temporal_between import (
    Uncertainty,
    difference_between,
    duration_between,
    uncertain_compare,
    uncertain_equal,
)

TEMPORAL = (Date, DateTime, Time)


def _temporal_equal(a: Any, b: Any) -> bool | None:
    if not isinstance(b, TEMPORAL) or isinstance(a, Time) != isinstance(b, Time):
        return False
    return tcmp.equal(a, b)


def _temporal_equivalent(a: Any, b: Any) -> bool:
    if not isinstance(b, TEMPORAL) or isinstance(a, Time) != isinstance(b, Time):
        return False
    return tcmp.equivalent(a, b)


def _temporal_compare(a: Any, b: Any) -> int | None:
    if not isinstance(b, TEMPORAL):
        return None
    return tcmp.compare(a, b)


def _stepper(fn: Any) -> Any:
    def step(value: Any) -> Any:
        try:
            return fn(value)
        except InvalidTemporalValue as exc:
            raise PointOverflow(str(exc)) from exc

    return step


for _cls in TEMPORAL:
    register_type(_cls, TypeOps(_temporal_equal, _temporal_equivalent, _temporal_compare))
    register_point_type(_cls, PointOps(_stepper(arith.successor), _stepper(arith.predecessor)))
    register_system_type(_cls.__name__, _cls)


def _uncertain_equal(a: Any, b: Any) -> bool | None:
    return uncertain_equal(a, b) if isinstance(b, Uncertainty | int) else False


register_type(
    Uncertainty,
    TypeOps(_uncertain_equal, lambda a, b: a == b, uncertain_compare),
)


def offset_minutes(c: Ctx) -> int:
    """The evaluation request's timezone offset in minutes (from the clock)."""
    delta = c.state.now.utcoffset()
    return int(delta.total_seconds() // 60) if delta is not None else 0


def _components(comp: NodeCompiler, elm: dict[str, Any], names: tuple[str, ...]) -> list[Fn]:
    return [comp.compile(elm.get(n)) for n in names]


_DT_PARTS = ("year", "month", "day", "hour", "minute", "second", "millisecond")


@node("DateTime")
def datetime_selector(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``DateTime(y, m, d, h, mi, s, ms, offset)``; no offset means the request's offset."""
    parts = _components(comp, elm, _DT_PARTS)
    tz = comp.compile(elm["timezoneOffset"]) if "timezoneOffset" in elm else None

    def select(c: Ctx) -> DateTime | None:
        values = [p(c) for p in parts]
        if values[0] is None:
            return None
        if tz is None:
            offset: int | None = offset_minutes(c)
        else:
            hours = tz(c)
            offset = None if hours is None else int(Decimal(hours) * 60)
        return DateTime.of(*values, offset=offset)

    return select


@node("Date")
def date_selector(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``Date(y, m, d)``."""
    parts = _components(comp, elm, _DT_PARTS[:3])

    def select(c: Ctx) -> Date | None:
        values = [p(c) for p in parts]
        return None if values[0] is None else Date.of(*values)

    return select


@node("Time")
def time_selector(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``Time(h, mi, s, ms)``."""
    parts = _components(comp, elm, _DT_PARTS[3:])

    def select(c: Ctx) -> Time | None:
        values = [p(c) for p in parts]
        return None if values[0] is None else Time.of(*values)

    return select


def now_value(c: Ctx) -> DateTime:
    """The evaluation clock as a millisecond-precision DateTime (stable within a request)."""
    cached = c.state.today_cache.get("now")
    if cached is None:
        n = c.state.now
        cached = DateTime.of(
            n.year,
            n.month,
            n.day,
            n.hour,
            n.minute,
            n.second,
            n.microsecond // 1000,
            offset=offset_minutes(c),
        )
        c.state.today_cache["now"] = cached
    return cached


@node("Now")
def now(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``Now()``: the request's DateTime."""
    return now_value


@node("Today")
def today(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``Today()``: the request's Date."""
    return lambda c: Date(now_value(c).parts[:3])


@node("TimeOfDay")
def time_of_day(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``TimeOfDay()``: the request's Time."""
    return lambda c: Time(now_value(c).parts[3:])


@operator("DateFrom")
def date_from(value: Any) -> Date:
    """The date part of a DateTime (or the Date itself)."""
    return Date(value.parts[:3])


@operator("TimeFrom")
def time_from(value: DateTime) -> Time | None:
    """The time part of a DateTime (null below hour precision)."""
    return Time(value.parts[3:]) if len(value.parts) > 3 else None


@operator("TimezoneOffsetFrom")
def timezone_offset_from(value: DateTime) -> Decimal | None:
    """The offset of a DateTime in hours."""
    return None if value.offset is None else Decimal(value.offset) / 60


@node("DateTimeComponentFrom")
def component_from(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``year from x`` ... ``millisecond from x`` (null when beyond the precision)."""
    precision = parse_precision(elm["precision"])
    return call(lambda v: v.component(precision), comp.operands(elm))


def _precision(elm: dict[str, Any]) -> Precision | None:
    name = elm.get("precision")
    return parse_precision(name) if name else None


@node("DurationBetween")
def duration(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``<unit>s between a and b``: whole periods, possibly uncertain."""
    unit = parse_precision(elm["precision"])
    return call(lambda a, b: duration_between(a, b, unit), comp.operands(elm))


@node("DifferenceBetween")
def difference(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``difference in <unit>s between a and b``: boundaries crossed."""
    unit = parse_precision(elm["precision"])
    return call(lambda a, b: difference_between(a, b, unit), comp.operands(elm))


def point_compare(a: Any, b: Any, precision: Precision | None) -> int | None:
    """Compare two points, honouring a temporal precision when given."""
    if precision is not None and isinstance(a, TEMPORAL):
        return tcmp.compare_at(a, b, precision)
    from davinci_pa.cql.values.equality import compare

    return compare(a, b)


def precision_of(elm: dict[str, Any]) -> Precision | None:
    """The optional ``precision`` attribute of a timing node."""
    return _precision(elm)
