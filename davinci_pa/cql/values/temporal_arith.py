"""Calendar arithmetic on CQL temporal values: add/subtract, successor, boundaries, extremes.

Implements CQL Reference §"Date and Time Operators" (Add, Subtract, Predecessor, Successor,
LowBoundary, HighBoundary, Precision, MinValue/MaxValue) and Author's Guide §"Date/Time
Arithmetic".

Public API (``value`` is a :class:`Date`, :class:`DateTime` or :class:`Time`; callers handle
nulls before calling; every function raises ``InvalidTemporalValue`` on overflow):

- ``add(value, amount, unit)`` / ``subtract(value, amount, unit)``: ``amount`` is an ``int`` or
  ``Decimal`` of calendar ``unit`` (a :class:`Precision`, ``WEEK`` included; the UCUM time codes
  map to the same units through ``parse_precision``). Years and months keep the day and clamp
  it to the month's end (``2012-02-29 + 1 year = 2013-02-28``). A unit finer than the value's
  precision is first converted to the value's precision and truncated (``Date(2014) + 25
  months = @2016``, ``DateTime(2005, 5, 10) + 25 hours = @2005-05-11T``), with 1 year = 12
  months = 365 days and 1 month = 30 days. Time arithmetic wraps around midnight; adding days
  or coarser units to a Time is an error.
- ``successor(value)`` / ``predecessor(value)``: one step at the value's own precision.
- ``min_value(kind)`` / ``max_value(kind)`` for ``Date``, ``DateTime`` (offset 0) and ``Time``.
- ``precision_digits(value)``: CQL ``Precision()`` (``@2014`` -> 4, a ms DateTime -> 17,
  ``@T10:30`` -> 4). ``low_boundary(value, digits)`` / ``high_boundary(value, digits)`` fill the
  unknown components up to ``digits`` (``None`` = finest) with their least/greatest values.
- ``normalize_to(value, offset)``: the same instant expressed at another offset (minutes),
  kept at the value's own precision; values of day precision or coarser are relabelled only.
- Helpers shared with the other temporal modules: ``fill(value, high)`` (all components, the
  unknown ones at their least/greatest), ``to_instant(full, offset)`` and ``UNIT_MS``.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from typing import TypeVar, cast

from davinci_pa.cql.values.temporal import (
    MAX_YEAR,
    MIN_YEAR,
    Date,
    DateTime,
    InvalidTemporalValue,
    Precision,
    Time,
    days_in_month,
)

__all__ = [
    "UNIT_MS",
    "add",
    "fill",
    "from_instant",
    "high_boundary",
    "low_boundary",
    "max_value",
    "min_value",
    "normalize_to",
    "precision_digits",
    "predecessor",
    "subtract",
    "successor",
    "to_instant",
]

T = TypeVar("T", Date, DateTime, Time)

DAY_MS = 86_400_000
UNIT_MS: dict[Precision, int] = {
    Precision.YEAR: 365 * DAY_MS,
    Precision.MONTH: 30 * DAY_MS,
    Precision.WEEK: 7 * DAY_MS,
    Precision.DAY: DAY_MS,
    Precision.HOUR: 3_600_000,
    Precision.MINUTE: 60_000,
    Precision.SECOND: 1_000,
    Precision.MILLISECOND: 1,
}
_LOW = (MIN_YEAR, 1, 1, 0, 0, 0, 0)
_HIGH_TAIL = (23, 59, 59, 999)


def fill(value: Date | DateTime | Time, high: bool = False) -> tuple[int, ...]:
    """All components (7 for Date/DateTime, 4 for Time), unknown ones at least/greatest.

    A Date's time of day is always midnight, also for its greatest value.
    """
    parts = value.parts
    if isinstance(value, Time):
        tail = _HIGH_TAIL if high else _LOW[3:]
        return parts + tail[len(parts) :]
    full = list(parts + _LOW[len(parts) :])
    if high:
        if len(parts) < 2:
            full[1] = 12
        if len(parts) < 3:
            full[2] = days_in_month(full[0], full[1])
        if not isinstance(value, Date) and len(parts) < 7:
            start = max(3, len(parts))
            full[start:] = _HIGH_TAIL[start - 3 :]
    return tuple(full)


def to_instant(full: tuple[int, ...], offset: int | None = None) -> int:
    """Milliseconds since 0001-01-01T00:00 UTC of a filled DateTime (offset in minutes)."""
    year, month, day, hour, minute, second, milli = full
    local = _dt.date(year, month, day).toordinal() * DAY_MS + (
        ((hour * 60 + minute) * 60 + second) * 1000 + milli
    )
    return local - (offset or 0) * 60_000


def from_instant(instant: int, offset: int | None = None) -> tuple[int, ...]:
    """Inverse of :func:`to_instant`; raises when the year leaves 1..9999."""
    local = instant + (offset or 0) * 60_000
    ordinal, millis = divmod(local, DAY_MS)
    if not 1 <= ordinal <= _MAX_ORDINAL:
        raise InvalidTemporalValue("date/time arithmetic result is outside years 1..9999")
    date = _dt.date.fromordinal(ordinal)
    seconds, milli = divmod(millis, 1000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return (date.year, date.month, date.day, hour, minute, second, milli)


_MAX_ORDINAL = _dt.date(MAX_YEAR, 12, 31).toordinal()


def _rebuild(value: T, full: tuple[int, ...]) -> T:
    """A value of the same kind and precision as ``value`` from filled components."""
    parts = full[: len(value.parts)]
    if isinstance(value, DateTime):
        return DateTime(parts, value.offset)
    return type(value)(parts)


def _convert(amount: Decimal, unit: Precision, target: Precision) -> int:
    """Whole ``target`` units in ``amount`` of ``unit`` (truncated toward zero)."""
    if unit == target:
        return int(amount)
    if unit == Precision.MONTH and target == Precision.YEAR:
        return int(amount / 12)
    return int(amount * UNIT_MS[unit] / UNIT_MS[target])


def _add_months(full: tuple[int, ...], months: int) -> tuple[int, ...]:
    total = full[0] * 12 + (full[1] - 1) + months
    year, month0 = divmod(total, 12)
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidTemporalValue("date/time arithmetic result is outside years 1..9999")
    day = min(full[2], days_in_month(year, month0 + 1))
    return (year, month0 + 1, day, *full[3:])


def add(value: T, amount: int | Decimal, unit: Precision) -> T:
    """``value + amount unit`` with CQL calendar semantics (see module docstring)."""
    amount = Decimal(amount)
    if isinstance(value, Time):
        return _add_time(value, amount, unit)
    precision = value.precision
    calendar_unit = unit in (Precision.YEAR, Precision.MONTH)
    target = min(unit, precision) if calendar_unit else precision
    steps = _convert(amount, unit, target)
    full = fill(value)
    if target == Precision.YEAR:
        result = _add_months(full, steps * 12)
    elif target == Precision.MONTH:
        result = _add_months(full, steps)
    else:
        result = from_instant(to_instant(full) + steps * UNIT_MS[target])
    return _rebuild(value, result)


def _add_time(value: Time, amount: Decimal, unit: Precision) -> Time:
    if unit < Precision.HOUR or unit == Precision.WEEK:
        raise InvalidTemporalValue(f"cannot add {unit.name.lower()}s to a Time")
    target = value.precision
    steps = _convert(amount, unit, target)
    millis = _time_ms(fill(value)) + steps * UNIT_MS[target]
    return _rebuild(value, _time_parts(millis % DAY_MS))


def _time_ms(full: tuple[int, ...]) -> int:
    hour, minute, second, milli = full
    return ((hour * 60 + minute) * 60 + second) * 1000 + milli


def _time_parts(millis: int) -> tuple[int, ...]:
    seconds, milli = divmod(millis, 1000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return (hour, minute, second, milli)


def subtract(value: T, amount: int | Decimal, unit: Precision) -> T:
    """``value - amount unit``; the same rules as :func:`add`."""
    return add(value, -Decimal(amount), unit)


def successor(value: T) -> T:
    """The next value at the value's own precision; raises past the maximum."""
    return _step(value, 1)


def predecessor(value: T) -> T:
    """The previous value at the value's own precision; raises before the minimum."""
    return _step(value, -1)


def _step(value: T, direction: int) -> T:
    if isinstance(value, Time):
        millis = _time_ms(fill(value)) + direction * UNIT_MS[value.precision]
        if not 0 <= millis < DAY_MS:
            raise InvalidTemporalValue("Time successor/predecessor leaves 00:00..23:59:59.999")
        return _rebuild(value, _time_parts(millis))
    return add(value, direction, value.precision)


_MINIMUMS: dict[type, Date | DateTime | Time] = {
    Date: Date(_LOW[:3]),
    DateTime: DateTime(_LOW, 0),
    Time: Time(_LOW[3:]),
}
_MAXIMUMS: dict[type, Date | DateTime | Time] = {
    Date: Date((MAX_YEAR, 12, 31)),
    DateTime: DateTime((MAX_YEAR, 12, 31, *_HIGH_TAIL), 0),
    Time: Time(_HIGH_TAIL),
}


def min_value(kind: type[T]) -> T:
    """CQL ``minimum Date|DateTime|Time`` (the DateTime one at offset 0)."""
    return cast(T, _MINIMUMS[kind])


def max_value(kind: type[T]) -> T:
    """CQL ``maximum Date|DateTime|Time`` (the DateTime one at offset 0)."""
    return cast(T, _MAXIMUMS[kind])


_DIGITS = (4, 6, 8, 10, 12, 14, 17)
_TIME_DIGITS = (2, 4, 6, 9)


def precision_digits(value: Date | DateTime | Time) -> int:
    """CQL ``Precision()`` of a temporal value: the number of digits it specifies."""
    if isinstance(value, Time):
        return _TIME_DIGITS[len(value.parts) - 1]
    return _DIGITS[len(value.parts) - 1]


def _components_for(value: Date | DateTime | Time, digits: int | None) -> int:
    table = _TIME_DIGITS if isinstance(value, Time) else _DIGITS
    limit = 3 if isinstance(value, Date) else len(table)
    if digits is None:
        return limit
    for count, needed in enumerate(table[:limit], start=1):
        if needed == digits:
            return count
    raise InvalidTemporalValue(f"precision {digits} is not valid for {type(value).__name__}")


def low_boundary(value: T, digits: int | None) -> T:
    """CQL ``LowBoundary``: the least value at ``digits`` precision within ``value``."""
    count = _components_for(value, digits)
    return _rebuild_to(value, fill(value)[:count])


def high_boundary(value: T, digits: int | None) -> T:
    """CQL ``HighBoundary``: the greatest value at ``digits`` precision within ``value``."""
    count = _components_for(value, digits)
    return _rebuild_to(value, fill(value, high=True)[:count])


def _rebuild_to(value: T, parts: tuple[int, ...]) -> T:
    if isinstance(value, DateTime):
        return DateTime(parts, value.offset)
    return type(value)(parts)


def normalize_to(value: DateTime, offset: int | None) -> DateTime:
    """The same instant at ``offset`` (minutes), truncated back to the value's precision."""
    if offset is None or value.offset is None or value.offset == offset:
        return value
    if len(value.parts) <= 3:
        return DateTime(value.parts, offset)
    shifted = from_instant(to_instant(fill(value), value.offset), offset)
    return DateTime(shifted[: len(value.parts)], offset)
