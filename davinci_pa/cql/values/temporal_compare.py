"""Three-valued comparison of CQL temporal values, with and without a precision.

Implements CQL Reference §"Comparison Operators" (Equal, Equivalent, Less, Greater...) and
§"Date and Time Operators" (SameAs, SameOrBefore, SameOrAfter, Before, After) for
:class:`Date`, :class:`DateTime` and :class:`Time`, following Author's Guide §"Comparing Dates
and Times" and Language Semantics §"Uncertainty".

Rules:

- Components are compared from the most significant down. The first difference decides. When
  one value stops before the other (e.g. ``DateTime(2014)`` vs ``DateTime(2014, 2, 15)``) and all
  shared components are equal, the result is uncertain: ``None``.
- Without a precision, seconds and milliseconds form one decimal component (so ``@T10:00:00 =
  @T10:00:00.000`` is true). With a precision, only components down to it are compared and a
  value lacking one of them yields ``None`` unless an earlier component already differs.
- DateTimes with different offsets are normalized to the left operand's offset first, but only
  when both have time components and the precision is absent or hour or finer (a date-level
  DateTime does not name an instant). An unknown offset (``None``) is taken as the other's.
- A Date met with a DateTime is converted to a DateTime with the same components (CQL's
  implicit ``ToDateTime``); Time against Date/DateTime raises ``InvalidTemporalValue``.

Public API (all arguments non-null; the engine handles null operands):

- ``compare(a, b) -> int | None`` (-1, 0, 1 or uncertain) and ``compare_at(a, b, precision)``.
- ``equal(a, b) -> bool | None``; ``equivalent(a, b) -> bool`` (same precision and components;
  never null); ``less``, ``less_or_equal``, ``greater``, ``greater_or_equal``.
- ``same_as(a, b, precision=None)``, ``same_or_before``, ``same_or_after``, ``before``,
  ``after``: all ``-> bool | None``; ``precision`` is a :class:`Precision` or ``None``.
"""

from __future__ import annotations

from davinci_pa.cql.values.temporal import (
    Date,
    DateTime,
    InvalidTemporalValue,
    Precision,
    Time,
)
from davinci_pa.cql.values.temporal_arith import fill, normalize_to, to_instant

__all__ = [
    "after",
    "before",
    "compare",
    "compare_at",
    "equal",
    "equivalent",
    "greater",
    "greater_or_equal",
    "less",
    "less_or_equal",
    "same_as",
    "same_or_after",
    "same_or_before",
]

TemporalValue = Date | DateTime | Time


def _align(
    a: TemporalValue, b: TemporalValue, precision: Precision | None
) -> tuple[TemporalValue, TemporalValue]:
    """Make both operands the same kind and, where CQL requires it, the same offset."""
    if isinstance(a, Date) and isinstance(b, DateTime):
        a = DateTime(a.parts, b.offset)
    elif isinstance(a, DateTime) and isinstance(b, Date):
        b = DateTime(b.parts, a.offset)
    elif type(a) is not type(b):
        raise InvalidTemporalValue(f"cannot compare {type(a).__name__} with {type(b).__name__}")
    if (
        isinstance(a, DateTime)
        and isinstance(b, DateTime)
        and a.offset != b.offset
        and len(a.parts) > 3
        and len(b.parts) > 3
        and (precision is None or precision >= Precision.HOUR)
    ):
        b = normalize_to(b, a.offset)
    return a, b


def _sign(left: tuple[int, ...], right: tuple[int, ...]) -> int:
    return (left > right) - (left < right)


def _prefix_compare(left: tuple[int, ...], right: tuple[int, ...], needed: int) -> int | None:
    """Compare component tuples needing ``needed`` components; ``None`` when uncertain."""
    common = min(len(left), len(right), needed)
    if left[:common] != right[:common]:
        return _sign(left[:common], right[:common])
    if common == needed:
        return 0
    return None


def _instants(a: TemporalValue, b: TemporalValue) -> tuple[int, int] | None:
    """Fast path: DateTimes at different known offsets, both to the minute or both to seconds."""
    if (
        isinstance(a, DateTime)
        and isinstance(b, DateTime)
        and a.offset != b.offset
        and a.offset is not None
        and b.offset is not None
        and (len(a.parts) == len(b.parts) == 5 or min(len(a.parts), len(b.parts)) >= 6)
    ):
        return to_instant(fill(a), a.offset), to_instant(fill(b), b.offset)
    return None


def compare(a: TemporalValue, b: TemporalValue) -> int | None:
    """-1/0/1 for a before/same/after b, ``None`` when precision makes it uncertain."""
    instants = _instants(a, b)
    if instants is not None:
        return (instants[0] > instants[1]) - (instants[0] < instants[1])
    a, b = _align(a, b, None)
    left, right = a.key, b.key
    if len(left) == len(right):
        return _sign(left, right)
    return _prefix_compare(left, right, max(len(left), len(right)))


def compare_at(a: TemporalValue, b: TemporalValue, precision: Precision) -> int | None:
    """Compare only the components down to ``precision``; ``None`` when uncertain."""
    if precision == Precision.WEEK:
        raise InvalidTemporalValue("week is not a comparison precision")
    a, b = _align(a, b, precision)
    needed = precision - a.BASE + 1
    if needed < 1 or needed > a.MAX_PRECISION - a.BASE + 1:
        raise InvalidTemporalValue(f"{precision.name.lower()} is not a {type(a).__name__} part")
    return _prefix_compare(a.parts, b.parts, needed)


def _precise(a: TemporalValue, b: TemporalValue, precision: Precision | None) -> int | None:
    return compare(a, b) if precision is None else compare_at(a, b, precision)


def equal(a: TemporalValue, b: TemporalValue) -> bool | None:
    """CQL ``=``: ``None`` when the shared components match but precisions differ."""
    result = compare(a, b)
    return None if result is None else result == 0


def equivalent(a: TemporalValue, b: TemporalValue) -> bool:
    """CQL ``~``: equal components at the same precision (uncertainty counts as false)."""
    return compare(a, b) == 0


def less(a: TemporalValue, b: TemporalValue) -> bool | None:
    """CQL ``<``."""
    result = compare(a, b)
    return None if result is None else result < 0


def less_or_equal(a: TemporalValue, b: TemporalValue) -> bool | None:
    """CQL ``<=``."""
    result = compare(a, b)
    return None if result is None else result <= 0


def greater(a: TemporalValue, b: TemporalValue) -> bool | None:
    """CQL ``>``."""
    result = compare(a, b)
    return None if result is None else result > 0


def greater_or_equal(a: TemporalValue, b: TemporalValue) -> bool | None:
    """CQL ``>=``."""
    result = compare(a, b)
    return None if result is None else result >= 0


def same_as(a: TemporalValue, b: TemporalValue, precision: Precision | None = None) -> bool | None:
    """CQL ``same [precision] as``."""
    result = _precise(a, b, precision)
    return None if result is None else result == 0


def same_or_before(
    a: TemporalValue, b: TemporalValue, precision: Precision | None = None
) -> bool | None:
    """CQL ``same [precision] or before``."""
    result = _precise(a, b, precision)
    return None if result is None else result <= 0


def same_or_after(
    a: TemporalValue, b: TemporalValue, precision: Precision | None = None
) -> bool | None:
    """CQL ``same [precision] or after``."""
    result = _precise(a, b, precision)
    return None if result is None else result >= 0


def before(a: TemporalValue, b: TemporalValue, precision: Precision | None = None) -> bool | None:
    """CQL ``before [precision of]``."""
    result = _precise(a, b, precision)
    return None if result is None else result < 0


def after(a: TemporalValue, b: TemporalValue, precision: Precision | None = None) -> bool | None:
    """CQL ``after [precision of]``."""
    result = _precise(a, b, precision)
    return None if result is None else result > 0
