"""The request resources a CRD hook is about, and the codes that identify what they order.

CRD §Hooks: order-sign and order-select carry ``draftOrders``; order-dispatch names
``dispatchedOrders``; appointment-book carries ``appointments``; the encounter hooks name an
Encounter. Coverage Information is attached to each of these (CRD ``resp-29``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from davinci_pa.cdshooks.context import ORDER_TYPES
from davinci_pa.fhir.codes import Code, codings
from davinci_pa.fhir.json import obj, objects
from davinci_pa.types import Resource

BILLING_OPTIONS = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-billing-options"
REQUEST_TYPES = ORDER_TYPES | {"Appointment", "Encounter"}
"""Resource types that can carry the coverage-information extension."""

Resolver = Callable[[str], Resource | None]
"""Resolve a reference string to a resource the request carried or the EHR returned."""


def bundle_resources(bundle: Any, types: frozenset[str]) -> list[Resource]:
    """Return the resources of the given types in a Bundle (malformed entries are skipped)."""
    if not isinstance(bundle, dict):
        return []
    return [
        entry["resource"]
        for entry in bundle.get("entry") or ()
        if isinstance(entry, dict)
        and isinstance(entry.get("resource"), dict)
        and entry["resource"].get("resourceType") in types
    ]


def order_codes(resource: Resource, resolve: Resolver) -> list[Code]:
    """Return every code that identifies what the request resource asks for."""
    extract = _EXTRACTORS.get(resource.get("resourceType", ""))
    return list(extract(resource, resolve)) if extract else []


def with_billing_codes(resource: Resource) -> Resource:
    """A copy of an order whose codes also list their billing options (CRD ``billopt-3``).

    Rules read the order's own code elements; this lets them see the billing codes the
    client added to a code with ``ext-billing-options``. The order itself is not changed.
    """
    copied = dict(resource)
    for key, value in resource.items():
        if not isinstance(value, dict):
            continue
        extra = [
            c
            for ext in objects(value.get("extension"))
            if ext.get("url") == BILLING_OPTIONS
            for c in objects(obj(ext.get("valueCodeableConcept")).get("coding"))
        ]
        if extra:
            copied[key] = {**value, "coding": [*objects(value.get("coding")), *extra]}
    return copied


def _concepts(*concepts: Any) -> Iterator[Code]:
    for concept in concepts:
        items = concept if isinstance(concept, list) else [concept]
        for item in items:
            yield from codings(item)
            yield from _billing_options(item)


def _billing_options(concept: Any) -> Iterator[Code]:
    """CRD ``billopt-3``: the likely billing codes a client adds to a code are considered."""
    for ext in objects(obj(concept).get("extension")):
        if ext.get("url") == BILLING_OPTIONS:
            yield from codings(ext.get("valueCodeableConcept"))


def _referenced_code(reference: Any, field: str, resolve: Resolver) -> Iterator[Code]:
    if isinstance(reference, dict) and isinstance(reference.get("reference"), str):
        target = resolve(reference["reference"])
        if target is not None:
            yield from _concepts(target.get(field))


def _device_request(r: Resource, resolve: Resolver) -> Iterator[Code]:
    yield from _concepts(r.get("codeCodeableConcept"))
    yield from _referenced_code(r.get("codeReference"), "type", resolve)


def _service_request(r: Resource, _resolve: Resolver) -> Iterator[Code]:
    yield from _concepts(r.get("code"))


def _medication_request(r: Resource, resolve: Resolver) -> Iterator[Code]:
    yield from _concepts(r.get("medicationCodeableConcept"))
    yield from _referenced_code(r.get("medicationReference"), "code", resolve)


def _nutrition_order(r: Resource, _resolve: Resolver) -> Iterator[Code]:
    supplements = [s.get("type") for s in objects(r.get("supplement"))]
    yield from _concepts(
        obj(r.get("oralDiet")).get("type"),
        obj(r.get("enteralFormula")).get("baseFormulaType"),
        supplements,
    )


def _vision_prescription(r: Resource, _resolve: Resolver) -> Iterator[Code]:
    yield from _concepts([s.get("product") for s in objects(r.get("lensSpecification"))])


def _communication_request(r: Resource, _resolve: Resolver) -> Iterator[Code]:
    payload = [p.get("contentCodeableConcept") for p in objects(r.get("payload"))]
    yield from _concepts(payload, r.get("category"), r.get("reasonCode"))


def _appointment(r: Resource, _resolve: Resolver) -> Iterator[Code]:
    yield from _concepts(r.get("serviceType"), r.get("appointmentType"), r.get("reasonCode"))


def _encounter(r: Resource, _resolve: Resolver) -> Iterator[Code]:
    yield from _concepts(r.get("type"), r.get("serviceType"))


_EXTRACTORS: dict[str, Callable[[Resource, Resolver], Iterator[Code]]] = {
    "DeviceRequest": _device_request,
    "ServiceRequest": _service_request,
    "MedicationRequest": _medication_request,
    "NutritionOrder": _nutrition_order,
    "VisionPrescription": _vision_prescription,
    "CommunicationRequest": _communication_request,
    "Appointment": _appointment,
    "Encounter": _encounter,
}
