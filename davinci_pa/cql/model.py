"""FHIR R4 JSON navigation for ELM ``Property`` (FHIR R4 §JSON, ELM §Property).

Resources are plain dicts. A primitive's ``value`` is the JSON scalar itself; a choice element
such as ``Observation.value[x]`` is returned as a :class:`FhirChoice` carrying the type taken
from the JSON key (``valueQuantity`` → ``Quantity``), so ``As``/``Is`` can test it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

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
