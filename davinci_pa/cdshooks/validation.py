"""Human-readable JSON Schema checks shared by the CDS Hooks parsers.

Schemas are JSON Schema Draft 2020-12 dicts compiled once. Each problem is reported as
``"<json path>: <what is wrong>"`` (e.g. ``"context.draftOrders: must be a FHIR Bundle"``)
so a 400 answer tells the EHR developer exactly which field to fix. A schema node may carry
an ``x-message`` string that replaces the generic wording for ``pattern``/``const`` failures.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from davinci_pa.errors import InvalidHookRequest

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z"
"""A UUID in its canonical 8-4-4-4-12 hexadecimal form (CDS Hooks ``hookInstance``)."""

FHIR_ID_RE = re.compile(r"[A-Za-z0-9\-.]{1,64}")
"""FHIR R4 ``id`` datatype (§2.24.0.1): 1-64 letters, digits, ``-`` and ``.``."""

RELATIVE_REFERENCE_RE = re.compile(r"([A-Z][A-Za-z]{1,63})/([A-Za-z0-9\-.]{1,64})")
"""A FHIR relative literal reference ``Type/id``."""

HTTP_URL_PATTERN = r"^https?://[^\s/?#@]+(?:[/?#][^\s]*)?\Z"
"""An absolute http(s) URL without credentials or whitespace."""

_TYPE_WORDS = {
    "object": "an object",
    "array": "an array",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "null": "null",
}


def clip(text: str, limit: int = 80) -> str:
    """Shorten caller-supplied text before quoting it in an error message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def compile_schema(schema: Mapping[str, Any]) -> Draft202012Validator:
    """Check ``schema`` against the Draft 2020-12 metaschema and return a reusable validator."""
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def join_path(prefix: str, parts: Iterable[str | int]) -> str:
    """Render a JSON path like ``context.draftOrders.entry[0].resource``."""
    text = prefix
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text = f"{text}.{part}" if text else str(part)
    return text or "(body)"


def describe_type(expected: str | Sequence[str]) -> str:
    """Describe a JSON Schema ``type`` value in words: ``"a string or null"``."""
    names = [expected] if isinstance(expected, str) else list(expected)
    return " or ".join(_TYPE_WORDS.get(n, n) for n in names)


def _message(error: ValidationError) -> tuple[list[str | int], str]:
    """Return the path and wording for one jsonschema error."""
    path: list[str | int] = list(error.absolute_path)
    kind, schema = error.validator, error.schema
    expected: Any = error.validator_value
    custom = schema.get("x-message") if isinstance(schema, Mapping) else None
    if kind in ("required", "dependentRequired"):
        missing = _missing_names(error)
        return [*path, missing], "is required" + _dependent_hint(kind, error)
    if kind == "type":
        return path, f"must be {describe_type(expected)}"
    if kind in ("minLength", "minItems", "minProperties"):
        return path, "must not be empty (CDS Hooks forbids empty values: omit the field instead)"
    if kind in ("enum", "const"):
        options = expected if kind == "enum" else [expected]
        return path, custom or "must be one of " + ", ".join(repr(o) for o in options)
    if kind == "additionalProperties" and expected is False:
        return path, "has unexpected fields"
    return path, custom or f"is invalid ({kind})"


def _missing_names(error: ValidationError) -> str:
    instance = error.instance if isinstance(error.instance, Mapping) else {}
    value: Any = error.validator_value
    names: list[str] = []
    if isinstance(value, Mapping):  # dependentRequired: {"a": ["b"]}
        for trigger, needed in value.items():
            if trigger in instance:
                names.extend(n for n in needed if n not in instance)
    else:
        names = [n for n in value if n not in instance]
    return ", ".join(names) or "?"


def _dependent_hint(kind: str, error: ValidationError) -> str:
    value: Any = error.validator_value
    if kind != "dependentRequired" or not isinstance(value, Mapping):
        return ""
    instance = error.instance if isinstance(error.instance, Mapping) else {}
    triggers = [t for t in value if t in instance]
    return f" when {', '.join(triggers)} is present" if triggers else ""


def schema_problems(
    validator: Draft202012Validator, instance: object, *, prefix: str = ""
) -> list[str]:
    """Validate ``instance`` and return readable problems, sorted by path, without duplicates."""
    found: list[tuple[list[str], str]] = []
    for error in validator.iter_errors(instance):
        parts, text = _message(error)
        found.append(([str(p) for p in parts], f"{join_path(prefix, parts)}: {text}"))
    found.sort(key=lambda item: item[0])
    return list(dict.fromkeys(text for _, text in found))


def raise_if_problems(problems: Sequence[str], *, what: str = "CDS Hooks request") -> None:
    """Raise :class:`InvalidHookRequest` naming the first problem and listing them all."""
    if not problems:
        return
    message = problems[0]
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more problem(s) in the {what})"
    raise InvalidHookRequest(message, details={"problems": list(problems)})
