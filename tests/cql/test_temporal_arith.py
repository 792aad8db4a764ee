"""Temporal arithmetic: calendar units, month-end clamping, precision truncation, limits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from davinci_pa.cql.values import temporal_arith as ta
from davinci_pa.cql.values import temporal_compare as tc
from davinci_pa.cql.values.temporal import Date, DateTime, InvalidTemporalValue, Precision, Time
from tests.cql.test_temporal import lit

P = Precision


@pytest.mark.parametrize(
    ("start", "amount", "unit", "expected"),
    [
        ("@2005-10-10T", 5, P.YEAR, "@2010-10-10T"),
        ("@2005-05-10T", 5, P.MONTH, "@2005-10-10T"),
        ("@2005-05-10T", 10, P.MONTH, "@2006-03-10T"),
        ("@2018-05-02T", 3, P.WEEK, "@2018-05-23T"),
        ("@2018-05-23T", 52, P.WEEK, "@2019-05-22T"),
        ("@2023-03-02T", 52, P.WEEK, "@2024-02-29T"),
        ("@2024-02-28T", 52, P.WEEK, "@2025-02-26T"),
        ("@2016-06-10T", 21, P.DAY, "@2016-07-01T"),
        ("@2005-05-10T05", 5, P.HOUR, "@2005-05-10T10"),
        ("@2005-05-10T05:20:30", 5, P.HOUR, "@2005-05-10T10:20:30"),
        ("@2005-05-10T", 5, P.HOUR, "@2005-05-10T"),
        ("@2005-05-10T", 25, P.HOUR, "@2005-05-11T"),
        ("@2014", 24, P.MONTH, "@2016"),
        ("@2014", 25, P.MONTH, "@2016"),
        ("@2014-06", 33, P.DAY, "@2014-07"),
        ("@2014-06", 1, P.YEAR, "@2015-06"),
        ("@2016-06-10T05", 19, P.HOUR, "@2016-06-11T00"),
        ("@2016-06-10T05:05", 55, P.MINUTE, "@2016-06-10T06:00"),
        ("@2016-06-10T05:05:05", 55, P.SECOND, "@2016-06-10T05:06:00"),
        ("@2005-05-10T05:05:05.005", 5, P.MILLISECOND, "@2005-05-10T05:05:05.010"),
        ("@2016-06-10T05:05:05.005", 995, P.MILLISECOND, "@2016-06-10T05:05:06.000"),
        ("@2012-02-29T", 1, P.YEAR, "@2013-02-28T"),
        ("@2014-01-31", 1, P.MONTH, "@2014-02-28"),
        ("@2016-01-31", 1, P.MONTH, "@2016-02-29"),
        ("@2014T", 24, P.MONTH, "@2016T"),
        ("@2014T", 730, P.DAY, "@2016T"),
        ("@2014T", 735, P.DAY, "@2016T"),
        ("@T15:59:59.999", 5, P.HOUR, "@T20:59:59.999"),
        ("@T15:59:59.999", 1, P.MINUTE, "@T16:00:59.999"),
        ("@T15:59:59.999", 1, P.SECOND, "@T16:00:00.999"),
        ("@T15:59:59.999", 1, P.MILLISECOND, "@T16:00:00.000"),
        ("@T15:59:59.999", 300, P.MINUTE, "@T20:59:59.999"),
        ("@T23:00", 2, P.HOUR, "@T01:00"),
        ("@2014-01-01T10:00+05:00", 1, P.DAY, "@2014-01-02T10:00+05:00"),
        ("@2014-01-01T10:00:00.000", Decimal("1.5"), P.HOUR, "@2014-01-01T11:30:00.000"),
        ("@2014-01-01", Decimal("1.9"), P.DAY, "@2014-01-02"),
    ],
)
def test_add(start: str, amount: int | Decimal, unit: Precision, expected: str) -> None:
    result = ta.add(lit(start), amount, unit)
    assert result == lit(expected)


@pytest.mark.parametrize(
    ("start", "amount", "unit", "expected"),
    [
        ("@2005-10-10T", 5, P.YEAR, "@2000-10-10T"),
        ("@2005-06-10T", 5, P.MONTH, "@2005-01-10T"),
        ("@2005-05-10T", 6, P.MONTH, "@2004-11-10T"),
        ("@2018-05-23T", 52, P.WEEK, "@2017-05-24T"),
        ("@2024-02-29T", 52, P.WEEK, "@2023-03-02T"),
        ("@2024-03-01T", 52, P.WEEK, "@2023-03-03T"),
        ("@2016-06-10T", 11, P.DAY, "@2016-05-30T"),
        ("@2016-06-10T05", 6, P.HOUR, "@2016-06-09T23"),
        ("@2016-06-10T05:05", 6, P.MINUTE, "@2016-06-10T04:59"),
        ("@2016-05T", 31535999, P.SECOND, "@2015-05T"),
        ("@2016-10-01T10:20:30", 15, P.HOUR, "@2016-09-30T19:20:30"),
        ("@2016-06-10T05:05:05.005", 6, P.MILLISECOND, "@2016-06-10T05:05:04.999"),
        ("@2014T", 25, P.MONTH, "@2012T"),
        ("@2014", 25, P.MONTH, "@2012"),
        ("@2014-06", 33, P.DAY, "@2014-05"),
        ("@2014-06", 1, P.YEAR, "@2013-06"),
        ("@T15:59:59.0", 1, P.MILLISECOND, "@T15:59:58.999"),
        ("@T01:00", 2, P.HOUR, "@T23:00"),
        ("@2016-03-31", 1, P.MONTH, "@2016-02-29"),
    ],
)
def test_subtract(start: str, amount: int, unit: Precision, expected: str) -> None:
    assert ta.subtract(lit(start), amount, unit) == lit(expected)


def test_add_three_weeks_is_equal_to_selector() -> None:
    assert tc.equal(ta.add(DateTime.of(2018, 5, 2), 3, P.WEEK), DateTime.of(2018, 5, 23))


@pytest.mark.parametrize(
    ("start", "amount", "unit"),
    [
        ("@2005-10-10T", 8000, P.YEAR),
        ("@2005-10-10T", -2005, P.YEAR),
        ("@9999-12-31", 1, P.DAY),
        ("@0001-01-01T00:00:00.000", -1, P.MILLISECOND),
        ("@T10:00", 1, P.DAY),
        ("@T10:00", 1, P.WEEK),
    ],
)
def test_add_out_of_range_raises(start: str, amount: int, unit: Precision) -> None:
    with pytest.raises(InvalidTemporalValue):
        ta.add(lit(start), amount, unit)


@pytest.mark.parametrize(
    ("value", "succ", "pred"),
    [
        ("@2000-01-01T", "@2000-01-02T", "@1999-12-31T"),
        ("@T12:00:00.000", "@T12:00:00.001", "@T11:59:59.999"),
        ("@2014", "@2015", "@2013"),
        ("@2014-12", "@2015-01", "@2014-11"),
        ("@2014-03-01T10:00", "@2014-03-01T10:01", "@2014-03-01T09:59"),
    ],
)
def test_successor_predecessor(value: str, succ: str, pred: str) -> None:
    assert ta.successor(lit(value)) == lit(succ)
    assert ta.predecessor(lit(value)) == lit(pred)


@pytest.mark.parametrize(
    ("func", "value"),
    [
        (ta.predecessor, "@0001-01-01T00:00:00.000"),
        (ta.predecessor, "@T00:00:00.000"),
        (ta.successor, "@9999-12-31T23:59:59.999"),
        (ta.successor, "@T23:59:59.999"),
        (ta.successor, "@9999"),
    ],
)
def test_step_overflow_raises(func: object, value: str) -> None:
    with pytest.raises(InvalidTemporalValue):
        func(lit(value))  # type: ignore[operator]


def test_min_and_max_values() -> None:
    assert ta.min_value(DateTime).to_cql() == "@0001-01-01T00:00:00.000+00:00"
    assert ta.max_value(DateTime).to_cql() == "@9999-12-31T23:59:59.999+00:00"
    assert ta.min_value(Date).to_cql() == "@0001-01-01"
    assert ta.max_value(Date).to_cql() == "@9999-12-31"
    assert ta.min_value(Time).to_cql() == "@T00:00:00.000"
    assert ta.max_value(Time).to_cql() == "@T23:59:59.999"


@pytest.mark.parametrize(
    ("value", "digits"),
    [
        ("@2014", 4),
        ("@2014-01-05T10:30:00.000", 17),
        ("@2014-01-05T10:30", 12),
        ("@T10:30", 4),
        ("@T10:30:00.000", 9),
        ("@2014-01-05", 8),
    ],
)
def test_precision_digits(value: str, digits: int) -> None:
    assert ta.precision_digits(lit(value)) == digits


@pytest.mark.parametrize(
    ("func", "value", "digits", "expected"),
    [
        (ta.low_boundary, "@2014", 6, "@2014-01"),
        (ta.high_boundary, "@2014", 6, "@2014-12"),
        (ta.high_boundary, "@2016-02", 8, "@2016-02-29"),
        (ta.high_boundary, "@2014", None, "@2014-12-31"),
        (ta.low_boundary, "@2014-01-01T08", 17, "@2014-01-01T08:00:00.000"),
        (ta.high_boundary, "@2014-01-01T08", 17, "@2014-01-01T08:59:59.999"),
        (ta.high_boundary, "@2014T", 17, "@2014-12-31T23:59:59.999"),
        (ta.low_boundary, "@T10:30", 9, "@T10:30:00.000"),
        (ta.high_boundary, "@T10:30", 9, "@T10:30:59.999"),
        (ta.high_boundary, "@T10:30", 2, "@T10"),
    ],
)
def test_boundaries(func: object, value: str, digits: int | None, expected: str) -> None:
    assert func(lit(value), digits) == lit(expected)  # type: ignore[operator]


def test_boundary_rejects_bad_digits() -> None:
    with pytest.raises(InvalidTemporalValue):
        ta.low_boundary(lit("@2014"), 5)


@pytest.mark.parametrize(
    ("value", "offset", "expected"),
    [
        ("@2012-03-10T08:20:00.999+06:00", 420, "@2012-03-10T09:20:00.999+07:00"),
        ("@2012-03-10T23:30+00:00", 60, "@2012-03-11T00:30+01:00"),
        ("@2012-03-10T+00:00", 60, "@2012-03-10T+01:00"),
        ("@2012-03-10T10:00", 60, "@2012-03-10T10:00"),
    ],
)
def test_normalize_to(value: str, offset: int, expected: str) -> None:
    dt = lit(value)
    assert isinstance(dt, DateTime)
    assert ta.normalize_to(dt, offset) == lit(expected)
