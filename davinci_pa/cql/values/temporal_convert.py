"""Conversions, component extraction and clock functions for CQL temporal values.

Implements CQL Reference §"Type Operators" (ToDate, ToDateTime, ToTime, ToString), §"Date and
Time Operators" (DateTime/Date/Time selectors, component ``from``, ``date from``, ``time from``,
``timezoneoffset from``, Now, Today, TimeOfDay).

Public API (null inputs are the engine's business, except where stated):

- ``to_datetime(value, default_offset)``: from a string (``None`` when malformed, as CQL
  requires), a Date (same components; the evaluation offset when the date is complete) or a
  DateTime (returned as is). ``to_date(value)``: from a string (``None`` when malformed) or a
  DateTime (its date components). ``to_time(text)``: ``None`` when malformed.
- ``to_string(value)``: ISO 8601 at the value's precision (``2014-01-01``, ``10:30:00.000``).
- ``datetime_selector(year, ..., millisecond, offset_hours, default_offset)``: the ELM
  ``DateTime`` selector; ``offset_hours`` is CQL's Decimal hours (``-7.0``) and defaults to the
  evaluation offset. ``date_selector``/``time_selector`` likewise. All raise
  ``InvalidTemporalValue`` for out-of-range or gapped components; ``None`` for a null year.
- ``component_from(value, precision) -> int | None``; ``timezone_offset_from(dt) -> Decimal |
  None`` (hours); ``date_from(value) -> Date``; ``time_from(dt) -> Time | None``.
- ``evaluation_timestamp(moment)`` turns an aware :class:`datetime.datetime` (the evaluation
  request's clock) into a millisecond DateTime with its offset. ``now(ts)``, ``today(ts)`` and
  ``time_of_day(ts)`` derive CQL's clock values from that timestamp, so every call within one
  evaluation agrees.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal

from davinci_pa.cql.values.temporal import (
    Date,
    DateTime,
    InvalidTemporalValue,
    Precision,
    Time,
    parse_date,
    parse_datetime,
    parse_time,
)

__all__ = [
    "component_from",
    "date_from",
    "date_selector",
    "datetime_selector",
    "evaluation_timestamp",
    "now",
    "time_from",
    "time_of_day",
    "time_selector",
    "timezone_offset_from",
    "to_date",
    "to_datetime",
    "to_string",
    "to_time",
    "today",
]


def to_datetime(value: str | Date | DateTime, default_offset: int | None = None) -> DateTime | None:
    """CQL ``ToDateTime``; a malformed string gives ``None``."""
    if isinstance(value, DateTime):
        return value
    if isinstance(value, Date):
        offset = default_offset if len(value.parts) == 3 else None
        return DateTime(value.parts, offset)
    try:
        return parse_datetime(value, default_offset)
    except InvalidTemporalValue:
        return None


def to_date(value: str | Date | DateTime) -> Date | None:
    """CQL ``ToDate``; a DateTime keeps its date components, a malformed string gives ``None``."""
    if isinstance(value, Date):
        return value
    if isinstance(value, DateTime):
        return date_from(value)
    try:
        return parse_date(value[:10] if len(value) > 10 and value[10] == "T" else value)
    except InvalidTemporalValue:
        return None


def to_time(value: str | Time) -> Time | None:
    """CQL ``ToTime``; an offset in the text is ignored, a malformed string gives ``None``."""
    if isinstance(value, Time):
        return value
    try:
        return parse_time(value)
    except InvalidTemporalValue:
        return None


def to_string(value: Date | DateTime | Time) -> str:
    """CQL ``ToString`` of a temporal value: ISO 8601 at its own precision."""
    return value.to_iso()


def _offset_minutes(hours: Decimal | int | float | None) -> int | None:
    if hours is None:
        return None
    minutes = Decimal(str(hours)) * 60
    if minutes != minutes.to_integral_value():
        raise InvalidTemporalValue(f"timezone offset {hours} is not a whole number of minutes")
    return int(minutes)


def datetime_selector(
    year: int | None,
    month: int | None = None,
    day: int | None = None,
    hour: int | None = None,
    minute: int | None = None,
    second: int | None = None,
    millisecond: int | None = None,
    offset_hours: Decimal | int | float | None = None,
    default_offset: int | None = None,
) -> DateTime | None:
    """ELM ``DateTime`` selector; ``None`` when ``year`` is null."""
    if year is None:
        return None
    offset = _offset_minutes(offset_hours)
    return DateTime.of(
        year,
        month,
        day,
        hour,
        minute,
        second,
        millisecond,
        offset=default_offset if offset is None else offset,
    )


def date_selector(
    year: int | None, month: int | None = None, day: int | None = None
) -> Date | None:
    """ELM ``Date`` selector; ``None`` when ``year`` is null."""
    return None if year is None else Date.of(year, month, day)


def time_selector(
    hour: int | None,
    minute: int | None = None,
    second: int | None = None,
    millisecond: int | None = None,
) -> Time | None:
    """ELM ``Time`` selector; ``None`` when ``hour`` is null."""
    return None if hour is None else Time.of(hour, minute, second, millisecond)


def component_from(value: Date | DateTime | Time, precision: Precision) -> int | None:
    """CQL ``<precision> from value``; ``None`` when the value does not have that component."""
    return value.component(precision)


def timezone_offset_from(value: DateTime) -> Decimal | None:
    """CQL ``timezoneoffset from``: the offset in (Decimal) hours, ``None`` when unknown."""
    if value.offset is None:
        return None
    return Decimal(value.offset) / Decimal(60)


def date_from(value: Date | DateTime) -> Date:
    """CQL ``date from``: the date components (year, month, day as far as known)."""
    return value if isinstance(value, Date) else Date(value.parts[:3])


def time_from(value: DateTime) -> Time | None:
    """CQL ``time from``: the time components, ``None`` when the DateTime has no hour."""
    return Time(value.parts[3:]) if len(value.parts) > 3 else None


def evaluation_timestamp(moment: _dt.datetime) -> DateTime:
    """A millisecond-precision DateTime for an aware :class:`datetime.datetime`."""
    delta = moment.utcoffset()
    if delta is None:
        raise InvalidTemporalValue("the evaluation timestamp must carry a timezone offset")
    offset = int(delta.total_seconds() // 60)
    return DateTime.of(
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond // 1000,
        offset=offset,
    )


def now(timestamp: DateTime) -> DateTime:
    """CQL ``Now()``: the evaluation request's timestamp."""
    return timestamp


def today(timestamp: DateTime) -> Date:
    """CQL ``Today()``: the date of the evaluation timestamp (in its own offset)."""
    return date_from(timestamp)


def time_of_day(timestamp: DateTime) -> Time:
    """CQL ``TimeOfDay()``: the time of the evaluation timestamp."""
    time = time_from(timestamp)
    if time is None:
        raise InvalidTemporalValue("the evaluation timestamp has no time of day")
    return time
