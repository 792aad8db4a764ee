"""FHIR R4 JSON navigation for ELM ``Property`` (FHIR R4 §JSON, ELM §Property).

Resources are plain dicts. A primitive's ``value`` is the JSON scalar itself, except that the
``value`` of a ``date``, ``dateTime``, ``instant`` or ``time`` element is the CQL Date,
DateTime or Time it spells (see :func:`temporal_value`). A choice element such as
``Observation.value[x]`` is returned as a :class:`FhirChoice` carrying the type taken from the
JSON key (``valueQuantity`` → ``Quantity``), so ``As``/``Is`` can test it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from davinci_pa.cql.values.temporal import parse_date, parse_datetime, parse_time
from davinci_pa.cql.values.tuples import CqlTuple

PRIMITIVE_TYPES = frozenset(
    {
        "base64Binary",
        "boolean",
        "canonical",
        "code",
        "date",
        "dateTime",
        "decimal",
        "id",
        "instant",
        "integer",
        "markdown",
        "oid",
        "positiveInt",
        "string",
        "time",
        "unsignedInt",
        "uri",
        "url",
        "uuid",
    }
)
_PRIMITIVE_BY_SUFFIX = {t[0].upper() + t[1:]: t for t in PRIMITIVE_TYPES}
TEMPORAL_PRIMITIVES = {
    "date": "Date",
    "dateTime": "DateTime",
    "instant": "DateTime",
    "time": "Time",
}
"""FHIR temporal primitive type → the System type of its ``value`` (Using CQL with FHIR)."""


_QUANTITY = "value comparator unit system code"
_ELEMENTS = {
    "Address": "use type text line city district state postalCode country period",
    "Age": _QUANTITY,
    "Annotation": "author time text",
    "Attachment": "contentType language data url size hash title creation",
    "CodeableConcept": "coding text",
    "Coding": "system version code display userSelected",
    "ContactPoint": "system value use rank period",
    "Count": _QUANTITY,
    "Distance": _QUANTITY,
    "Duration": _QUANTITY,
    "HumanName": "use text family given prefix suffix period",
    "Identifier": "use type system value period assigner",
    "Meta": "versionId lastUpdated source profile security tag",
    "Money": "value currency",
    "Narrative": "status div",
    "Period": "start end",
    "Quantity": _QUANTITY,
    "Range": "low high",
    "Ratio": "numerator denominator",
    "Reference": "reference type identifier display",
    "SimpleQuantity": _QUANTITY,
    "Timing": "event repeat code",
}
DATATYPE_ELEMENTS = {name: frozenset(names.split()) for name, names in _ELEMENTS.items()}
"""Elements of the FHIR R4 general-purpose data types (FHIR R4 §2.24), by type name.

``id``, ``extension`` and ``modifierExtension`` are allowed on every element; a choice
element such as ``Annotation.author[x]`` is listed by its base name.
"""
TEMPORAL_ELEMENTS: dict[str, dict[str, str]] = {
    "Annotation": {"time": "dateTime"},
    "Attachment": {"creation": "dateTime"},
    "Meta": {"lastUpdated": "instant"},
    "Period": {"start": "dateTime", "end": "dateTime"},
    "Signature": {"when": "instant"},
    "Timing": {"event": "dateTime"},
}
"""The date/time elements of the general-purpose data types: type → element → FHIR type."""
_ANY_ELEMENT = frozenset({"id", "extension", "modifierExtension"})


def element_is(value: dict[str, Any], type_name: str) -> bool | None:
    """Whether a plain JSON element (no ``resourceType``) can be a ``type_name``.

    True or False for the data types of :data:`DATATYPE_ELEMENTS` (its keys must be elements
    of the type); None when the type's elements are not known here.
    """
    elements = DATATYPE_ELEMENTS.get(type_name)
    if elements is None:
        return None
    for key in value:
        name = key[1:] if key.startswith("_") else key
        if name in _ANY_ELEMENT or name in elements:
            continue
        if not any(name.startswith(e) and name[len(e) : len(e) + 1].isupper() for e in elements):
            return False
    return True


class FhirChoice:
    """A value read from a choice element, tagged with its FHIR type name."""

    __slots__ = ("type", "value")

    def __init__(self, type_name: str, value: Any) -> None:
        self.type = type_name
        self.value = value

    def __repr__(self) -> str:
        return f"FhirChoice({self.type!r}, {self.value!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FhirChoice) and (self.type, self.value) == (
            other.type,
            other.value,
        )

    def __hash__(self) -> int:
        return hash(self.type)


def fhir_type_of(value: Any) -> str | None:
    """Return the FHIR type name of a resource or tagged choice value, if known."""
    if isinstance(value, dict):
        rt = value.get("resourceType")
        return rt if isinstance(rt, str) else None
    if isinstance(value, FhirChoice):
        return value.type
    return None


def unwrap(value: Any) -> Any:
    """Strip a choice tag and turn JSON floats into Decimals."""
    if isinstance(value, FhirChoice):
        value = value.value
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def get_property(source: Any, path: str) -> Any:
    """Navigate one property name (FHIRPath-like: lists map and flatten)."""
    if source is None:
        return None
    if isinstance(source, FhirChoice):
        source = source.value
    if isinstance(source, dict):
        return _from_object(source, path)
    if isinstance(source, CqlTuple):
        return source.get(path)
    if isinstance(source, list):
        return _from_list(source, path)
    if path == "value" and isinstance(source, str | bool | int | float | Decimal):
        return unwrap(source)
    return _from_python(source, path)


def _from_object(obj: dict[str, Any], path: str) -> Any:
    value = obj.get(path)
    if value is not None:
        return unwrap(value) if isinstance(value, float) else value
    for key, item in obj.items():
        if key.startswith(path) and len(key) > len(path) and key[len(path)].isupper():
            suffix = key[len(path) :]
            return FhirChoice(_PRIMITIVE_BY_SUFFIX.get(suffix, suffix), unwrap(item))
    return None


def _from_list(items: list[Any], path: str) -> list[Any]:
    out: list[Any] = []
    for item in items:
        value = get_property(item, path)
        if isinstance(value, list):
            out.extend(v for v in value if v is not None)
        elif value is not None:
            out.append(value)
    return out


def _from_python(source: Any, path: str) -> Any:
    attr = _snake(path)
    if hasattr(source, attr):
        return getattr(source, attr)
    return getattr(source, path, None)


def _snake(name: str) -> str:
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in name)


def temporal_value(value: Any, system_type: str) -> Any:
    """The ``value`` of a FHIR temporal primitive as a CQL ``Date``, ``DateTime`` or ``Time``.

    ``value`` is the JSON string (or a choice carrying it); an already converted value and
    null pass through. A malformed string raises ``InvalidTemporalValue``.
    """
    value = unwrap(value)
    if not isinstance(value, str):
        return value
    if system_type == "Date":
        return parse_date(value[:10])
    if system_type == "Time":
        return parse_time(value)
    return parse_datetime(value)


def choice_value(source: Any) -> Any:
    """``source.value`` for a tagged choice: temporal primitives become CQL values."""
    system_type = TEMPORAL_PRIMITIVES.get(source.type) if isinstance(source, FhirChoice) else None
    if system_type is None:
        return get_property(source, "value")
    return temporal_value(source.value, system_type)
