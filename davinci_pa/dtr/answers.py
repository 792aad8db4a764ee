"""Answers: reading them from a QuestionnaireResponse, ``enableWhen``, and typing values.

FHIR R4 Questionnaire ``enableWhen`` (operators exists, =, !=, >, <, >=, <=; behaviour
all/any) and QuestionnaireResponse ``answer.value[x]`` by item type (R4 §Questionnaire,
item type ↔ answer type table).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from davinci_pa.dtr.vocabulary import answers_of, walk_items

ANSWER_TYPES: dict[str, tuple[str, ...]] = {
    "boolean": ("valueBoolean",),
    "decimal": ("valueDecimal",),
    "integer": ("valueInteger",),
    "date": ("valueDate",),
    "dateTime": ("valueDateTime",),
    "time": ("valueTime",),
    "string": ("valueString",),
    "text": ("valueString",),
    "url": ("valueUri",),
    "choice": ("valueCoding",),
    "open-choice": ("valueCoding", "valueString"),
    "attachment": ("valueAttachment",),
    "reference": ("valueReference",),
    "quantity": ("valueQuantity",),
}
"""R4 item type → the answer value[x] elements it allows (group/display take none)."""

Answers = Mapping[str, list[dict[str, Any]]]


def answers_by_link(items: Any) -> dict[str, list[dict[str, Any]]]:
    """Map each linkId in a response tree to its answers."""
    found: dict[str, list[dict[str, Any]]] = {}
    for item, _ in walk_items(items):
        answers = answers_of(item)
        if answers:
            found.setdefault(str(item.get("linkId")), []).extend(answers)
    return found


def answer_value(answer: Mapping[str, Any]) -> tuple[str, Any] | None:
    """The (element name, value) of an answer's value[x]."""
    for key, value in answer.items():
        if key.startswith("value"):
            return key, value
    return None


def enabled(item: Mapping[str, Any], answers: Answers) -> bool:
    """Evaluate an item's ``enableWhen`` against the answers (no conditions: enabled)."""
    conditions = [c for c in item.get("enableWhen") or [] if isinstance(c, dict)]
    if not conditions:
        return True
    results = [_condition(c, answers) for c in conditions]
    return any(results) if item.get("enableBehavior") == "any" else all(results)


def _condition(condition: Mapping[str, Any], answers: Answers) -> bool:
    given = answers.get(str(condition.get("question")), [])
    operator = condition.get("operator")
    expected = next(((k, v) for k, v in condition.items() if k.startswith("answer")), None)
    if operator == "exists":
        return bool(given) == bool(expected and expected[1])
    if expected is None:
        return False
    values = [v for v in (answer_value(a) for a in given) if v is not None]
    if operator == "!=":
        return bool(values) and all(not _equal(v[1], expected[1]) for v in values)
    return any(_compare(operator, v[1], expected[1]) for v in values)


def _compare(operator: Any, actual: Any, expected: Any) -> bool:
    if operator == "=":
        return _equal(actual, expected)
    try:
        left, right = _orderable(actual), _orderable(expected)
        return bool(
            {
                ">": left > right,
                "<": left < right,
                ">=": left >= right,
                "<=": left <= right,
            }.get(str(operator), False)
        )
    except TypeError:
        return False


def _orderable(value: Any) -> Any:
    if isinstance(value, Mapping) and "value" in value:  # Quantity
        value = value["value"]
    if isinstance(value, bool):
        raise TypeError("booleans are not ordered")
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    return value


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        if "code" in expected or "code" in actual:
            same_system = not expected.get("system") or actual.get("system") == expected.get(
                "system"
            )
            return same_system and actual.get("code") == expected.get("code")
        return dict(actual) == dict(expected)
    if isinstance(actual, int | float | Decimal) and isinstance(expected, int | float | Decimal):
        return not isinstance(actual, bool) and Decimal(str(actual)) == Decimal(str(expected))
    return bool(actual == expected)
