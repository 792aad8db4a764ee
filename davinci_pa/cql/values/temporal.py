"""CQL ``Date``, ``DateTime`` and ``Time`` values with partial precision.

Implements the temporal types of CQL 1.5 (Author's Guide §1.4 "Date and Time", Reference
§1 "Types": Date, DateTime, Time). A value keeps exactly the components it was given: a Date
may stop at year or month, a DateTime at any component from year to millisecond, a Time at
hour..millisecond. Nothing is padded, so ``@2014`` is never confused with ``@2014-01-01``.

Public API (all values are immutable, hashable ``__slots__`` dataclasses):

- :class:`Precision` -- ``YEAR`` .. ``MILLISECOND`` (component precisions, ordered) and
  ``WEEK`` (a unit for arithmetic, duration and difference only, never a component).
  :func:`parse_precision` maps ELM names (``"Year"``, ``"months"``, ``"ms"``...) to it.
- :class:`Date` ``(parts)``, :class:`DateTime` ``(parts, offset)``, :class:`Time` ``(parts)``
  where ``parts`` holds the known components most significant first and ``offset`` is the
  timezone offset in minutes (``None`` = unknown). Build them with ``Date.of(2014, 6)``,
  ``DateTime.of(2014, 6, 1, 10, offset=-300)``, ``Time.of(10, 30)``; these validate ranges and
  raise :class:`InvalidTemporalValue`. Read components with ``.year`` .. ``.millisecond``
  (``None`` when beyond the precision), ``.precision`` and ``.component(p)``.
- Parsing: :func:`parse_date`, :func:`parse_datetime` (``default_offset`` is applied when the
  text has no offset, as CQL gives such values the evaluation request's offset) and
  :func:`parse_time` accept CQL literals (``@2014-01-01T``, ``@T10:30``) and FHIR
  ``date``/``dateTime``/``instant``/``time`` strings (fractional seconds beyond milliseconds are
  truncated). They raise :class:`InvalidTemporalValue`; use the ``to_*`` functions of
  ``temporal_convert`` for CQL's null-on-malformed conversions.
- Output: ``.to_iso()`` renders ISO 8601 at the value's own precision (a DateTime shows its
  offset only when it has time components, e.g. ``2014-01-01T10:00+01:00``);
  ``.to_cql()`` renders a CQL literal (``@2014-01-01T``, ``@T10:30``).

Python ``==`` and ``hash`` are structural (same components, same offset); CQL equality,
equivalence and ordering live in ``temporal_compare``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from enum import IntEnum

from davinci_pa.errors import CqlEvaluationError

__all__ = [
    "Date",
    "DateTime",
    "InvalidTemporalValue",
    "Precision",
    "Temporal",
    "Time",
    "days_in_month",
    "format_offset",
    "parse_date",
    "parse_datetime",
    "parse_precision",
    "parse_time",
]

MIN_YEAR = 1
MAX_YEAR = 9999
MAX_OFFSET_MINUTES = 14 * 60


class InvalidTemporalValue(CqlEvaluationError):
    """A date/time value is out of range, malformed, or an operation on it overflows."""


class Precision(IntEnum):
    """Temporal precisions, coarsest first; ``WEEK`` is a unit only, never a component."""

    YEAR = 0
    MONTH = 1
    DAY = 2
    HOUR = 3
    MINUTE = 4
    SECOND = 5
    MILLISECOND = 6
    WEEK = 7


_PRECISION_NAMES: dict[str, Precision] = {
    "year": Precision.YEAR,
    "month": Precision.MONTH,
    "week": Precision.WEEK,
    "day": Precision.DAY,
    "hour": Precision.HOUR,
    "minute": Precision.MINUTE,
    "second": Precision.SECOND,
    "millisecond": Precision.MILLISECOND,
    # UCUM definite-duration codes, used as calendar units in date/time arithmetic.
    "a": Precision.YEAR,
    "mo": Precision.MONTH,
    "wk": Precision.WEEK,
    "d": Precision.DAY,
    "h": Precision.HOUR,
    "min": Precision.MINUTE,
    "s": Precision.SECOND,
    "ms": Precision.MILLISECOND,
}


def parse_precision(name: str) -> Precision:
    """Map an ELM precision name, calendar keyword (singular/plural) or UCUM time code."""
    key = name if name in _PRECISION_NAMES else name.lower()
    if key not in _PRECISION_NAMES and key.endswith("s"):
        key = key[:-1]
    try:
        return _PRECISION_NAMES[key]
    except KeyError:
        raise InvalidTemporalValue(f"unknown date/time precision or unit {name!r}") from None


def days_in_month(year: int, month: int) -> int:
    """Number of days in a month of the proleptic Gregorian calendar."""
    return calendar.monthrange(year, month)[1]


def format_offset(minutes: int) -> str:
    """Render an offset in minutes as ``+hh:mm``/``-hh:mm``."""
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


_LIMITS = ((MIN_YEAR, MAX_YEAR), (1, 12), (1, 31), (0, 23), (0, 59), (0, 59), (0, 999))
_NAMES = ("year", "month", "day", "hour", "minute", "second", "millisecond")


def _validate(parts: tuple[int, ...], base: int) -> None:
    for index, value in enumerate(parts):
        low, high = _LIMITS[base + index]
        if not low <= value <= high:
            name = _NAMES[base + index]
            raise InvalidTemporalValue(f"{name} {value} is out of range {low}..{high}")
    if base == 0 and len(parts) >= 3 and parts[2] > days_in_month(parts[0], parts[1]):
        raise InvalidTemporalValue(f"day {parts[2]} does not exist in {parts[0]}-{parts[1]:02d}")


def _combined_key(parts: tuple[int, ...], second_index: int) -> tuple[int, ...]:
    """Comparison key: seconds and milliseconds fused into one millisecond count."""
    if len(parts) <= second_index:
        return parts
    millis = parts[second_index + 1] if len(parts) > second_index + 1 else 0
    return (*parts[:second_index], parts[second_index] * 1000 + millis)


@dataclass(frozen=True, slots=True)
class _TemporalBase:
    """Shared storage: ``parts`` are the known components, most significant first."""

    parts: tuple[int, ...]
    key: tuple[int, ...] = field(init=False, repr=False, compare=False)

    BASE = 0  # Precision of parts[0]
    MAX_PRECISION = Precision.MILLISECOND

    def __post_init__(self) -> None:
        if not 1 <= len(self.parts) <= self.MAX_PRECISION - self.BASE + 1:
            raise InvalidTemporalValue(f"{type(self).__name__} needs 1 to N components")
        _validate(self.parts, self.BASE)
        object.__setattr__(self, "key", _combined_key(self.parts, Precision.SECOND - self.BASE))

    @property
    def precision(self) -> Precision:
        """The finest component this value knows."""
        return Precision(self.BASE + len(self.parts) - 1)

    def component(self, precision: Precision) -> int | None:
        """The component at ``precision`` or ``None`` when unknown or not applicable."""
        index = precision - self.BASE
        if precision == Precision.WEEK or not 0 <= index < len(self.parts):
            return None
        return self.parts[index]


def _fmt_date(parts: tuple[int, ...]) -> str:
    text = f"{parts[0]:04d}"
    if len(parts) > 1:
        text += f"-{parts[1]:02d}"
    if len(parts) > 2:
        text += f"-{parts[2]:02d}"
    return text


def _fmt_time(parts: tuple[int, ...]) -> str:
    text = f"{parts[0]:02d}"
    if len(parts) > 1:
        text += f":{parts[1]:02d}"
    if len(parts) > 2:
        text += f":{parts[2]:02d}"
    if len(parts) > 3:
        text += f".{parts[3]:03d}"
    return text


@dataclass(frozen=True, slots=True)
class Date(_TemporalBase):
    """A CQL ``Date``: year, optionally month, optionally day (no time, no offset)."""

    MAX_PRECISION = Precision.DAY

    @classmethod
    def of(cls, year: int, month: int | None = None, day: int | None = None) -> Date:
        """Selector ``Date(year, month, day)``; trailing ``None`` lowers the precision."""
        return cls(_collect((year, month, day)))

    @property
    def year(self) -> int:
        """The year (always known)."""
        return self.parts[0]

    @property
    def month(self) -> int | None:
        """The month, or ``None`` below month precision."""
        return self.component(Precision.MONTH)

    @property
    def day(self) -> int | None:
        """The day, or ``None`` below day precision."""
        return self.component(Precision.DAY)

    def to_iso(self) -> str:
        """ISO 8601 at the value's own precision: ``2014``, ``2014-06``, ``2014-06-01``."""
        return _fmt_date(self.parts)

    def to_cql(self) -> str:
        """CQL literal, e.g. ``@2014-06``."""
        return "@" + self.to_iso()


@dataclass(frozen=True, slots=True)
class DateTime(_TemporalBase):
    """A CQL ``DateTime``: year..millisecond, each optional after year, plus an offset."""

    offset: int | None = None

    def __post_init__(self) -> None:
        _TemporalBase.__post_init__(self)
        if self.offset is not None and abs(self.offset) > MAX_OFFSET_MINUTES:
            raise InvalidTemporalValue(f"timezone offset {self.offset} minutes is out of range")

    @classmethod
    def of(
        cls,
        year: int,
        month: int | None = None,
        day: int | None = None,
        hour: int | None = None,
        minute: int | None = None,
        second: int | None = None,
        millisecond: int | None = None,
        *,
        offset: int | None = None,
    ) -> DateTime:
        """Selector ``DateTime(...)``; ``offset`` in minutes; trailing ``None`` lowers precision."""
        return cls(_collect((year, month, day, hour, minute, second, millisecond)), offset)

    year = Date.year
    month = Date.month
    day = Date.day

    @property
    def hour(self) -> int | None:
        """The hour, or ``None`` below hour precision."""
        return self.component(Precision.HOUR)

    @property
    def minute(self) -> int | None:
        """The minute, or ``None`` below minute precision."""
        return self.component(Precision.MINUTE)

    @property
    def second(self) -> int | None:
        """The second, or ``None`` below second precision."""
        return self.component(Precision.SECOND)

    @property
    def millisecond(self) -> int | None:
        """The millisecond, or ``None`` below millisecond precision."""
        return self.component(Precision.MILLISECOND)

    def with_offset(self, offset: int | None) -> DateTime:
        """Same components with another offset label (no shifting; see ``normalize_to``)."""
        return DateTime(self.parts, offset)

    def to_iso(self) -> str:
        """ISO 8601 at own precision; the offset is shown only when time is present."""
        text = _fmt_date(self.parts[:3])
        if len(self.parts) > 3:
            text += "T" + _fmt_time(self.parts[3:])
            if self.offset is not None:
                text += format_offset(self.offset)
        return text

    def to_cql(self) -> str:
        """CQL literal, e.g. ``@2014-01-01T`` or ``@2014-01-01T10:00:00.000+01:00``."""
        text = "@" + self.to_iso()
        return text if len(self.parts) > 3 else text + "T"


@dataclass(frozen=True, slots=True)
class Time(_TemporalBase):
    """A CQL ``Time``: hour, optionally minute, second, millisecond (no offset)."""

    BASE = Precision.HOUR

    @classmethod
    def of(
        cls,
        hour: int,
        minute: int | None = None,
        second: int | None = None,
        millisecond: int | None = None,
    ) -> Time:
        """Selector ``Time(hour, minute, second, millisecond)``."""
        return cls(_collect((hour, minute, second, millisecond)))

    hour = DateTime.hour
    minute = DateTime.minute
    second = DateTime.second
    millisecond = DateTime.millisecond

    def to_iso(self) -> str:
        """ISO 8601 time at own precision, e.g. ``10:30`` or ``10:30:00.000``."""
        return _fmt_time(self.parts)

    def to_cql(self) -> str:
        """CQL literal, e.g. ``@T10:30``."""
        return "@T" + self.to_iso()


Temporal = Date | DateTime | Time


def _collect(values: tuple[int | None, ...]) -> tuple[int, ...]:
    """Keep the leading non-null components; a component after a null is an error."""
    parts: list[int] = []
    for index, value in enumerate(values):
        if value is None:
            if any(later is not None for later in values[index + 1 :]):
                name = _NAMES[index] if len(values) != 4 else _NAMES[index + 3]
                raise InvalidTemporalValue(f"a component below the missing {name} is given")
            break
        parts.append(value)
    return tuple(parts)


_DATE_RE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_TIME_RE = re.compile(r"(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?")
_OFFSET_RE = re.compile(r"Z|([+-])(\d{2})(?::?(\d{2}))?")


def _strip_at(text: str) -> str:
    return text[1:] if text.startswith("@") else text


def _time_parts(match: re.Match[str]) -> tuple[int, ...]:
    hour, minute, second, fraction = match.groups()
    parts = [int(g) for g in (hour, minute, second) if g is not None]
    if fraction is not None:
        parts.append(int(fraction[:3].ljust(3, "0")))
    return tuple(parts)


def _parse_offset(text: str) -> int:
    match = _OFFSET_RE.fullmatch(text)
    if match is None:
        raise InvalidTemporalValue(f"malformed timezone offset {text!r}")
    if text == "Z":
        return 0
    sign, hours, minutes = match.groups()
    total = int(hours) * 60 + int(minutes or 0)
    return -total if sign == "-" else total


def parse_date(text: str) -> Date:
    """Parse ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (optionally ``@``-prefixed)."""
    match = _DATE_RE.fullmatch(_strip_at(text))
    if match is None:
        raise InvalidTemporalValue(f"malformed Date {text!r}")
    return Date(tuple(int(g) for g in match.groups() if g is not None))


def parse_datetime(text: str, default_offset: int | None = None) -> DateTime:
    """Parse a CQL DateTime literal or FHIR ``date``/``dateTime``/``instant`` string.

    ``default_offset`` (minutes) is used when the text carries no offset.
    """
    body = _strip_at(text)
    date_text, sep, rest = body.partition("T")
    date_match = _DATE_RE.fullmatch(date_text)
    if date_match is None:
        raise InvalidTemporalValue(f"malformed DateTime {text!r}")
    parts = tuple(int(g) for g in date_match.groups() if g is not None)
    offset = default_offset
    if sep:
        time_match = _TIME_RE.match(rest)
        if time_match is not None:
            if len(parts) < 3:
                raise InvalidTemporalValue(f"time given without a full date in {text!r}")
            parts += _time_parts(time_match)
            rest = rest[time_match.end() :]
        if rest:
            offset = _parse_offset(rest)
    return DateTime(parts, offset)


def parse_time(text: str) -> Time:
    """Parse ``hh[:mm[:ss[.fff]]]`` with optional ``@T``/``T`` prefix; an offset is ignored."""
    body = _strip_at(text)
    body = body[1:] if body.startswith("T") else body
    match = _TIME_RE.match(body)
    if match is None:
        raise InvalidTemporalValue(f"malformed Time {text!r}")
    rest = body[match.end() :]
    if rest:
        _parse_offset(rest)
    return Time(_time_parts(match))
