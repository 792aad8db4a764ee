"""ELM type specifiers: canonical keys for overload matching and runtime type tests (ELM §7).

System types map to Python classes; other modules register classes for the temporal and
quantity types. FHIR types are recognised on plain JSON by ``resourceType``, by the tag a
choice-typed element carries, or, for a plain element of a general-purpose data type (such
as ``ServiceRequest.code`` or ``Encounter.period``), by its keys being elements of that type
(see :mod:`davinci_pa.cql.model`).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from davinci_pa.cql.model import FhirChoice, element_is
from davinci_pa.cql.values.clinical import Code, Concept, ValueSetRef
from davinci_pa.cql.values.interval import Interval
from davinci_pa.cql.values.tuples import CqlTuple

SYSTEM_NS = "urn:hl7-org:elm-types:r1"
FHIR_NS = "http://hl7.org/fhir"
TypeTest = Callable[[Any], bool]

SYSTEM_CLASSES: dict[str, type | tuple[type, ...]] = {
    "String": str,
    "Decimal": Decimal,
    "Code": Code,
    "Concept": Concept,
    "ValueSet": ValueSetRef,
    "Vocabulary": ValueSetRef,
}


def register_system_type(name: str, cls: type) -> None:
    """Map a System type name (e.g. ``DateTime``) to its Python class."""
    SYSTEM_CLASSES[name] = cls


def split_qname(qname: str) -> tuple[str, str]:
    """Split ``{ns}Name`` (or ``Model.Name``) into (model, name), model "System" or "FHIR"."""
    if qname.startswith("{"):
        ns, _, name = qname[1:].partition("}")
        return ("System" if ns == SYSTEM_NS else "FHIR" if ns == FHIR_NS else ns), name
    model, dot, name = qname.partition(".")
    return (model, name) if dot else ("System", qname)


def type_key(spec: dict[str, Any] | str | None) -> str:
    """Return a canonical string for a type specifier, used to match overloads."""
    if spec is None:
        return ""
    if isinstance(spec, str):
        return ".".join(split_qname(spec))
    kind = spec.get("type")
    if kind == "NamedTypeSpecifier":
        return ".".join(split_qname(spec["name"]))
    if kind == "ListTypeSpecifier":
        return f"List<{type_key(spec.get('elementType'))}>"
    if kind == "IntervalTypeSpecifier":
        return f"Interval<{type_key(spec.get('pointType'))}>"
    if kind == "TupleTypeSpecifier":
        elements = spec.get("element", [])
        inner = ",".join(f"{e['name']}:{type_key(e.get('elementType'))}" for e in elements)
        return f"Tuple{{{inner}}}"
    if kind == "ChoiceTypeSpecifier":
        choices = spec.get("choice", spec.get("type", []))
        return "Choice<" + ",".join(type_key(t) for t in choices if isinstance(t, dict)) + ">"
    return str(kind)


def type_test(spec: dict[str, Any] | str | None) -> TypeTest:
    """Build a predicate telling whether a (non-null) runtime value is of the given type."""
    if spec is None:
        return lambda v: True
    if isinstance(spec, str):
        return _named_test(spec)
    kind = spec.get("type")
    if kind == "NamedTypeSpecifier":
        return _named_test(spec["name"])
    if kind == "ListTypeSpecifier":
        element = type_test(spec.get("elementType"))
        return lambda v: isinstance(v, list) and all(x is None or element(x) for x in v)
    if kind == "IntervalTypeSpecifier":
        point = type_test(spec.get("pointType"))
        return lambda v: (
            isinstance(v, Interval) and all(x is None or point(x) for x in (v.low, v.high))
        )
    if kind == "TupleTypeSpecifier":
        return lambda v: isinstance(v, CqlTuple)
    if kind == "ChoiceTypeSpecifier":
        choices = spec.get("choice", spec.get("type", []))
        tests = [type_test(t) for t in choices if isinstance(t, dict)]
        return lambda v: any(t(v) for t in tests)
    return lambda v: False


def _named_test(qname: str) -> TypeTest:
    model, name = split_qname(qname)
    if model != "System":
        return _fhir_test(name)
    if name == "Any":
        return lambda v: True
    if name == "Boolean":
        return lambda v: isinstance(v, bool)
    if name in ("Integer", "Long"):
        return lambda v: isinstance(v, int) and not isinstance(v, bool)
    cls = SYSTEM_CLASSES.get(name)
    if cls is None:
        return lambda v: type(v).__name__ == name
    return lambda v: isinstance(v, cls)


def _fhir_test(name: str) -> TypeTest:
    if name[:1].islower():
        return lambda v: _fhir_primitive(v, name)
    return lambda v: _fhir_complex(v, name)


def _fhir_complex(value: Any, name: str) -> bool:
    if isinstance(value, FhirChoice):
        return value.type == name
    if not isinstance(value, dict):
        return False
    resource_type = value.get("resourceType")
    if resource_type is not None:
        return bool(resource_type == name)
    return element_is(value, name) is True or "." in name


def _fhir_primitive(value: Any, name: str) -> bool:
    if isinstance(value, FhirChoice):
        return value.type == name
    if name == "boolean":
        return isinstance(value, bool)
    if name in ("integer", "positiveInt", "unsignedInt"):
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "decimal":
        return isinstance(value, int | float | Decimal) and not isinstance(value, bool)
    return isinstance(value, str)
