"""CQL ``Quantity`` and ``Ratio``: UCUM-aware arithmetic, comparison and conversion.

Implements CQL Reference §1 "Quantity"/"Ratio", §"Arithmetic Operators" on quantities,
§"ConvertQuantity"/"CanConvertQuantity", §"ToQuantity"/"ToString", and Author's Guide
§"Quantities" on calendar durations versus UCUM units.

A unit is either a UCUM code (``'mg/dL'``; parsed by :mod:`davinci_pa.cql.ucum`) or a CQL
calendar-duration keyword (``year(s)``, ``month(s)``, ``week(s)``, ``day(s)``, ``hour(s)``,
``minute(s)``, ``second(s)``, ``millisecond(s)``). Keywords of a week or less equal their UCUM
counterparts (``1 day = 1 'd'``); ``year``/``month`` are calendar periods, so ``1 year = 1 'a'``
and ``1 year = 365 days`` are null while the equivalences (``~``) hold, and ``1 year = 12
months`` is true.

Public API (operands non-null; the engine handles nulls; results pass CQL's Decimal rules, a
result outside the Decimal range is ``None``):

- :class:`Quantity` ``(value: Decimal, unit: str = "1")`` and :class:`Ratio` ``(numerator,
  denominator)``; ``str()`` gives CQL's ``ToString`` (``5.5 'cm'``, ``1 'cm':2 'cm'``).
- ``equal(a, b) -> bool | None`` (null when uncertain or the units are not comparable),
  ``equivalent(a, b) -> bool``, ``compare(a, b) -> int | None``; ``ratio_equal`` and
  ``ratio_equivalent`` (equivalent ratios represent the same proportion: ``1:2 ~ 2:4``).
- ``add``/``subtract`` (the result takes the left unit; ``None`` when the units do not
  convert), ``multiply``/``divide`` with unit algebra (``1 'g/cm3' * 2 'cm3' = 2 'g'``; a plain
  number is the unit ``'1'``; division by zero gives ``None``), ``truncated_divide``,
  ``modulo``, ``negate``, ``absolute``, ``round_quantity``, ``successor``/``predecessor``.
- ``convert_quantity(q, unit) -> Quantity | None``; ``can_convert_quantity(q, unit) -> bool``.
- ``parse_quantity(text) -> Quantity | None`` (``ToQuantity``: ``"5.5 'cm'"``, ``"3 days"``,
  ``"2"``), ``calendar_unit(unit) -> Precision | None`` (the date/time arithmetic unit of a
  time-valued quantity, ``None`` for other units).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

from davinci_pa.cql import ucum
from davinci_pa.cql.values import quantity_units as qu
from davinci_pa.cql.values.decimals import DECIMAL_STEP, normalize_decimal
from davinci_pa.cql.values.temporal import InvalidTemporalValue, Precision, parse_precision

__all__ = [
    "Quantity",
    "Ratio",
    "absolute",
    "add",
    "calendar_unit",
    "can_convert_quantity",
    "compare",
    "convert_quantity",
    "divide",
    "equal",
    "equivalent",
    "modulo",
    "multiply",
    "negate",
    "parse_quantity",
    "predecessor",
    "ratio_equal",
    "ratio_equivalent",
    "round_quantity",
    "subtract",
    "successor",
    "truncated_divide",
]


def _format_decimal(value: Decimal) -> str:
    text = format(value, "f")
    return "0" + text[2:] if text.startswith("-0") and value.is_zero() else text


@dataclass(frozen=True, slots=True)
class Quantity:
    """A decimal value with a UCUM unit or calendar-duration keyword (default ``'1'``)."""

    value: Decimal
    unit: str = "1"

    def __post_init__(self) -> None:
        if not isinstance(self.value, Decimal):
            object.__setattr__(self, "value", Decimal(self.value))

    def __str__(self) -> str:
        return f"{_format_decimal(self.value)} '{self.unit}'"


@dataclass(frozen=True, slots=True)
class Ratio:
    """A CQL ``Ratio`` of two quantities."""

    numerator: Quantity
    denominator: Quantity

    def __str__(self) -> str:
        return f"{self.numerator}:{self.denominator}"


def _checked(value: Decimal, unit: str) -> Quantity | None:
    normalized = normalize_decimal(value)
    return None if normalized is None else Quantity(normalized, unit)


def _decimal_equivalent(a: Decimal, b: Decimal) -> bool:
    """Equal when rounded to the scale of the less precise operand (trailing zeros ignored)."""
    ea = a.normalize().as_tuple().exponent
    eb = b.normalize().as_tuple().exponent
    if not isinstance(ea, int) or not isinstance(eb, int):
        return False
    scale = Decimal(1).scaleb(max(ea, eb, -8))
    return a.quantize(scale, ROUND_HALF_UP) == b.quantize(scale, ROUND_HALF_UP)


def _sign(a: Decimal, b: Decimal) -> int:
    return (a > b) - (a < b)


def compare(a: Quantity, b: Quantity) -> int | None:
    """-1/0/1 once ``b`` is expressed in ``a``'s unit; ``None`` when not comparable."""
    if a.unit == b.unit:
        return _sign(a.value, b.value)
    right = qu.align(b, a.unit, exact=True)
    return None if right is None else _sign(a.value, right)


def equal(a: Quantity, b: Quantity) -> bool | None:
    """CQL ``=`` for quantities."""
    result = compare(a, b)
    return None if result is None else result == 0


def equivalent(a: Quantity, b: Quantity) -> bool:
    """CQL ``~`` for quantities (calendar years/months match 'a'/'mo' and 365/30 days).

    Same units use decimal equivalence (rounded to the less precise operand); converted values
    must agree to CQL's 8 decimal places.
    """
    if a.unit == b.unit:
        return _decimal_equivalent(a.value, b.value)
    right = qu.align(b, a.unit, exact=False)
    if right is None:
        return False
    return right.quantize(DECIMAL_STEP, ROUND_HALF_UP) == a.value.quantize(
        DECIMAL_STEP, ROUND_HALF_UP
    )


def add(a: Quantity, b: Quantity) -> Quantity | None:
    """``a + b`` in ``a``'s unit; ``None`` when the units do not convert."""
    right = b.value if a.unit == b.unit else qu.align(b, a.unit, exact=True)
    return None if right is None else _checked(a.value + right, a.unit)


def subtract(a: Quantity, b: Quantity) -> Quantity | None:
    """``a - b`` in ``a``'s unit; ``None`` when the units do not convert."""
    return add(a, Quantity(-b.value, b.unit))


def _promote(value: Quantity | Decimal | int) -> Quantity:
    return value if isinstance(value, Quantity) else Quantity(Decimal(value))


def multiply(a: Quantity | Decimal | int, b: Quantity | Decimal | int) -> Quantity | None:
    """``a * b`` with unit algebra (``1.0 'cm' * 2.0 'cm' = 2.0 'cm2'``)."""
    left, right = _promote(a), _promote(b)
    unit = qu.combine(left.unit, right.unit, 1)
    return _checked(left.value * right.value, unit)


def divide(a: Quantity | Decimal | int, b: Quantity | Decimal | int) -> Quantity | None:
    """``a / b`` with unit algebra; ``None`` on division by zero."""
    left, right = _promote(a), _promote(b)
    if right.value.is_zero():
        return None
    unit = qu.combine(left.unit, right.unit, -1)
    try:
        value = left.value / right.value
    except InvalidOperation:
        return None
    return _checked(value, unit)


def _same_unit_pair(a: Quantity, b: Quantity) -> Decimal | None:
    right = b.value if a.unit == b.unit else qu.align(b, a.unit, exact=True)
    return None if right is None or right.is_zero() else right


def truncated_divide(a: Quantity, b: Quantity) -> Quantity | None:
    """CQL ``div``: the truncated quotient, kept in ``a``'s unit as the suite expects."""
    right = _same_unit_pair(a, b)
    if right is None:
        return None
    return _checked((a.value / right).to_integral_value(ROUND_DOWN), a.unit)


def modulo(a: Quantity, b: Quantity) -> Quantity | None:
    """CQL ``mod``: remainder of truncated division, in ``a``'s unit."""
    right = _same_unit_pair(a, b)
    if right is None:
        return None
    return _checked(a.value % right, a.unit)


def negate(q: Quantity) -> Quantity:
    """``-q``."""
    return Quantity(-q.value, q.unit)


def absolute(q: Quantity) -> Quantity:
    """``Abs(q)``."""
    return Quantity(abs(q.value), q.unit)


def round_quantity(q: Quantity, places: int = 0) -> Quantity:
    """CQL ``Round`` applied to the value: ``places`` decimals, ties away from zero."""
    return Quantity(q.value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP), q.unit)


def successor(q: Quantity) -> Quantity:
    """The next representable quantity (value + 10^-8); raises past the Decimal maximum."""
    return _step(q, DECIMAL_STEP)


def predecessor(q: Quantity) -> Quantity:
    """The previous representable quantity (value - 10^-8)."""
    return _step(q, -DECIMAL_STEP)


def _step(q: Quantity, delta: Decimal) -> Quantity:
    result = _checked(q.value + delta, q.unit)
    if result is None:
        raise ucum.UcumError("Quantity successor/predecessor overflows the Decimal range")
    return result


def convert_quantity(q: Quantity, unit: str) -> Quantity | None:
    """CQL ``ConvertQuantity``: ``q`` in ``unit``; ``None`` when the units do not convert."""
    if q.unit == unit:
        return q
    value = qu.align(q, unit, exact=True)
    return None if value is None else _checked(value, unit)


def can_convert_quantity(q: Quantity, unit: str) -> bool:
    """CQL ``CanConvertQuantity``."""
    return q.unit == unit or qu.align(q, unit, exact=True) is not None


def ratio_equal(a: Ratio, b: Ratio) -> bool | None:
    """``=`` for ratios: numerators and denominators equal (three-valued and)."""
    first = equal(a.numerator, b.numerator)
    second = equal(a.denominator, b.denominator)
    if first is False or second is False:
        return False
    return None if first is None or second is None else True


def ratio_equivalent(a: Ratio, b: Ratio) -> bool:
    """``~`` for ratios: the same proportion (cross products equivalent)."""
    left = multiply(a.numerator, b.denominator)
    right = multiply(b.numerator, a.denominator)
    return left is not None and right is not None and equivalent(left, right)


_QUANTITY_TEXT = re.compile(r"\s*([+-]?\d+(?:\.\d+)?)\s*(?:'([^']*)'|([A-Za-z]+))?\s*")


def parse_quantity(text: str) -> Quantity | None:
    """CQL ``ToQuantity(String)``: ``None`` when malformed or the unit is unknown."""
    match = _QUANTITY_TEXT.fullmatch(text)
    if match is None:
        return None
    number, quoted, keyword = match.groups()
    unit = quoted if quoted is not None else keyword or "1"
    if not qu.is_known_unit(unit) or (keyword is not None and not qu.is_calendar(keyword)):
        return None
    return Quantity(Decimal(number), unit)


def calendar_unit(unit: str) -> Precision | None:
    """The date/time arithmetic unit for a time-valued quantity unit, else ``None``."""
    if not qu.is_calendar(unit) and unit not in qu.UCUM_TIME_UNITS:
        return None
    try:
        return parse_precision(unit)
    except InvalidTemporalValue:
        return None
