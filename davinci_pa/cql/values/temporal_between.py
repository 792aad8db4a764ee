"""``duration between``, ``difference between`` and age calculation, with uncertainty.

Implements CQL Reference §"DurationBetween", §"DifferenceBetween", §"CalculateAgeInYears..."
and Language Semantics §"Uncertainty" / Appendix H "Time Interval Calculations".

- ``duration_between(a, b, unit)`` counts whole calendar periods from ``a`` to ``b``
  (negative when ``a`` is after ``b``): years/months are calendar (a month from Jan 31 ends on
  Feb 28/29), weeks..milliseconds are elapsed time (a day is 24 hours; offsets are honoured).
- ``difference_between(a, b, unit)`` counts period boundaries crossed: both values are first
  truncated to ``unit`` (weeks start on Sunday), ignoring offsets for day and coarser units and
  normalizing them for hours and finer ones.
- A value below millisecond precision stands for every instant it covers, so each result is
  computed from the earliest and latest instants of both operands. When the bounds agree the
  result is an ``int``; otherwise an :class:`Uncertainty` ``(low, high)`` (e.g. ``years between
  DateTime(2005) and DateTime(2010)`` is ``Uncertainty(4, 5)``). As CQL specifies, seconds
  without milliseconds count as ``.000`` except for millisecond durations.
- ``calculate_age(birth, as_of, unit)`` is ``duration_between(birth, as_of, unit)``; the engine
  passes ``Today()`` (Date) or ``Now()`` (DateTime) as ``as_of`` for ``CalculateAgeInYears`` and
  friends.

:class:`Uncertainty` supports the arithmetic CQL allows on such results (``+``, ``-``, ``*``
with ints or uncertainties) and three-valued comparisons through :func:`uncertain_compare`,
``uncertain_equal``, ``uncertain_less`` ... (each accepts ints or uncertainties and returns
``bool | None``). Operands are non-null; Date against DateTime converts the Date.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from davinci_pa.cql.values.temporal import (
    Date,
    DateTime,
    InvalidTemporalValue,
    Precision,
    Time,
    days_in_month,
)
from davinci_pa.cql.values.temporal_arith import UNIT_MS, fill, from_instant, to_instant

__all__ = [
    "Uncertainty",
    "calculate_age",
    "difference_between",
    "duration_between",
    "uncertain_compare",
    "uncertain_equal",
    "uncertain_greater",
    "uncertain_greater_or_equal",
    "uncertain_less",
    "uncertain_less_or_equal",
]

TemporalValue = Date | DateTime | Time


@dataclass(frozen=True, slots=True)
class Uncertainty:
    """An integer known only to lie in ``[low, high]`` (CQL uncertainty interval)."""

    low: int
    high: int

    def __add__(self, other: Uncertainty | int) -> Uncertainty:
        o = _as_range(other)
        return Uncertainty(self.low + o.low, self.high + o.high)

    __radd__ = __add__

    def __sub__(self, other: Uncertainty | int) -> Uncertainty:
        o = _as_range(other)
        return Uncertainty(self.low - o.high, self.high - o.low)

    def __rsub__(self, other: int) -> Uncertainty:
        return _as_range(other) - self

    def __mul__(self, other: Uncertainty | int) -> Uncertainty:
        o = _as_range(other)
        products = (self.low * o.low, self.low * o.high, self.high * o.low, self.high * o.high)
        return Uncertainty(min(products), max(products))

    __rmul__ = __mul__


def _as_range(value: Uncertainty | int) -> Uncertainty:
    return value if isinstance(value, Uncertainty) else Uncertainty(value, value)


def _collapse(low: int, high: int) -> int | Uncertainty:
    return low if low == high else Uncertainty(low, high)


def uncertain_compare(a: Uncertainty | int, b: Uncertainty | int) -> int | None:
    """-1/0/1 when every possible pair agrees, else ``None``."""
    x, y = _as_range(a), _as_range(b)
    if x.high < y.low:
        return -1
    if x.low > y.high:
        return 1
    if x.low == x.high == y.low == y.high:
        return 0
    return None


def uncertain_equal(a: Uncertainty | int, b: Uncertainty | int) -> bool | None:
    """``=``: true only for equal points, false for disjoint ranges, else null."""
    result = uncertain_compare(a, b)
    return None if result is None else result == 0


def uncertain_less(a: Uncertainty | int, b: Uncertainty | int) -> bool | None:
    """``<`` over ranges."""
    x, y = _as_range(a), _as_range(b)
    return True if x.high < y.low else False if x.low >= y.high else None


def uncertain_less_or_equal(a: Uncertainty | int, b: Uncertainty | int) -> bool | None:
    """``<=`` over ranges."""
    x, y = _as_range(a), _as_range(b)
    return True if x.high <= y.low else False if x.low > y.high else None


def uncertain_greater(a: Uncertainty | int, b: Uncertainty | int) -> bool | None:
    """``>`` over ranges."""
    return uncertain_less(b, a)


def uncertain_greater_or_equal(a: Uncertainty | int, b: Uncertainty | int) -> bool | None:
    """``>=`` over ranges."""
    return uncertain_less_or_equal(b, a)


@dataclass(frozen=True, slots=True)
class _Point:
    """A fully specified instant: 7 components (4 for a Time) and an offset in minutes."""

    full: tuple[int, ...]
    offset: int | None

    def instant(self) -> int:
        if len(self.full) == 4:
            hour, minute, second, milli = self.full
            return ((hour * 60 + minute) * 60 + second) * 1000 + milli
        return to_instant(self.full, self.offset)


def _bounds(value: TemporalValue, unit: Precision) -> tuple[_Point, _Point]:
    low, high = fill(value), fill(value, high=True)
    has_seconds = len(high) - len(value.parts) == 1
    if has_seconds and unit != Precision.MILLISECOND:
        high = (*high[:-1], 0)
    offset = value.offset if isinstance(value, DateTime) else None
    return _Point(low, offset), _Point(high, offset)


def _kinds(a: TemporalValue, b: TemporalValue, unit: Precision) -> tuple[TemporalValue, ...]:
    if isinstance(a, Date) and isinstance(b, DateTime):
        a = DateTime(a.parts, b.offset)
    elif isinstance(a, DateTime) and isinstance(b, Date):
        b = DateTime(b.parts, a.offset)
    elif type(a) is not type(b):
        raise InvalidTemporalValue(f"cannot measure {type(a).__name__} to {type(b).__name__}")
    if isinstance(a, Time) and not Precision.HOUR <= unit <= Precision.MILLISECOND:
        raise InvalidTemporalValue(f"{unit.name.lower()}s between Time values is undefined")
    if isinstance(a, Date) and Precision.DAY < unit < Precision.WEEK:
        raise InvalidTemporalValue(f"{unit.name.lower()}s between Date values is undefined")
    return a, b


def _months(start: _Point, end: _Point) -> int:
    """Whole calendar months from ``start`` to ``end`` (``end`` not before ``start``)."""
    a = start.full
    b = end.full
    if start.offset is not None and end.offset is not None and start.offset != end.offset:
        b = from_instant(end.instant(), start.offset)
    months = (b[0] - a[0]) * 12 + (b[1] - a[1])
    if months > 0 and _shift_months(a, months) > b:
        months -= 1
    return months


def _shift_months(full: tuple[int, ...], months: int) -> tuple[int, ...]:
    year, month0 = divmod(full[0] * 12 + full[1] - 1 + months, 12)
    return (year, month0 + 1, min(full[2], days_in_month(year, month0 + 1)), *full[3:])


def _whole(start: _Point, end: _Point, unit: Precision) -> int:
    """Whole ``unit`` periods from ``start`` to ``end`` (negative when reversed)."""
    if unit in (Precision.YEAR, Precision.MONTH):
        if end.instant() < start.instant():
            return -_whole(end, start, unit)
        months = _months(start, end)
        return months // 12 if unit == Precision.YEAR else months
    elapsed = end.instant() - start.instant()
    whole = abs(elapsed) // UNIT_MS[unit]
    return whole if elapsed >= 0 else -whole


def duration_between(a: TemporalValue, b: TemporalValue, unit: Precision) -> int | Uncertainty:
    """CQL ``<unit>s between a and b``: whole periods, possibly uncertain."""
    a, b = _kinds(a, b, unit)
    a_low, a_high = _bounds(a, unit)
    b_low, b_high = _bounds(b, unit)
    return _collapse(_whole(a_high, b_low, unit), _whole(a_low, b_high, unit))


def _truncate(point: _Point, unit: Precision) -> _Point:
    """Zero the components below ``unit``; day and coarser units also drop the offset."""
    full = point.full
    if len(full) == 4:
        keep = unit - Precision.HOUR + 1
        return _Point(full[:keep] + (0, 0, 0, 0)[keep:], None)
    if unit == Precision.WEEK:
        day = _dt.date(*full[:3])
        sunday = day - _dt.timedelta(days=(day.weekday() + 1) % 7)
        return _Point((sunday.year, sunday.month, sunday.day, 0, 0, 0, 0), None)
    keep = unit + 1
    offset = point.offset if unit > Precision.DAY else None
    return _Point(full[:keep] + (1, 1, 1, 0, 0, 0, 0)[keep:], offset)


def difference_between(a: TemporalValue, b: TemporalValue, unit: Precision) -> int | Uncertainty:
    """CQL ``difference in <unit>s between a and b``: boundaries crossed, possibly uncertain."""
    a, b = _kinds(a, b, unit)
    a_low, a_high = (_truncate(p, unit) for p in _bounds(a, Precision.MILLISECOND))
    b_low, b_high = (_truncate(p, unit) for p in _bounds(b, Precision.MILLISECOND))
    return _collapse(_whole(a_high, b_low, unit), _whole(a_low, b_high, unit))


def calculate_age(
    birth: Date | DateTime, as_of: Date | DateTime, unit: Precision
) -> int | Uncertainty:
    """CQL ``CalculateAgeIn<unit>sAt(birth, as_of)``: whole periods from birth to ``as_of``."""
    return duration_between(birth, as_of, unit)
