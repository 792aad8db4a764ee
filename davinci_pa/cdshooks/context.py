"""Typed checks of CDS Hooks context fields (ids, references, Bundles, resources).

Each :class:`ContextField` says what one hook context field must hold; :func:`check_field`
returns readable problems naming the field (``context.userId: ...``). The shapes follow the
CDS Hooks 2.0 hook definitions (cds-hooks.org/hooks/*) and the CRD context logical models
(``StructureDefinition-CRD{OrderSign,OrderSelect,OrderDispatch,AppointmentBook}Context``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from davinci_pa.cdshooks.validation import FHIR_ID_RE, RELATIVE_REFERENCE_RE, clip

ORDER_TYPES = frozenset(
    {
        "CommunicationRequest",
        "DeviceRequest",
        "MedicationRequest",
        "NutritionOrder",
        "ServiceRequest",
        "VisionPrescription",
    }
)
"""Request resource types CRD accepts as orders (CRD §Hooks, ``profile-bundle-request``)."""


class FieldKind(enum.Enum):
    """The JSON shape of a context field."""

    ID = "id"
    """A bare FHIR id (``patientId``), never a reference."""
    REFERENCE = "reference"
    """A relative reference ``Type/id`` (``userId``, ``performer``)."""
    REFERENCE_LIST = "reference-list"
    """A non-empty array of relative references (``selections``, ``dispatchedOrders``)."""
    BUNDLE = "bundle"
    """A FHIR Bundle of resources (``draftOrders``, ``appointments``)."""
    RESOURCE = "resource"
    """A single FHIR resource (the older order-dispatch ``task``)."""
    RESOURCE_LIST = "resource-list"
    """A non-empty array of FHIR resources (``fulfillmentTasks``)."""


@dataclass(frozen=True, slots=True)
class ContextField:
    """One hook context field: name, shape, optionality and allowed resource types."""

    name: str
    kind: FieldKind
    required: bool = False
    resource_types: frozenset[str] = frozenset()
    entries_all_typed: bool = False
    """For bundles: every entry must be one of ``resource_types`` (else: at least one)."""
    entry_status: str | None = None
    """For bundles: the ``status`` each typed entry must have (``proposed`` appointments)."""

    @property
    def prefetch_token(self) -> bool:
        """Whether CDS Hooks 2.0 allows ``{{context.<name>}}`` in prefetch templates."""
        return self.kind in (FieldKind.ID, FieldKind.REFERENCE)


def _types_text(types: frozenset[str]) -> str:
    return ", ".join(sorted(types))


def check_field(spec: ContextField, value: Any, path: str) -> list[str]:
    """Return the problems of one present context field value."""
    if value is None or value in ("", [], {}):
        return [f"{path}: must not be null or empty (omit optional fields instead)"]
    checker = _CHECKERS[spec.kind]
    return checker(spec, value, path)


def _check_id(spec: ContextField, value: Any, path: str) -> list[str]:
    if not isinstance(value, str):
        return [f"{path}: must be a string holding a FHIR id"]
    if "/" in value:
        return [f"{path}: must be a FHIR id, not a reference ('{clip(value)}')"]
    if not FHIR_ID_RE.fullmatch(value):
        return [f"{path}: '{clip(value)}' is not a valid FHIR id"]
    return []


def _check_reference(spec: ContextField, value: Any, path: str) -> list[str]:
    if not isinstance(value, str):
        return [f"{path}: must be a string reference like 'Type/id'"]
    match = RELATIVE_REFERENCE_RE.fullmatch(value)
    if match is None:
        return [f"{path}: '{clip(value)}' is not a relative reference 'Type/id'"]
    if spec.resource_types and match.group(1) not in spec.resource_types:
        allowed = _types_text(spec.resource_types)
        return [f"{path}: must reference one of {allowed}, not {match.group(1)}"]
    return []


def _check_reference_list(spec: ContextField, value: Any, path: str) -> list[str]:
    if not isinstance(value, list):
        return [f"{path}: must be an array of references like 'Type/id'"]
    problems: list[str] = []
    for index, item in enumerate(value):
        problems.extend(_check_reference(spec, item, f"{path}[{index}]"))
    return problems


def _check_resource(spec: ContextField, value: Any, path: str) -> list[str]:
    if not isinstance(value, Mapping) or not isinstance(value.get("resourceType"), str):
        return [f"{path}: must be a FHIR resource (an object with resourceType)"]
    rtype = value["resourceType"]
    if spec.resource_types and rtype not in spec.resource_types:
        return [f"{path}: must be of type {_types_text(spec.resource_types)}, not {clip(rtype)}"]
    return []


def _check_resource_list(spec: ContextField, value: Any, path: str) -> list[str]:
    if not isinstance(value, list):
        return [f"{path}: must be an array of FHIR resources"]
    problems: list[str] = []
    for index, item in enumerate(value):
        problems.extend(_check_resource(spec, item, f"{path}[{index}]"))
    return problems


def _check_bundle(spec: ContextField, value: Any, path: str) -> list[str]:
    if not isinstance(value, Mapping) or value.get("resourceType") != "Bundle":
        return [f"{path}: must be a FHIR Bundle"]
    entries = value.get("entry")
    if not isinstance(entries, list) or not entries:
        return [f"{path}.entry: must be a non-empty array of entries"]
    problems: list[str] = []
    typed = 0
    for index, entry in enumerate(entries):
        entry_problems, is_typed = _check_entry(spec, entry, f"{path}.entry[{index}]")
        problems.extend(entry_problems)
        typed += is_typed
    if not problems and spec.resource_types and typed == 0:
        problems.append(f"{path}: must contain at least one {_types_text(spec.resource_types)}")
    return problems


def _check_entry(spec: ContextField, entry: Any, path: str) -> tuple[list[str], bool]:
    """Check one Bundle entry; also say whether it holds one of the wanted types."""
    resource = entry.get("resource") if isinstance(entry, Mapping) else None
    if not isinstance(resource, Mapping) or not isinstance(resource.get("resourceType"), str):
        return [f"{path}.resource: must be a FHIR resource (an object with resourceType)"], False
    rtype = resource["resourceType"]
    rid = resource.get("id")
    problems: list[str] = []
    if not isinstance(rid, str) or not FHIR_ID_RE.fullmatch(rid):
        problems.append(f"{path}.resource.id: is required and must be a FHIR id")
    typed = not spec.resource_types or rtype in spec.resource_types
    if spec.entries_all_typed and not typed:
        allowed = _types_text(spec.resource_types)
        problems.append(f"{path}.resource: must be of type {allowed}, not {clip(rtype)}")
    status = resource.get("status")
    if typed and spec.entry_status is not None and status != spec.entry_status:
        problems.append(
            f"{path}.resource.status: must be '{spec.entry_status}', not {clip(repr(status))}"
        )
    return problems, typed


_CHECKERS = {
    FieldKind.ID: _check_id,
    FieldKind.REFERENCE: _check_reference,
    FieldKind.REFERENCE_LIST: _check_reference_list,
    FieldKind.BUNDLE: _check_bundle,
    FieldKind.RESOURCE: _check_resource,
    FieldKind.RESOURCE_LIST: _check_resource_list,
}


def bundle_keys(bundle: Any) -> set[str]:
    """Return ``Type/id`` of every resource in a Bundle (used for ``selections``)."""
    keys: set[str] = set()
    entries = bundle.get("entry") if isinstance(bundle, Mapping) else None
    for entry in entries if isinstance(entries, Sequence) else ():
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(resource, Mapping):
            rtype, rid = resource.get("resourceType"), resource.get("id")
            if isinstance(rtype, str) and isinstance(rid, str):
                keys.add(f"{rtype}/{rid}")
    return keys
