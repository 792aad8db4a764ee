"""Unit handling behind :mod:`davinci_pa.cql.values.quantity`.

CQL Author's Guide §"Quantities" (calendar durations vs UCUM definite durations) and UCUM
§"Algebraic Unit Terms":

- :data:`CALENDAR` maps calendar keywords (singular and plural) to their singular form and
  :data:`UCUM_FOR` a keyword to its UCUM counterpart (``day`` -> ``d``, ``year`` -> ``a``).
- :func:`align` expresses a quantity's value in another unit. With ``exact=True`` (``=``,
  ordering, arithmetic, conversion) calendar years and months only convert to each other
  (12 months a year) and never to UCUM 'a'/'mo' or to days, which would be uncertain. With
  ``exact=False`` (``~``) a calendar year is 1 'a', 12 months, or 365 days, and a month 1 'mo'
  or 30 days. Keywords of a week or less are their UCUM counterparts either way.
- :func:`combine` multiplies (``sign=1``) or divides (``sign=-1``) two unit expressions at the
  symbol level, cancelling equal symbols: ``g/cm3`` times ``cm3`` is ``g``, ``cm`` times ``cm``
  is ``cm2``, a unit divided by itself is ``1``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Protocol

from davinci_pa.cql import ucum

__all__ = [
    "CALENDAR",
    "UCUM_FOR",
    "UCUM_TIME_UNITS",
    "align",
    "combine",
    "is_calendar",
    "is_known_unit",
]

UCUM_FOR = {
    "year": "a",
    "month": "mo",
    "week": "wk",
    "day": "d",
    "hour": "h",
    "minute": "min",
    "second": "s",
    "millisecond": "ms",
}
CALENDAR = {**{k: k for k in UCUM_FOR}, **{k + "s": k for k in UCUM_FOR}}
UCUM_TIME_UNITS = frozenset(UCUM_FOR.values())
_MONTHS = {"year": 12, "month": 1, "a": 12, "mo": 1}
_DAYS_APPROX = {"year": Decimal(365), "month": Decimal(30)}


class _HasValueUnit(Protocol):
    @property
    def value(self) -> Decimal: ...

    @property
    def unit(self) -> str: ...


def is_calendar(unit: str) -> bool:
    """Whether ``unit`` is a CQL calendar-duration keyword."""
    return unit in CALENDAR


def is_known_unit(unit: str) -> bool:
    """A calendar keyword or a UCUM expression our table understands."""
    return unit in CALENDAR or ucum.is_valid(unit)


def _ucum(value: Decimal, source: str, target: str) -> Decimal | None:
    try:
        return ucum.convert(value, source, target)
    except ucum.UcumError:
        return None


def align(quantity: _HasValueUnit, target: str, *, exact: bool) -> Decimal | None:
    """``quantity``'s value in ``target`` units, or ``None`` when not convertible."""
    source_kw, target_kw = CALENDAR.get(quantity.unit), CALENDAR.get(target)
    value = quantity.value
    if source_kw is None and target_kw is None:
        return _ucum(value, quantity.unit, target)
    source = source_kw or quantity.unit
    dest = target_kw or target
    source_cal, dest_cal = source_kw in _DAYS_APPROX, target_kw in _DAYS_APPROX
    if not source_cal and not dest_cal:
        return _ucum(value, UCUM_FOR.get(source, source), UCUM_FOR.get(dest, dest))
    if source_cal and dest_cal or not exact and source in _MONTHS and dest in _MONTHS:
        return value * _MONTHS[source] / _MONTHS[dest]
    if exact:
        return None
    if source_cal:
        return _ucum(value * _DAYS_APPROX[source], "d", UCUM_FOR.get(dest, dest))
    days = _ucum(value, UCUM_FOR.get(source, source), "d")
    return None if days is None else days / _DAYS_APPROX[dest]


_SYMBOL_EXPONENT = re.compile(r"(.*?)([+-]?\d+)")


def _terms(unit: str) -> dict[str, int]:
    """Symbol -> exponent for a unit written as ``a.b/c2`` (opaque when parenthesized)."""
    unit = UCUM_FOR.get(CALENDAR.get(unit, ""), unit)
    if unit == "1":
        return {}
    if "(" in unit:
        return {f"({unit})": 1}
    terms: dict[str, int] = {}
    sign = 1
    for token in re.split(r"([./])", unit):
        if token in (".", "/"):
            sign = 1 if token == "." else -1
            continue
        if not token or token == "1":
            continue
        symbol, exponent = token, 1
        match = _SYMBOL_EXPONENT.fullmatch(token)
        if match is not None and match.group(1) and not token.isdecimal():
            symbol, exponent = match.group(1), int(match.group(2))
        terms[symbol] = terms.get(symbol, 0) + sign * exponent
    return terms


def _render(terms: dict[str, int]) -> str:
    def power(symbol: str, exponent: int) -> str:
        return symbol if exponent == 1 else f"{symbol}{exponent}"

    numerator = ".".join(power(s, e) for s, e in terms.items() if e > 0) or "1"
    denominator = "".join("/" + power(s, -e) for s, e in terms.items() if e < 0)
    if numerator == "1" and not denominator:
        return "1"
    return numerator + denominator


def combine(left: str, right: str, sign: int) -> str:
    """The unit of ``left * right`` (``sign=1``) or ``left / right`` (``sign=-1``)."""
    terms = _terms(left)
    for symbol, exponent in _terms(right).items():
        terms[symbol] = terms.get(symbol, 0) + sign * exponent
    return _render({s: e for s, e in terms.items() if e})
