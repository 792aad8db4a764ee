"""Construction, parsing and rendering of CQL Date, DateTime and Time values."""

from __future__ import annotations

import pytest

from davinci_pa.cql.values.temporal import (
    Date,
    DateTime,
    InvalidTemporalValue,
    Precision,
    Time,
    parse_date,
    parse_datetime,
    parse_precision,
    parse_time,
)
from davinci_pa.errors import CqlEvaluationError


@pytest.mark.parametrize(
    ("text", "parts", "offset", "iso", "cql"),
    [
        ("@2014T", (2014,), None, "2014", "@2014T"),
        ("@2014-01T", (2014, 1), None, "2014-01", "@2014-01T"),
        ("2014-01-01", (2014, 1, 1), None, "2014-01-01", "@2014-01-01T"),
        ("@2012-03-10T10", (2012, 3, 10, 10), None, "2012-03-10T10", "@2012-03-10T10"),
        ("@2012-03-10T10:20:00", (2012, 3, 10, 10, 20, 0), None, None, None),
        (
            "@2014-01-25T14:30:14.559+01:00",
            (2014, 1, 25, 14, 30, 14, 559),
            60,
            "2014-01-25T14:30:14.559+01:00",
            None,
        ),
        ("2014-01-01T12:05:05.955-01:15", (2014, 1, 1, 12, 5, 5, 955), -75, None, None),
        ("2014-01-01T12:05:05.955Z", (2014, 1, 1, 12, 5, 5, 955), 0, None, None),
        (
            "2017-12-21T02:00:00.0",
            (2017, 12, 21, 2, 0, 0, 0),
            None,
            "2017-12-21T02:00:00.000",
            None,
        ),
        ("2015-02-04T14:34:28.1234567+05:00", (2015, 2, 4, 14, 34, 28, 123), 300, None, None),
        ("2014-01-01T+05:00", (2014, 1, 1), 300, "2014-01-01", None),
    ],
)
def test_parse_datetime(
    text: str, parts: tuple[int, ...], offset: int | None, iso: str | None, cql: str | None
) -> None:
    value = parse_datetime(text)
    assert value.parts == parts
    assert value.offset == offset
    if iso is not None:
        assert value.to_iso() == iso
    if cql is not None:
        assert value.to_cql() == cql


def test_default_offset_applies_only_when_text_has_none() -> None:
    assert parse_datetime("2014-01-01T10:00", default_offset=-300).offset == -300
    assert parse_datetime("2014-01-01T10:00Z", default_offset=-300).offset == 0
    assert parse_datetime("2014", default_offset=60).to_iso() == "2014"


@pytest.mark.parametrize(
    "text",
    [
        "2014/01/01",
        "2014-13-01",
        "2014-02-29",
        "2014-01-01T25:00",
        "2014-01-01T10:60",
        "2014-01-01T10:00:61",
        "2014T10:00",
        "0000-01-01",
        "10000-01-01",
        "2014-01-01T10:00+15:00",
        "2014-01-01T10:00 junk",
        "",
    ],
)
def test_parse_datetime_rejects(text: str) -> None:
    with pytest.raises(InvalidTemporalValue):
        parse_datetime(text)


def test_errors_are_cql_evaluation_errors() -> None:
    with pytest.raises(CqlEvaluationError, match="day 30 does not exist"):
        DateTime.of(2015, 2, 30)


@pytest.mark.parametrize(
    ("text", "parts", "cql"),
    [
        ("@T23:59:59.999", (23, 59, 59, 999), "@T23:59:59.999"),
        ("@T23:59:59.10000", (23, 59, 59, 100), "@T23:59:59.100"),
        ("T14:30:00.0", (14, 30, 0, 0), "@T14:30:00.000"),
        ("T14:30:00.0+05:30", (14, 30, 0, 0), "@T14:30:00.000"),
        ("T14:30:00.0Z", (14, 30, 0, 0), "@T14:30:00.000"),
        ("10:30", (10, 30), "@T10:30"),
        ("@T06", (6,), "@T06"),
    ],
)
def test_parse_time(text: str, parts: tuple[int, ...], cql: str) -> None:
    value = parse_time(text)
    assert value.parts == parts
    assert value.to_cql() == cql


@pytest.mark.parametrize("text", ["T14-30-00.0", "@T24:59:59.999", "@T23:60:59", "@T23:59:60", "x"])
def test_parse_time_rejects(text: str) -> None:
    with pytest.raises(InvalidTemporalValue):
        parse_time(text)


@pytest.mark.parametrize(
    ("text", "parts"),
    [("2014", (2014,)), ("@2014-06", (2014, 6)), ("2024-02-29", (2024, 2, 29))],
)
def test_parse_date(text: str, parts: tuple[int, ...]) -> None:
    assert parse_date(text).parts == parts


@pytest.mark.parametrize("text", ["2023-02-29", "2014-1-1", "2014-01-01T", "14"])
def test_parse_date_rejects(text: str) -> None:
    with pytest.raises(InvalidTemporalValue):
        parse_date(text)


def test_selectors_and_components() -> None:
    value = DateTime.of(2003, 10, 29, 20, 50, 33, 955, offset=60)
    assert (value.year, value.month, value.day) == (2003, 10, 29)
    assert (value.hour, value.minute, value.second, value.millisecond) == (20, 50, 33, 955)
    assert value.precision == Precision.MILLISECOND
    partial = DateTime.of(2001, 1, 1, None, None)
    assert partial.precision == Precision.DAY
    assert partial.hour is None
    assert Date.of(2014, 6).day is None
    assert Time.of(10, 30).precision == Precision.MINUTE
    assert Time.of(10, 30).component(Precision.DAY) is None
    assert value.component(Precision.WEEK) is None


@pytest.mark.parametrize(
    "build",
    [
        lambda: DateTime.of(2001, None, 1),
        lambda: Time.of(10, None, 5),
        lambda: DateTime.of(10000, 12, 31),
        lambda: DateTime.of(0, 1, 1),
        lambda: Date.of(2015, 0),
        lambda: Time.of(24),
        lambda: DateTime.of(2014, 1, 1, offset=15 * 60),
    ],
)
def test_selectors_reject_invalid_components(build: object) -> None:
    with pytest.raises(InvalidTemporalValue):
        build()  # type: ignore[operator]


def test_values_are_immutable_and_hashable() -> None:
    value = DateTime.of(2014, 1, 1, offset=0)
    with pytest.raises(AttributeError):
        value.parts = (2015,)  # type: ignore[misc]
    assert len({value, DateTime.of(2014, 1, 1, offset=0), DateTime.of(2014, 1, 1, offset=60)}) == 2


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Year", Precision.YEAR),
        ("months", Precision.MONTH),
        ("Week", Precision.WEEK),
        ("days", Precision.DAY),
        ("Millisecond", Precision.MILLISECOND),
        ("a", Precision.YEAR),
        ("mo", Precision.MONTH),
        ("wk", Precision.WEEK),
        ("min", Precision.MINUTE),
        ("ms", Precision.MILLISECOND),
        ("s", Precision.SECOND),
    ],
)
def test_parse_precision(name: str, expected: Precision) -> None:
    assert parse_precision(name) is expected


def test_parse_precision_rejects_unknown() -> None:
    with pytest.raises(InvalidTemporalValue):
        parse_precision("fortnight")


def lit(text: str) -> Date | DateTime | Time:
    """Test helper: ``@T..`` is a Time, text containing ``T`` a DateTime, else a Date."""
    if text.startswith("@T"):
        return parse_time(text)
    if "T" in text:
        return parse_datetime(text)
    return parse_date(text)


@pytest.mark.parametrize(
    ("text", "kind"), [("@T10", Time), ("@2014T", DateTime), ("@2014-01-01", Date)]
)
def test_lit_helper(text: str, kind: type) -> None:
    assert type(lit(text)) is kind
