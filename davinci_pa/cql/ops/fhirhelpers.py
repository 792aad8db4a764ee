"""Native FHIRHelpers 4.0.1: FHIR R4 JSON to CQL System values without running ELM bodies.

Only our FHIRHelpers version '4.0.1' is replaced; another version (the CDS-Library's 4.0.0)
runs its own ELM bodies, whose semantics may differ (for example on a Period without start).

The translator wraps every FHIR-typed operand in ``FHIRHelpers.To*`` calls; these Python
versions replace the ELM function bodies (same semantics as FHIRHelpers-4.0.1.cql: a
Quantity with a comparator or a non-UCUM unit is an error, calendar-unit codes become CQL
calendar keywords, a Period without a start is open at its start).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from davinci_pa.cql.model import unwrap
from davinci_pa.cql.ops.refs import register_native
from davinci_pa.cql.runtime import CqlRuntimeError
from davinci_pa.cql.values.clinical import Code, Concept
from davinci_pa.cql.values.interval import Interval
from davinci_pa.cql.values.quantity import Quantity, Ratio
from davinci_pa.cql.values.temporal import (
    Date,
    DateTime,
    InvalidTemporalValue,
    Time,
    parse_date,
    parse_datetime,
    parse_time,
)

LIBRARY = "FHIRHelpers"
VERSION = "4.0.1"
UCUM = "http://unitsofmeasure.org"
CALENDAR = "http://hl7.org/fhirpath/CodeSystem/calendar-units"
_CALENDAR_UNITS = {
    "ms": "millisecond",
    "s": "second",
    "min": "minute",
    "h": "hour",
    "d": "day",
    "wk": "week",
    "mo": "month",
    "a": "year",
}


def _primitive(value: Any) -> Any:
    value = unwrap(value)
    if isinstance(value, dict):
        return unwrap(value.get("value"))
    return value


@register_native(LIBRARY, VERSION, "ToString")
def to_string(value: Any) -> str | None:
    """``FHIRHelpers.ToString`` for every string-like primitive and code enumeration."""
    value = _primitive(value)
    return None if value is None else str(value)


@register_native(LIBRARY, VERSION, "ToBoolean")
def to_boolean(value: Any) -> bool | None:
    """``FHIRHelpers.ToBoolean``."""
    value = _primitive(value)
    return value if isinstance(value, bool) else None


@register_native(LIBRARY, VERSION, "ToInteger")
def to_integer(value: Any) -> int | None:
    """``FHIRHelpers.ToInteger``."""
    value = _primitive(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@register_native(LIBRARY, VERSION, "ToDecimal")
def to_decimal(value: Any) -> Decimal | None:
    """``FHIRHelpers.ToDecimal``."""
    value = _primitive(value)
    if isinstance(value, bool) or value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _parsed(value: Any, kind: type, parser: Any) -> Any:
    value = _primitive(value)
    if value is None or isinstance(value, kind):
        return value
    try:
        return parser(str(value))
    except InvalidTemporalValue as exc:
        raise CqlRuntimeError(f"malformed FHIR date/time {value!r}") from exc


@register_native(LIBRARY, VERSION, "ToDateTime")
def to_datetime(value: Any) -> DateTime | None:
    """``FHIRHelpers.ToDateTime`` for dateTime and instant (an absent offset stays unknown)."""
    return _parsed(value, DateTime, parse_datetime)  # type: ignore[no-any-return]


@register_native(LIBRARY, VERSION, "ToDate")
def to_date(value: Any) -> Date | None:
    """``FHIRHelpers.ToDate``."""
    return _parsed(value, Date, lambda text: parse_date(text[:10]))  # type: ignore[no-any-return]


@register_native(LIBRARY, VERSION, "ToTime")
def to_time(value: Any) -> Time | None:
    """``FHIRHelpers.ToTime``."""
    return _parsed(value, Time, parse_time)  # type: ignore[no-any-return]


@register_native(LIBRARY, VERSION, "ToQuantity")
def to_quantity(value: Any) -> Quantity | None:
    """``FHIRHelpers.ToQuantity``: UCUM or calendar units only, no comparator."""
    value = unwrap(value)
    if not isinstance(value, dict):
        return value if isinstance(value, Quantity) else None
    number = value.get("value")
    if number is None:
        return None
    if value.get("comparator") is not None:
        raise CqlRuntimeError(
            f"FHIRHelpers.ToQuantity: a Quantity with comparator {value['comparator']} "
            "has no single value"
        )
    system = value.get("system")
    unit = value.get("code") or value.get("unit")
    if system == CALENDAR:
        unit = _CALENDAR_UNITS.get(unit or "", unit)
    elif system is not None and system != UCUM:
        raise CqlRuntimeError(f"FHIRHelpers.ToQuantity: unit system {system} is not UCUM")
    return Quantity(Decimal(str(number)), unit or "1")


@register_native(LIBRARY, VERSION, "ToRatio")
def to_ratio(value: Any) -> Ratio | None:
    """``FHIRHelpers.ToRatio``."""
    value = unwrap(value)
    if not isinstance(value, dict):
        return None
    num, den = to_quantity(value.get("numerator")), to_quantity(value.get("denominator"))
    return None if num is None or den is None else Ratio(num, den)


@register_native(LIBRARY, VERSION, "ToInterval")
def to_interval(value: Any) -> Interval | None:
    """``FHIRHelpers.ToInterval`` for a Period (DateTime bounds) or a Range (Quantity bounds)."""
    value = unwrap(value)
    if not isinstance(value, dict):
        return None
    if "low" in value or "high" in value:
        return Interval(to_quantity(value.get("low")), to_quantity(value.get("high")))
    start = to_datetime(value.get("start"))
    end = to_datetime(value.get("end"))
    return Interval(start, end, start is not None, True)


@register_native(LIBRARY, VERSION, "ToCode")
def to_code(value: Any) -> Code | None:
    """``FHIRHelpers.ToCode``."""
    value = unwrap(value)
    if isinstance(value, Code) or value is None:
        return value
    if not isinstance(value, dict):
        return None
    return Code(value.get("code"), value.get("system"), value.get("version"), value.get("display"))


@register_native(LIBRARY, VERSION, "ToConcept")
def to_concept(value: Any) -> Concept | None:
    """``FHIRHelpers.ToConcept``."""
    value = unwrap(value)
    if isinstance(value, Concept) or value is None:
        return value
    if not isinstance(value, dict):
        return None
    codes = tuple(c for c in (to_code(x) for x in value.get("coding", [])) if c is not None)
    return Concept(codes, value.get("text"))
