"""Duration and difference between temporal values, with uncertainty intervals."""

from __future__ import annotations

import pytest

from davinci_pa.cql.values import temporal_between as tb
from davinci_pa.cql.values.temporal import InvalidTemporalValue, Precision
from davinci_pa.cql.values.temporal_between import Uncertainty
from tests.cql.test_temporal import lit

P = Precision
U = Uncertainty


@pytest.mark.parametrize(
    ("unit", "left", "right", "expected"),
    [
        (P.YEAR, "@2005T", "@2010T", U(4, 5)),
        (P.YEAR, "@2005-05T", "@2010-04T", 4),
        (P.MONTH, "@2014-01-31", "@2014-02-01", 0),
        (P.DAY, "@2010-10-12T12:05", "@2008-08-15T08:08", -788),
        (P.DAY, "@2014-01-15T", "@2014-02T", U(16, 44)),
        (P.DAY, "@2015-02-10T", "@2015-03T", U(18, 49)),
        (P.MONTH, "@2005T", "@2006-05T", U(4, 16)),
        (P.MONTH, "@2005T", "@2006-07T", U(6, 18)),
        (P.MONTH, "@2005T", "@2006-02T", U(1, 13)),
        (P.YEAR, "@2012-03-10", "@2013-03-10", 1),
        (P.YEAR, "@2012-03-10T10:20:00", "@2013-03-10T09:20:00", 0),
        (P.WEEK, "@2012-03-10T22:05:09", "@2012-03-20T07:19:33", 1),
        (P.WEEK, "@2012-03-10T22:05:09", "@2012-03-24T07:19:33", 1),
        (P.WEEK, "@2012-03-10T06:05:09", "@2012-03-24T07:19:33", 2),
        (P.HOUR, "@T20:26:15.555", "@T23:25:15.555", 2),
        (P.MINUTE, "@T23:20:16.555", "@T23:25:15.555", 4),
        (P.SECOND, "@T23:25:10.556", "@T23:25:15.555", 4),
        (P.MILLISECOND, "@T23:25:25.555", "@T23:25:25.560", 5),
        (P.HOUR, "@2017-03-12T01:00:00-07:00", "@2017-03-12T03:00:00-06:00", 1),
        (P.MINUTE, "@2017-11-05T01:30:00-06:00", "@2017-11-05T01:15:00-07:00", 45),
        (P.DAY, "@2017-03-12T00:00:00-07:00", "@2017-03-13T00:00:00-06:00", 0),
        (P.MONTH, "@2014-01-31T10:00:00", "@2014-02-28T10:00:00", 1),
        (P.MONTH, "@2014-01-31T10:00", "@2014-02-28T10:00", U(0, 1)),
        (P.MONTH, "@2014-01-31T10:00", "@2014-02-28T09:59", 0),
        (P.YEAR, "@2012-02-29", "@2013-02-28", 1),
        (P.YEAR, "@2013-03-10", "@2012-03-10", -1),
        (P.MONTH, "@2014-03-31", "@2014-02-28", -1),
        (P.SECOND, "@2014-01-01T00:00:00", "@2014-01-01T00:00:01", 1),
        (P.MILLISECOND, "@2014-01-01T00:00:00", "@2014-01-01T00:00:01.000", U(1, 1000)),
        (P.DAY, "@2014-01-01", "@2014-01-01T12:00", 0),
    ],
)
def test_duration_between(unit: Precision, left: str, right: str, expected: object) -> None:
    assert tb.duration_between(lit(left), lit(right), unit) == expected


@pytest.mark.parametrize(
    ("unit", "left", "right", "expected"),
    [
        (P.YEAR, "@2000T", "@2005-12T", 5),
        (P.MONTH, "@2000-02T", "@2000-10T", 8),
        (P.DAY, "@2000-10-15T10:30", "@2000-10-25T10:00", 10),
        (P.HOUR, "@2000-04-01T12", "@2000-04-01T20", 8),
        (P.MINUTE, "@2005-12-10T05:16", "@2005-12-10T05:25", 9),
        (P.SECOND, "@2000-10-10T10:05:45", "@2000-10-10T10:05:50", 5),
        (
            P.MILLISECOND,
            "@2000-10-10T10:05:45.500-06:00",
            "@2000-10-10T10:05:45.900-07:00",
            3600400,
        ),
        (P.WEEK, "@2000-10-15T", "@2000-10-28T", 1),
        (P.WEEK, "@2000-10-15T", "@2000-10-29T", 2),
        (P.WEEK, "@2012-03-10T22:05:09", "@2012-03-24T07:19:33", 2),
        (P.YEAR, "@2016T", "@1998T", -18),
        (P.MONTH, "@2005T", "@2006-07T", U(7, 18)),
        (P.HOUR, "@T20", "@T23:25:15.555", 3),
        (P.MINUTE, "@T20:20:15.555", "@T20:25:15.555", 5),
        (P.MILLISECOND, "@T20:20:15.555", "@T20:20:15.550", -5),
        (P.HOUR, "@2017-03-12T01:00:00-07:00", "@2017-03-12T03:00:00-06:00", 1),
        (P.MINUTE, "@2017-11-05T01:30:00-06:00", "@2017-11-05T01:15:00-07:00", 45),
        (P.DAY, "@2017-03-12T00:00:00-07:00", "@2017-03-13T00:00:00-06:00", 1),
        (P.DAY, "@2012-01-01T23:59:59.999", "@2012-01-02T00:00:00.000", 1),
        (P.YEAR, "@2012-12-31", "@2013-01-01", 1),
    ],
)
def test_difference_between(unit: Precision, left: str, right: str, expected: object) -> None:
    assert tb.difference_between(lit(left), lit(right), unit) == expected


@pytest.mark.parametrize(
    ("unit", "left", "right"),
    [
        (P.DAY, "@T10", "@T11"),
        (P.WEEK, "@T10", "@T11"),
        (P.HOUR, "@2014-01-01", "@2014-01-02"),
        (P.DAY, "@T10", "@2014T"),
    ],
)
def test_invalid_units_raise(unit: Precision, left: str, right: str) -> None:
    with pytest.raises(InvalidTemporalValue):
        tb.duration_between(lit(left), lit(right), unit)


def test_uncertainty_arithmetic() -> None:
    days = U(16, 44)
    months = U(4, 16)
    assert days + days == U(32, 88)
    assert days - months == U(0, 40)
    assert days * days == U(256, 1936)
    assert 1 + days == U(17, 45)
    assert 50 - days == U(6, 34)
    assert 2 * days == U(32, 88)


@pytest.mark.parametrize(
    ("func", "left", "right", "expected"),
    [
        (tb.uncertain_greater, U(6, 18), 5, True),
        (tb.uncertain_greater, U(1, 13), 5, None),
        (tb.uncertain_greater, U(6, 18), 25, False),
        (tb.uncertain_less, U(6, 18), 24, True),
        (tb.uncertain_equal, U(6, 18), 24, False),
        (tb.uncertain_equal, U(6, 18), 10, None),
        (tb.uncertain_equal, 5, 5, True),
        (tb.uncertain_equal, U(1, 2), U(1, 2), None),
        (tb.uncertain_greater_or_equal, U(6, 18), 5, True),
        (tb.uncertain_greater_or_equal, U(6, 18), 6, True),
        (tb.uncertain_less_or_equal, U(6, 18), 24, True),
        (tb.uncertain_less_or_equal, U(6, 18), 18, True),
        (tb.uncertain_less_or_equal, U(6, 18), 5, False),
        (tb.uncertain_less, U(6, 18), 6, False),
        (tb.uncertain_less, U(6, 18), 10, None),
    ],
)
def test_uncertainty_comparisons(
    func: object, left: U | int, right: U | int, expected: bool | None
) -> None:
    assert func(left, right) is expected  # type: ignore[operator]


def test_uncertain_compare() -> None:
    assert tb.uncertain_compare(U(1, 2), U(3, 4)) == -1
    assert tb.uncertain_compare(U(3, 4), U(1, 2)) == 1
    assert tb.uncertain_compare(U(1, 3), U(3, 4)) is None


@pytest.mark.parametrize(
    ("birth", "as_of", "unit", "expected"),
    [
        ("@2000-02-29", "@2018-02-28", P.YEAR, 18),
        ("@2000-02-29", "@2018-02-27", P.YEAR, 17),
        ("@2010-06-15", "@2018-02-28", P.MONTH, 92),
        ("@2000-02-29T10:00", "@2018-02-28T09:00", P.YEAR, 17),
        ("@2000", "@2018-02-28", P.YEAR, U(17, 18)),
    ],
)
def test_calculate_age(birth: str, as_of: str, unit: Precision, expected: object) -> None:
    assert tb.calculate_age(lit(birth), lit(as_of), unit) == expected  # type: ignore[arg-type]
