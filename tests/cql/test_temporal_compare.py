"""Three-valued temporal comparisons, many cases taken from the CQL conformance suite."""

from __future__ import annotations

import pytest

from davinci_pa.cql.values import temporal_compare as tc
from davinci_pa.cql.values.temporal import InvalidTemporalValue, Precision
from tests.cql.test_temporal import lit

P = Precision


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("@2014-01-05T05:00:00.000+00:00", "@2014-01-05T05:00:00.000+00:00", True),
        ("@2014-01-05T05:00:00.000", "@2014-07-05T05:00:00.000", False),
        ("@2015-01-05T05:00:00", "@2015-01-05T05:00:00", True),
        ("@2001-01-01T", "@2001-01-01T", True),
        ("@2014-01-25T14:30:14.559+01:00", "@2014-01-25T13:30:14.559Z", True),
        ("@2014T", "@2014-02-15T", None),
        ("@2014-10T", "@2014-11-12T", False),
        ("@2014-01-25T14:30:14+01:00", "@2014-01-25T13:30:14.000Z", True),
        ("@2014-01-25T14:30:14+01:00", "@2014-01-25T13:30:14.001Z", False),
        ("@2014-01-25T14:30+01:00", "@2014-01-25T13:30Z", True),
        ("@2014-01-25T14:30+01:00", "@2014-01-25T13:30:00Z", None),
        ("@2014-01-25T14+01:00", "@2014-01-25T13Z", True),
        ("@T10:00:00.000", "@T10:00:00.000", True),
        ("@T10:00:00.000", "@T22:00:00.000", False),
        ("@T10:00:00", "@T10:00:00.000", True),
        ("@T10:00:00", "@T10:00:00.001", False),
        ("@T10", "@T10:00", None),
        ("@2014-01-01", "@2014-01-01", True),
        ("@2014-01", "@2014-01-01", None),
        ("@2014-01-01", "@2014-01-01T", True),
    ],
)
def test_equal(left: str, right: str, expected: bool | None) -> None:
    assert tc.equal(lit(left), lit(right)) is expected


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("@2014T", "@2014-02-15T", False),
        ("@2014T", "@2014T", True),
        ("@T10:00:00", "@T10:00:00.000", True),
        ("@2014-01-25T14:30:14.559+01:00", "@2014-01-25T13:30:14.559Z", True),
        ("@T10:00:00.000", "@T22:00:00.000", False),
    ],
)
def test_equivalent(left: str, right: str, expected: bool) -> None:
    assert tc.equivalent(lit(left), lit(right)) is expected


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("@2012-02-12T", "@2012-02-10T", 1),
        ("@2012-02-12T", "@2012-02-13T", -1),
        ("@T10:00:00.001", "@T10:00:00.000", 1),
        ("@2014T", "@2014-02-15T", None),
        ("@2015T", "@2014-02-15T", 1),
        ("@2013T", "@2014-02-15T", -1),
        ("@2012-02-12T00:00:00.000", "@2012-02-12T00:00:00.000", 0),
        ("@2012-03-10T10:20:00.999+07:00", "@2012-03-10T09:20:00.999+06:00", 0),
        ("@2012-03-10T10:20:00.999+07:00", "@2012-03-10T08:20:00.999+06:00", 1),
        ("@2012-03-10T10:20:00.999+07:00", "@2012-03-10T04:20:00.999+01:00", 0),
        ("@2016-01-01T00:00+00:00", "@2015-12-31T23:00-02:00", -1),
        ("@T10", "@T11:30", -1),
    ],
)
def test_compare(left: str, right: str, expected: int | None) -> None:
    assert tc.compare(lit(left), lit(right)) == expected


@pytest.mark.parametrize(
    ("func", "left", "right", "expected"),
    [
        (tc.less, "@2014T", "@2014-02-15T", None),
        (tc.less, "@2013T", "@2014-02-15T", True),
        (tc.less, "@2015T", "@2014-02-15T", False),
        (tc.less_or_equal, "@2014T", "@2014-02-15T", None),
        (tc.less_or_equal, "@2013T", "@2014-02-15T", True),
        (tc.less_or_equal, "@T10:00:00.000", "@T10:00:00.000", True),
        (tc.greater, "@2014T", "@2014-02-15T", None),
        (tc.greater, "@2015T", "@2014-02-15T", True),
        (tc.greater, "@2013T", "@2014-02-15T", False),
        (tc.greater_or_equal, "@2015T", "@2014-02-15T", True),
        (tc.greater_or_equal, "@2012-02-12T", "@2012-02-12T", True),
        (tc.greater_or_equal, "@2012-02-12T", "@2012-02-13T", False),
    ],
)
def test_ordering(func: object, left: str, right: str, expected: bool | None) -> None:
    assert func(lit(left), lit(right)) is expected  # type: ignore[operator]


@pytest.mark.parametrize(
    ("func", "left", "precision", "right", "expected"),
    [
        (tc.after, "@2005-10-10T", P.YEAR, "@2004-10-10T", True),
        (tc.after, "@2004-11-10T", P.YEAR, "@2004-10-10T", False),
        (tc.after, "@2004-12-09T", P.DAY, "@2003-10-10T", True),
        (tc.after, "@2004-10-10T20:30:15.512", P.MILLISECOND, "@2004-10-10T20:30:15.510", True),
        (tc.after, "@2005-10-10T", P.DAY, "@2005-09T", True),
        (
            tc.after,
            "@2012-03-10T10:20:00.999+07:00",
            P.HOUR,
            "@2012-03-10T08:20:00.999+06:00",
            True,
        ),
        (
            tc.after,
            "@2012-03-10T10:20:00.999+07:00",
            P.HOUR,
            "@2012-03-10T10:20:00.999+06:00",
            False,
        ),
        (tc.after, "@T15:59:59.999", P.HOUR, "@T14:59:59.999", True),
        (tc.after, "@T12:30", P.HOUR, "@T11:55", True),
        (tc.after, "@T15:58:59.999", P.MINUTE, "@T15:59:59.999", False),
        (tc.before, "@2003T", P.YEAR, "@2004-10-10T", True),
        (tc.before, "@2003-10-11T", P.DAY, "@2004-10-10T", True),
        (tc.before, "@2004-10-11T", P.DAY, "@2004-10-10T", False),
        (
            tc.before,
            "@2012-03-10T10:20:00.999+07:00",
            P.HOUR,
            "@2012-03-10T10:20:00.999+06:00",
            True,
        ),
        (
            tc.before,
            "@2012-03-10T10:20:00.999+07:00",
            P.HOUR,
            "@2012-03-10T09:20:00.999+06:00",
            False,
        ),
        (tc.before, "@T15:59:59.999", P.MINUTE, "@T15:59:59.999", False),
        (tc.before, "@2014T", None, "@2015-01-01T", True),
        (tc.before, "@2014T", None, "@2014-01-01T", None),
        (tc.after, "@2014-01T", P.YEAR, "@2014-05T", False),
        (tc.same_as, "@2014T", P.YEAR, "@2014T", True),
        (tc.same_as, "@2013T", P.YEAR, "@2014T", False),
        (tc.same_as, "@2014-10-10T20:55:45.500", P.MILLISECOND, "@2014-10-10T21:55:45.501", False),
        (tc.same_as, "@2014-10T", P.DAY, "@2014-10-12T", None),
        (tc.same_as, "@2014-10T", P.DAY, "@2014-11-12T", False),
        (
            tc.same_as,
            "@2012-03-10T10:20:00.999+07:00",
            P.HOUR,
            "@2012-03-10T09:20:00.999+06:00",
            True,
        ),
        (
            tc.same_as,
            "@2012-03-10T10:20:00.999+07:00",
            P.HOUR,
            "@2012-03-10T10:20:00.999+06:00",
            False,
        ),
        (tc.same_as, "@2022-02-22T00:00:00.000-05:00", P.DAY, "@2022-02-22T04:59:00.000Z", True),
        (tc.same_as, "@T23:55:25.555", P.SECOND, "@T23:55:25.900", True),
        (tc.same_as, "@T23:25:25.555", P.MILLISECOND, "@T23:25:25.554", False),
        (tc.same_as, "@T23:25:25", P.MILLISECOND, "@T23:25:25.000", None),
        (tc.same_as, "@2014-12-10", P.DAY, "@2014-12-10T", True),
        (tc.same_or_after, "@2016T", P.YEAR, "@2014T", True),
        (tc.same_or_after, "@2013T", P.YEAR, "@2014T", False),
        (tc.same_or_after, "@2014-12-20T", P.DAY, "@2014-12T", None),
        (tc.same_or_after, "@T23:25:25.555", P.HOUR, "@T23:55:25.900", True),
        (tc.same_or_after, "@2017-12-21T02:00:00.0", None, "@2017-12-20T11:00:00.0", True),
        (tc.same_or_after, "@2017-12-20T11:00:00.000", None, "@2017-12-20T11:00:00.000", True),
        (tc.same_or_before, "@2013T", P.YEAR, "@2014T", True),
        (tc.same_or_before, "@2015T", P.YEAR, "@2014T", False),
        (tc.same_or_before, "@2014-12-20T", P.MINUTE, "@2014-12-20T15", None),
        (
            tc.same_or_before,
            "@2012-03-10T09:20:00.999+07:00",
            P.HOUR,
            "@2012-03-10T10:20:00.999+06:00",
            True,
        ),
        (
            tc.same_or_before,
            "@2012-03-10T10:20:00.999+06:00",
            P.HOUR,
            "@2012-03-10T10:20:00.999+07:00",
            False,
        ),
        (tc.same_or_before, "@T23:10:25.555", P.MINUTE, "@T22:15:25.900", False),
        (tc.same_or_before, "@T23:25:25.200", P.MILLISECOND, "@T22:25:25.550", False),
    ],
)
def test_precision_comparisons(
    func: object, left: str, precision: Precision | None, right: str, expected: bool | None
) -> None:
    assert func(lit(left), lit(right), precision) is expected  # type: ignore[operator]


@pytest.mark.parametrize(
    ("left", "right", "precision"),
    [
        ("@T10", "@2014T", None),
        ("@2014-01-01", "@2014-01-01", P.HOUR),
        ("@T10", "@T10", P.DAY),
        ("@2014T", "@2014T", P.WEEK),
    ],
)
def test_invalid_comparisons_raise(left: str, right: str, precision: Precision | None) -> None:
    with pytest.raises(InvalidTemporalValue):
        tc.same_as(lit(left), lit(right), precision)


def test_unknown_offset_is_taken_as_the_other() -> None:
    assert tc.equal(lit("@2014-01-01T10:00"), lit("@2014-01-01T10:00+05:00")) is True
