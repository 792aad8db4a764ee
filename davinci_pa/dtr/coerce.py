"""Turn expression results (CQL or FHIRPath) into typed answers, or nothing.

DTR 2.2 §Prepopulation: a result that does not fit the item (wrong type, several values
for a non-repeating item, a code outside the item's answer list) leaves the item empty;
prepopulation never guesses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from davinci_pa.cql import encode_value

Allowed = Callable[[Mapping[str, Any], dict[str, Any]], bool]
"""Tells whether a Coding is a permitted answer of the item."""

UCUM = "http://unitsofmeasure.org"
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_DATETIME = re.compile(
    r"^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?)?)?$"
)
_TIME = re.compile(r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")


def to_answers(item: Mapping[str, Any], result: Any, allowed: Allowed) -> list[dict[str, Any]]:
    """Return the answers (``{"valueX": ...}``) a result gives an item; [] when it does not fit."""
    values = _flatten(_plain(result))
    item_type = str(item.get("type"))
    answers: list[dict[str, Any]] = []
    for value in values:
        answer = _typed(item_type, value, item, allowed)
        if answer is None:
            return []
        if answer not in answers:
            answers.append(answer)
    if len(answers) > 1 and not item.get("repeats"):
        return []
    return answers


def _plain(result: Any) -> Any:
    try:
        return encode_value(result)
    except TypeError:
        return str(result)


def _flatten(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [v for inner in value for v in _flatten(inner)]
    return [value]


def _typed(
    item_type: str, value: Any, item: Mapping[str, Any], allowed: Allowed
) -> dict[str, Any] | None:
    converter = _CONVERTERS.get(item_type)
    if converter is None:
        return None
    if item_type in ("choice", "open-choice"):
        return _choice(value, item, allowed, open_choice=item_type == "open-choice")
    return converter(value)


def _boolean(value: Any) -> dict[str, Any] | None:
    return {"valueBoolean": value} if isinstance(value, bool) else None


def _number(value: Any) -> Decimal | None:
    if isinstance(value, Mapping) and "value" in value and "unit" in value:
        value = value["value"]
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return Decimal(str(value))


def _decimal(value: Any) -> dict[str, Any] | None:
    number = _number(value)
    if number is None:
        return None
    return {"valueDecimal": int(number) if number == number.to_integral_value() else float(number)}


def _integer(value: Any) -> dict[str, Any] | None:
    number = _number(value)
    if number is None or number != number.to_integral_value():
        return None
    return {"valueInteger": int(number)}


def _date(value: Any) -> dict[str, Any] | None:
    text = str(value).lstrip("@") if isinstance(value, str) or hasattr(value, "isoformat") else ""
    text = text.split("T", 1)[0]
    return {"valueDate": text} if _DATE.match(text) else None


def _datetime(value: Any) -> dict[str, Any] | None:
    text = str(value).lstrip("@") if isinstance(value, str) else ""
    return {"valueDateTime": text} if _DATETIME.match(text) else None


def _time(value: Any) -> dict[str, Any] | None:
    text = str(value).lstrip("@T") if isinstance(value, str) else ""
    return {"valueTime": text} if _TIME.match(text) else None


def _string(value: Any) -> dict[str, Any] | None:
    return {"valueString": value} if isinstance(value, str) and value.strip() else None


def _uri(value: Any) -> dict[str, Any] | None:
    return {"valueUri": value} if isinstance(value, str) and value.strip() else None


def _quantity(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, Mapping) or _number(value.get("value")) is None:
        return None
    quantity: dict[str, Any] = {"value": value["value"]}
    unit = value.get("unit") or value.get("code")
    if isinstance(unit, str) and unit:
        quantity.update(
            {"unit": unit, "system": value.get("system", UCUM), "code": value.get("code", unit)}
        )
    return {"valueQuantity": quantity}


def _reference(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, Mapping):
        return None
    if isinstance(value.get("reference"), str):
        return {"valueReference": {k: v for k, v in value.items() if k in ("reference", "display")}}
    if isinstance(value.get("resourceType"), str) and isinstance(value.get("id"), str):
        return {"valueReference": {"reference": f"{value['resourceType']}/{value['id']}"}}
    return None


def _attachment(value: Any) -> dict[str, Any] | None:
    ok = isinstance(value, Mapping) and ("data" in value or "url" in value)
    return {"valueAttachment": dict(value)} if ok else None


def _choice(
    value: Any, item: Mapping[str, Any], allowed: Allowed, *, open_choice: bool
) -> dict[str, Any] | None:
    for coding in _codings(value):
        if allowed(item, coding):
            return {"valueCoding": coding}
    if open_choice and isinstance(value, str) and value.strip():
        return {"valueString": value}
    return None


def _codings(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, Mapping):
        return []
    if isinstance(value.get("codes"), list):  # CQL Concept
        return [c for v in value["codes"] for c in _codings(v)]
    if isinstance(value.get("coding"), list):  # FHIR CodeableConcept
        return [c for v in value["coding"] for c in _codings(v)]
    if isinstance(value.get("code"), str):
        return [
            {k: value[k] for k in ("system", "code", "display") if isinstance(value.get(k), str)}
        ]
    return []


_CONVERTERS: dict[str, Callable[[Any], dict[str, Any] | None]] = {
    "boolean": _boolean,
    "decimal": _decimal,
    "integer": _integer,
    "date": _date,
    "dateTime": _datetime,
    "time": _time,
    "string": _string,
    "text": _string,
    "url": _uri,
    "choice": _string,
    "open-choice": _string,
    "quantity": _quantity,
    "reference": _reference,
    "attachment": _attachment,
}
