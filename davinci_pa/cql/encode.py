"""Encode evaluation results as JSON (the ``davinci-pa cql eval`` output contract).

null → null; Boolean → true/false; Integer/Long/Decimal → JSON numbers; String → string;
Date/DateTime/Time → ISO 8601 at their own precision; Quantity → {"value", "unit"}; Ratio →
{"numerator", "denominator"}; Code → {"code", "system", "version"?, "display"?}; Concept →
{"codes", "display"?}; Interval → {"low", "high", "lowClosed", "highClosed"}; List → array;
Tuple → object; FHIR resources and elements → their JSON (a primitive → its value); an
uncertain integer (a duration between imprecise dates) → {"low", "high"}.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from davinci_pa.cql.model import FhirChoice
from davinci_pa.cql.values.clinical import Code, CodeSystemRef, Concept, ValueSetRef
from davinci_pa.cql.values.interval import Interval
from davinci_pa.cql.values.temporal_between import Uncertainty
from davinci_pa.cql.values.tuples import CqlTuple


def encode_result(result: dict[str, Any]) -> dict[str, Any]:
    """Encode every define's value (a dict from ``CqlEngine.evaluate``)."""
    return {name: encode_value(value) for name, value in result.items()}


def encode_value(value: Any) -> Any:
    """Encode one CQL value as JSON-compatible Python data."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, float):
        return value
    if isinstance(value, list | tuple):
        return [encode_value(v) for v in value]
    if isinstance(value, dict):
        return {k: encode_value(v) for k, v in value.items()}
    if isinstance(value, FhirChoice):
        return encode_value(value.value)
    return _encode_structured(value)


def _encode_structured(value: Any) -> Any:
    if isinstance(value, CqlTuple):
        return {k: encode_value(v) for k, v in value.items()}
    if isinstance(value, Interval):
        return {
            "low": encode_value(value.low),
            "high": encode_value(value.high),
            "lowClosed": value.low_closed,
            "highClosed": value.high_closed,
        }
    if isinstance(value, Code):
        return _code(value)
    if isinstance(value, Concept):
        out: dict[str, Any] = {"codes": [_code(c) for c in value.codes]}
        if value.display is not None:
            out["display"] = value.display
        return out
    if isinstance(value, ValueSetRef | CodeSystemRef):
        return {"id": value.id, **({"version": value.version} if value.version else {})}
    if isinstance(value, Uncertainty):
        return {"low": value.low, "high": value.high}
    to_iso = getattr(value, "to_iso", None)
    if callable(to_iso):
        return to_iso()
    if hasattr(value, "numerator") and hasattr(value, "denominator"):
        return {
            "numerator": encode_value(value.numerator),
            "denominator": encode_value(value.denominator),
        }
    if hasattr(value, "value") and hasattr(value, "unit"):
        return {"value": encode_value(value.value), "unit": value.unit}
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def _number(value: Decimal) -> int | float | Decimal:
    if value == value.to_integral_value() and value.as_tuple().exponent == 0:
        return int(value)
    return value


def _code(code: Code) -> dict[str, Any]:
    out: dict[str, Any] = {"code": code.code, "system": code.system}
    if code.version is not None:
        out["version"] = code.version
    if code.display is not None:
        out["display"] = code.display
    return out
