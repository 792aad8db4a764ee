"""FHIR R4 primitive types: JSON representation and lexical rules (FHIR R4 §2.24 Datatypes).

Each primitive has a JSON kind (string, boolean, number) and, for most, a regular expression
from the R4 specification; integers also have ranges. ``check_primitive`` returns a message
for a value that breaks these rules, or ``None``.
"""

from __future__ import annotations

import re
from typing import Any

_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_DATE = _YEAR + r"(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?"
_HEX4 = "[0-9a-fA-F]{4}"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?"
_ZONE = r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"

_PATTERNS: dict[str, re.Pattern[str]] = {
    name: re.compile(rf"^(?:{regex})$")
    for name, regex in {
        "date": _DATE,
        "dateTime": rf"{_YEAR}(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T{_TIME}{_ZONE})?)?)?",
        "instant": rf"{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T{_TIME}{_ZONE}",
        "time": _TIME,
        "code": r"[^\s]+( [^\s]+)*",
        "id": r"[A-Za-z0-9\-\.]{1,64}",
        "oid": r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+",
        "uuid": rf"urn:uuid:{_HEX4}{_HEX4}-{_HEX4}-{_HEX4}-{_HEX4}-{_HEX4}{_HEX4}{_HEX4}",
        "uri": r"\S*",
        "url": r"\S*",
        "canonical": r"\S*",
        "base64Binary": r"(\s*([0-9a-zA-Z\+/=]){4}\s*)+",
        "string": r"[\s\S]+",
        "markdown": r"[\s\S]+",
        "xhtml": r"[\s\S]+",
    }.items()
}

_INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "integer": (-2147483648, 2147483647),
    "positiveInt": (1, 2147483647),
    "unsignedInt": (0, 2147483647),
}

STRING_TYPES = frozenset(_PATTERNS) | {"http://hl7.org/fhirpath/System.String"}
PRIMITIVE_TYPES = frozenset(_PATTERNS) | frozenset(_INTEGER_RANGES) | {"boolean", "decimal"}


def is_primitive(type_code: str) -> bool:
    """True for FHIR primitive type codes (including the FHIRPath System types)."""
    return type_code in PRIMITIVE_TYPES or type_code.startswith("http://hl7.org/fhirpath/System.")


def check_primitive(type_code: str, value: Any) -> str | None:
    """Return why ``value`` is not a valid JSON value of primitive ``type_code``, or ``None``."""
    if type_code == "boolean":
        return None if isinstance(value, bool) else "must be a JSON boolean"
    if type_code in _INTEGER_RANGES:
        return _check_integer(type_code, value)
    if type_code == "decimal":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else "must be a JSON number"
    if not isinstance(value, str):
        return "must be a JSON string"
    pattern = _PATTERNS.get(type_code)
    if pattern is not None and not pattern.match(value):
        return f"{value!r} is not a valid {type_code}"
    return None


def _check_integer(type_code: str, value: Any) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool):
        return "must be a JSON integer"
    low, high = _INTEGER_RANGES[type_code]
    if not low <= value <= high:
        return f"{value} is outside the range of {type_code}"
    return None


COMPLEX_TYPES = frozenset(
    {
        "Address", "Age", "Annotation", "Attachment", "CodeableConcept", "Coding",
        "ContactPoint", "Count", "Distance", "Duration", "HumanName", "Identifier", "Money",
        "Period", "Quantity", "Range", "Ratio", "Reference", "SampledData", "Signature",
        "Timing", "ContactDetail", "Contributor", "DataRequirement", "Expression",
        "ParameterDefinition", "RelatedArtifact", "TriggerDefinition", "UsageContext",
        "Dosage", "Meta", "Narrative", "Extension", "BackboneElement", "Element",
    }
)  # fmt: skip
"""R4 complex datatypes (the ones that can appear as a choice ``[x]`` type and more)."""


def choice_suffix(type_code: str) -> str:
    """Return the JSON suffix of a choice element of this type (``dateTime`` → ``DateTime``)."""
    return type_code[:1].upper() + type_code[1:]


def type_of_suffix(suffix: str) -> str | None:
    """Return the type code a choice suffix stands for (``DateTime`` → ``dateTime``)."""
    if suffix in COMPLEX_TYPES:
        return suffix
    lowered = suffix[:1].lower() + suffix[1:]
    return lowered if lowered in PRIMITIVE_TYPES else None
