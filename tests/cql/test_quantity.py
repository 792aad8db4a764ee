"""Quantity and Ratio semantics, many cases from the CQL conformance suite."""

from __future__ import annotations

from decimal import Decimal

import pytest

from davinci_pa.cql.ucum import UcumError
from davinci_pa.cql.values import quantity as q
from davinci_pa.cql.values.quantity import Quantity, Ratio
from davinci_pa.cql.values.temporal import Precision


def Q(value: str, unit: str = "1") -> Quantity:  # noqa: N802 - reads like the CQL literal
    return Quantity(Decimal(value), unit)


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        (Q("1", "cm"), Q("1", "cm"), True),
        (Q("1", "cm"), Q("0.01", "m"), True),
        (Q("2.0", "cm"), Q("2.00", "cm"), True),
        (Q("1", "cm"), Q("2", "cm"), False),
        (Q("1", "millisecond"), Q("1", "ms"), True),
        (Q("1", "millisecond"), Q("1", "milliseconds"), True),
        (Q("1", "second"), Q("1", "s"), True),
        (Q("1", "minute"), Q("1", "min"), True),
        (Q("1", "hours"), Q("1", "h"), True),
        (Q("1", "day"), Q("1", "d"), True),
        (Q("1", "weeks"), Q("1", "wk"), True),
        (Q("1", "month"), Q("1", "mo"), None),
        (Q("1", "months"), Q("1", "mo"), None),
        (Q("1", "year"), Q("1", "a"), None),
        (Q("1", "years"), Q("1", "year"), True),
        (Q("1", "month"), Q("1", "months"), True),
        (Q("1", "year"), Q("12", "months"), True),
        (Q("1", "year"), Q("365", "days"), None),
        (Q("1", "week"), Q("7", "days"), True),
        (Q("1", "day"), Q("24", "hours"), True),
        (Q("1", "hour"), Q("60", "minutes"), True),
        (Q("1", "minute"), Q("60", "seconds"), True),
        (Q("1", "second"), Q("1000", "milliseconds"), True),
        (Q("1", "cm"), Q("1", "g"), None),
        (Q("1", "tablets"), Q("1", "tablets"), True),
        (Q("1", "tablets"), Q("1", "g"), None),
    ],
)
def test_equal(left: Quantity, right: Quantity, expected: bool | None) -> None:
    assert q.equal(left, right) is expected


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        (Q("1", "cm"), Q("1", "cm"), True),
        (Q("1", "cm"), Q("0.01", "m"), True),
        (Q("1", "month"), Q("1", "mo"), True),
        (Q("1", "year"), Q("1", "a"), True),
        (Q("1", "years"), Q("1", "a"), True),
        (Q("1", "year"), Q("12", "months"), True),
        (Q("1", "year"), Q("365", "days"), True),
        (Q("1", "month"), Q("30", "days"), True),
        (Q("30", "days"), Q("1", "month"), True),
        (Q("1", "month"), Q("31", "days"), False),
        (Q("1.001", "g"), Q("1.000", "g"), True),
        (Q("1.5", "g"), Q("1.55", "g"), False),
        (Q("1", "cm"), Q("1", "g"), False),
        (Q("1", "year"), Q("1", "g"), False),
    ],
)
def test_equivalent(left: Quantity, right: Quantity, expected: bool) -> None:
    assert q.equivalent(left, right) is expected


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        (Q("0", "cm"), Q("0", "cm"), 0),
        (Q("0", "cm"), Q("1", "cm"), -1),
        (Q("0", "cm"), Q("-1", "cm"), 1),
        (Q("1", "m"), Q("1", "cm"), 1),
        (Q("1", "m"), Q("10", "cm"), 1),
        (Q("37", "Cel"), Q("98", "[degF]"), 1),
        (Q("1", "cm"), Q("1", "g"), None),
        (Q("1", "year"), Q("400", "days"), None),
    ],
)
def test_compare(left: Quantity, right: Quantity, expected: int | None) -> None:
    assert q.compare(left, right) == expected


@pytest.mark.parametrize(
    ("func", "left", "right", "expected"),
    [
        (q.add, Q("1", "g/cm3"), Q("1", "g/cm3"), Q("2.0", "g/cm3")),
        (q.add, Q("1", "m"), Q("1", "cm"), Q("1.01", "m")),
        (q.add, Q("1", "day"), Q("12", "h"), Q("1.5", "day")),
        (q.add, Q("1", "year"), Q("6", "months"), Q("1.5", "year")),
        (q.subtract, Q("1.0", "cm"), Q("2.0", "cm"), Q("-1.0", "cm")),
        (q.multiply, Q("1.0", "cm"), Q("2.0", "cm"), Q("2.0", "cm2")),
        (q.multiply, Q("1", "g/cm3"), Q("2", "cm3"), Q("2", "g")),
        (q.multiply, Q("2", "mg"), Q("3", "1"), Q("6", "mg")),
        (q.multiply, Q("2", "mg/kg"), Q("70", "kg"), Q("140", "mg")),
        (q.multiply, Q("2", "mg"), Q("3", "/d"), Q("6", "mg/d")),
        (q.divide, Q("1", "g/cm3"), Q("1.0"), Q("1.0", "g/cm3")),
        (q.divide, Q("1", "g/cm3"), Q("1", "g/cm3"), Q("1.0", "1")),
        (q.divide, Q("10.0", "g"), Q("5"), Q("2.0", "g")),
        (q.divide, Q("10", "mg"), Q("2", "mL"), Q("5", "mg/mL")),
        (q.divide, Q("1", "1"), Q("4", "h"), Q("0.25", "1/h")),
        (q.divide, Q("6", "m2"), Q("2", "m"), Q("3", "m")),
        (q.modulo, Q("3.5", "cm"), Q("3", "cm"), Q("0.5", "cm")),
        (q.modulo, Q("10.0", "g"), Q("3.0", "g"), Q("1.0", "g")),
        (q.truncated_divide, Q("10.1", "cm"), Q("-3.1", "cm"), Q("-3.0", "cm")),
        (q.truncated_divide, Q("10.0", "g"), Q("5.0", "g"), Q("2.0", "g")),
        (q.truncated_divide, Q("4.14", "m"), Q("2.06", "m"), Q("2.0", "m")),
    ],
)
def test_arithmetic(func: object, left: Quantity, right: Quantity, expected: Quantity) -> None:
    result = func(left, right)  # type: ignore[operator]
    assert result == expected
    assert result.unit == expected.unit


@pytest.mark.parametrize(
    ("func", "left", "right"),
    [
        (q.add, Q("1", "cm"), Q("1", "g")),
        (q.add, Q("1", "year"), Q("1", "day")),
        (q.divide, Q("1", "cm"), Q("0", "cm")),
        (q.modulo, Q("10.0", "g"), Q("0.0", "g")),
        (q.truncated_divide, Q("10.0", "g"), Q("0.0", "g")),
        (q.multiply, Q("99999999999999999999", "g"), Q("10", "1")),
    ],
)
def test_arithmetic_null_results(func: object, left: Quantity, right: Quantity) -> None:
    assert func(left, right) is None  # type: ignore[operator]


def test_number_operands_are_unit_one() -> None:
    assert q.multiply(Q("2", "mg"), 3) == Q("6", "mg")
    assert q.divide(10, Q("4", "h")) == Q("2.5", "1/h")


def test_unary_and_rounding() -> None:
    assert q.negate(Q("1", "cm")) == Q("-1.0", "cm")
    assert q.absolute(Q("-1.0", "cm")) == Q("1.0", "cm")
    assert q.round_quantity(Q("3.14159", "g"), 2) == Q("3.14", "g")
    assert q.round_quantity(Q("-0.5", "g")) == Q("-1", "g")
    assert q.round_quantity(Q("0.5", "g")) == Q("1", "g")
    assert q.predecessor(Q("1.0", "cm")) == Q("0.99999999", "cm")
    assert q.successor(Q("1.01", "cm")) == Q("1.01000001", "cm")


def test_successor_overflow_raises() -> None:
    with pytest.raises(UcumError):
        q.successor(Q("99999999999999999999.99999999", "g"))


@pytest.mark.parametrize(
    ("quantity", "unit", "expected"),
    [
        (Q("1", "cm"), "m", Q("0.01", "m")),
        (Q("5", "mg/dL"), "g/L", Q("0.05", "g/L")),
        (Q("100", "[degF]"), "Cel", Q("37.77777778", "Cel")),
        (Q("1", "day"), "h", Q("24", "h")),
        (Q("2", "years"), "months", Q("24", "months")),
        (Q("1", "cm"), "g", None),
        (Q("1", "year"), "d", None),
        (Q("1", "cm"), "cm", Q("1", "cm")),
    ],
)
def test_convert_quantity(quantity: Quantity, unit: str, expected: Quantity | None) -> None:
    assert q.convert_quantity(quantity, unit) == expected
    assert q.can_convert_quantity(quantity, unit) is (expected is not None)


@pytest.mark.parametrize(
    ("quantity", "text"),
    [
        (Q("5.5", "cm"), "5.5 'cm'"),
        (Q("150.2", "[lb_av]"), "150.2 '[lb_av]'"),
        (Q("2.5589", "{eskimo_kisses}"), "2.5589 '{eskimo_kisses}'"),
        (Q("5.999999999", "g"), "5.999999999 'g'"),
        (Q("1E+2", "g"), "100 'g'"),
        (Q("-0.0", "g"), "0.0 'g'"),
        (Q("3", "days"), "3 'days'"),
    ],
)
def test_to_string(quantity: Quantity, text: str) -> None:
    assert str(quantity) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5.5 'cm'", Q("5.5", "cm")),
        ("5.5'cm'", Q("5.5", "cm")),
        ("-2 'mg/dL'", Q("-2", "mg/dL")),
        ("3 days", Q("3", "days")),
        ("2", Q("2", "1")),
        ("5 'foo'", None),
        ("5 cm", None),
        ("abc", None),
        ("1.2.3 'g'", None),
    ],
)
def test_parse_quantity(text: str, expected: Quantity | None) -> None:
    assert q.parse_quantity(text) == expected


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("years", Precision.YEAR),
        ("mo", Precision.MONTH),
        ("wk", Precision.WEEK),
        ("d", Precision.DAY),
        ("minute", Precision.MINUTE),
        ("ms", Precision.MILLISECOND),
        ("g", None),
        ("cm", None),
    ],
)
def test_calendar_unit(unit: str, expected: Precision | None) -> None:
    assert q.calendar_unit(unit) is expected


def R(n: str, d: str) -> Ratio:  # noqa: N802
    return Ratio(Q(n, "cm"), Q(d, "cm"))


def test_ratios() -> None:
    assert q.ratio_equal(R("1", "2"), R("1", "2")) is True
    assert q.ratio_equal(R("1", "2"), R("1.1", "2")) is False
    assert q.ratio_equal(R("1", "2"), R("1", "2.1")) is False
    assert q.ratio_equal(Ratio(Q("1", "cm"), Q("2", "g")), R("1", "2")) is None
    assert q.ratio_equivalent(R("1", "2"), R("1", "2")) is True
    assert q.ratio_equivalent(R("1", "2"), R("2", "4")) is True
    assert q.ratio_equivalent(R("1", "2"), R("3", "2")) is False
    assert q.ratio_equivalent(R("1", "2"), R("1", "3")) is False
    assert str(R("1", "2")) == "1 'cm':2 'cm'"


def test_quantity_coerces_int_value_and_is_hashable() -> None:
    value = Quantity(5, "g")  # type: ignore[arg-type]
    assert isinstance(value.value, Decimal)
    assert len({value, Q("5", "g"), Q("5.0", "g")}) == 1
