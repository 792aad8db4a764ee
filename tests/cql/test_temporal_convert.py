"""Temporal conversions, selectors, component extraction and clock functions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from davinci_pa.cql.values import temporal_compare as tc
from davinci_pa.cql.values import temporal_convert as cv
from davinci_pa.cql.values.temporal import Date, DateTime, InvalidTemporalValue, Precision, Time
from tests.cql.test_temporal import lit

P = Precision


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2014-01-01", "@2014-01-01T"),
        ("2014-01-01T12:05", "@2014-01-01T12:05"),
        ("2014-01-01T12:05:05.955", "@2014-01-01T12:05:05.955"),
        ("2014-01-01T12:05:05.955+01:30", "@2014-01-01T12:05:05.955+01:30"),
        ("2014-01-01T12:05:05.955-01:15", "@2014-01-01T12:05:05.955-01:15"),
        ("2014-01-01T12:05:05.955Z", "@2014-01-01T12:05:05.955+00:00"),
    ],
)
def test_to_datetime_from_string(text: str, expected: str) -> None:
    assert cv.to_datetime(text) == lit(expected)


@pytest.mark.parametrize("text", ["2014/01/01T12:05:05.955Z", "2014/01/01", "", "2014-02-30"])
def test_to_datetime_malformed_is_null(text: str) -> None:
    assert cv.to_datetime(text) is None


def test_to_datetime_from_date_and_default_offset() -> None:
    converted = cv.to_datetime(Date.of(2014, 1, 1), default_offset=-300)
    assert converted == DateTime.of(2014, 1, 1, offset=-300)
    assert converted is not None
    assert converted.hour is None
    assert cv.to_datetime(Date.of(2014, 1), default_offset=-300) == DateTime.of(2014, 1)
    assert cv.to_datetime("2014-01-01T10:00", default_offset=60) == DateTime.of(
        2014, 1, 1, 10, 0, offset=60
    )
    value = DateTime.of(2014)
    assert cv.to_datetime(value) is value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2014-01-01", Date.of(2014, 1, 1)),
        ("2014-01", Date.of(2014, 1)),
        ("2014-01-01T12:05:00Z", Date.of(2014, 1, 1)),
        ("2014/01/01", None),
        (DateTime.of(2014, 3, 4, 10), Date.of(2014, 3, 4)),
    ],
)
def test_to_date(value: str | DateTime, expected: Date | None) -> None:
    assert cv.to_date(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("T14:30:00.0", "@T14:30:00.000"),
        ("T14:30:00.0+05:30", "@T14:30:00.000"),
        ("T14:30:00.0-05:45", "@T14:30:00.000"),
        ("T14:30:00.0Z", "@T14:30:00.000"),
        ("14:30", "@T14:30"),
    ],
)
def test_to_time(text: str, expected: str) -> None:
    assert cv.to_time(text) == lit(expected)


def test_to_time_malformed_is_null() -> None:
    assert cv.to_time("T14-30-00.0") is None
    value = Time.of(1)
    assert cv.to_time(value) is value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("@2014-01-01T12:05:05.955+01:30", "2014-01-01T12:05:05.955+01:30"),
        ("@2014-01-01T", "2014-01-01"),
        ("@2014-01", "2014-01"),
        ("@T10:30:00.000", "10:30:00.000"),
    ],
)
def test_to_string(value: str, text: str) -> None:
    assert cv.to_string(lit(value)) == text


def test_datetime_selector() -> None:
    value = cv.datetime_selector(2003, 10, 29, 20, 50, 33, 955, Decimal("1"))
    assert value is not None
    assert value.to_cql() == "@2003-10-29T20:50:33.955+01:00"
    assert cv.timezone_offset_from(value) == Decimal("1.00")
    dst = cv.datetime_selector(2017, 3, 12, 1, 0, 0, 0, Decimal("-7.0"))
    assert dst is not None
    assert dst.to_cql() == "@2017-03-12T01:00:00.000-07:00"
    half = cv.datetime_selector(2014, 1, 1, 0, 0, 0, 0, Decimal("5.5"))
    assert half is not None
    assert half.offset == 330
    defaulted = cv.datetime_selector(2014, 1, 1, default_offset=-240)
    assert defaulted is not None
    assert defaulted.offset == -240
    assert cv.datetime_selector(None) is None
    assert cv.datetime_selector(2001, 1, 1, None) == cv.datetime_selector(2001, 1, 1, None, None)


@pytest.mark.parametrize(
    "args",
    [
        (10000, 12, 31, 23, 59, 59, 999),
        (0, 1, 1, 0, 0, 0, 0),
        (2014, 1, 1, 0, 0, 0, 0, Decimal("1.01")),
        (2014, None, 1),
    ],
)
def test_datetime_selector_rejects(args: tuple[object, ...]) -> None:
    with pytest.raises(InvalidTemporalValue):
        cv.datetime_selector(*args)  # type: ignore[arg-type]


def test_date_and_time_selectors() -> None:
    assert cv.date_selector(2014, 6) == Date.of(2014, 6)
    assert cv.date_selector(None) is None
    assert cv.time_selector(12, 30) == Time.of(12, 30)
    assert cv.time_selector(None) is None
    with pytest.raises(InvalidTemporalValue):
        cv.time_selector(24)


@pytest.mark.parametrize(
    ("precision", "expected"),
    [
        (P.YEAR, 2003),
        (P.MONTH, 10),
        (P.DAY, 29),
        (P.HOUR, 20),
        (P.MINUTE, 50),
        (P.SECOND, 33),
        (P.MILLISECOND, 955),
    ],
)
def test_component_from(precision: Precision, expected: int) -> None:
    value = DateTime.of(2003, 10, 29, 20, 50, 33, 955, offset=60)
    assert cv.component_from(value, precision) == expected


def test_component_extraction_edges() -> None:
    assert cv.component_from(lit("@2015-02-10T"), P.HOUR) is None
    assert cv.component_from(lit("@T23:20:15.555"), P.MILLISECOND) == 555
    assert cv.component_from(lit("@T23:20:15.555"), P.YEAR) is None
    assert cv.timezone_offset_from(DateTime.of(2014)) is None
    assert cv.timezone_offset_from(DateTime.of(2014, offset=-90)) == Decimal("-1.5")
    assert cv.date_from(DateTime.of(2003, 10, 29, 20, offset=60)) == Date.of(2003, 10, 29)
    assert cv.date_from(DateTime.of(2003)) == Date.of(2003)
    assert cv.time_from(DateTime.of(2003, 10, 29, 20, 50)) == Time.of(20, 50)
    assert cv.time_from(DateTime.of(2003, 10, 29)) is None


def test_clock_functions() -> None:
    moment = dt.datetime(
        2024, 2, 29, 23, 30, 15, 123456, tzinfo=dt.timezone(dt.timedelta(hours=-5))
    )
    ts = cv.evaluation_timestamp(moment)
    assert ts.to_cql() == "@2024-02-29T23:30:15.123-05:00"
    assert cv.now(ts) is ts
    assert cv.today(ts) == Date.of(2024, 2, 29)
    assert cv.time_of_day(ts) == Time.of(23, 30, 15, 123)
    assert tc.equal(cv.today(ts), cv.today(ts)) is True
    with pytest.raises(InvalidTemporalValue):
        cv.evaluation_timestamp(dt.datetime(2024, 1, 1))  # noqa: DTZ001
    with pytest.raises(InvalidTemporalValue):
        cv.time_of_day(DateTime.of(2024, 1, 1))
