"""Claim items and attachments for a PAS request (PAS 2.2.1 §Claim, ``profile-claim``).

One item per order: ``extension-serviceItemRequestType`` and ``extension-certificationType``
(both 1..1 in 2.2.1), ``extension-requestedService`` naming the order, ``category`` (X12
1365 service type), ``productOrService`` (the order's code), ``location[x]`` (CMS place of
service) and, when the order states them, the service date or period and the quantity.

A DTR QuestionnaireResponse travels as ``supportingInfo:AdditionalInformation``; in 2.2.1
with ``extension-documentInformation`` whose ``controlNumber`` (X12 PWK06, the attachment
control number) is the CRD ``coverage-assertion-id`` (CRD ``resp-31``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from davinci_pa.errors import RequestError
from davinci_pa.fhir.codes import with_canonical_systems
from davinci_pa.fhir.json import obj, objects
from davinci_pa.pas import vocabulary as v
from davinci_pa.types import Resource

COVERAGE_INFORMATION = (
    "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
)
EXT_REQUEST_TYPE = v.SD + "extension-serviceItemRequestType"
EXT_DOCUMENT_INFORMATION = v.SD + "extension-documentInformation"
PAS_TEMP = v.PAS + "/CodeSystem/PASTempCodes"
X12_1365 = "https://codesystem.x12.org/005010/1365"
X12_1525 = "https://codesystem.x12.org/005010/1525"
X12_755 = "https://codesystem.x12.org/005010/755"
X12_756 = "https://codesystem.x12.org/005010/756"
PLACE_OF_SERVICE = (
    "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
)
_ORDER_CODES = {
    "ServiceRequest": "code",
    "DeviceRequest": "codeCodeableConcept",
    "MedicationRequest": "medicationCodeableConcept",
}
ORDER_TYPES = frozenset({"ServiceRequest", "DeviceRequest", "MedicationRequest", "NutritionOrder"})
_PROFILED = {
    "ServiceRequest": "profile-servicerequest",
    "DeviceRequest": "profile-devicerequest",
    "MedicationRequest": "profile-medicationrequest",
    "NutritionOrder": "profile-nutritionorder",
    "Coverage": "profile-coverage",
    "Practitioner": "profile-practitioner",
    "PractitionerRole": "profile-practitionerrole",
    "Location": "profile-location",
    "Encounter": "profile-encounter",
    "Organization": "profile-organization",
}


@dataclass(frozen=True, slots=True)
class ItemCodes:
    """The X12 and CMS codes each item and attachment needs (X12 code lists are licensed).

    Attributes:
        service_type: X12 1365 (UM03) service type; ``1`` Medical Care.
        place_of_service: CMS place-of-service code; ``12`` Home.
        request_type: X12 1525 (UM01) request category; ``HS`` Health Services Review.
        certification_type: X12 1322 (UM02); ``I`` Initial (``3`` cancels).
        report_type: X12 755 (PWK01) for DTR attachments; ``OZ`` Support Data for Claim.
        transmission_method: X12 756 (PWK02); ``EL`` Electronically Only.
    """

    service_type: str = "1"
    place_of_service: str = "12"
    request_type: str = "HS"
    certification_type: str = "I"
    report_type: str = "OZ"
    transmission_method: str = "EL"


def canonical_order(order: Resource) -> Resource:
    """The order with its code in canonical code-system URIs (PAS bindings name one URI)."""
    field = _ORDER_CODES.get(str(order.get("resourceType")))
    if field is None or field not in order:
        return order
    return {**order, field: with_canonical_systems(order[field])}


def profile_for(resource_type: str) -> str | None:
    """The PAS profile (same name in 2.0.1 and 2.2.1) a resource of this type is stamped with.

    None for types PAS does not profile (their ``meta`` is left alone).
    """
    name = _PROFILED.get(resource_type)
    return v.SD + name if name else None


def claim_item(sequence: int, order_ref: Resource, order: Resource, codes: ItemCodes) -> Resource:
    """The Claim item requesting ``order`` (``order_ref`` is the Reference to its entry)."""
    if order.get("resourceType") not in ORDER_TYPES:
        raise RequestError(f"{order.get('resourceType')} is not an order PAS can request")
    item: Resource = {
        "extension": [
            _coded(EXT_REQUEST_TYPE, X12_1525, codes.request_type),
            _coded(v.EXT_CERTIFICATION_TYPE, v.X12_1322, codes.certification_type),
            {"url": v.EXT_REQUESTED_SERVICE, "valueReference": dict(order_ref)},
        ],
        "sequence": sequence,
        "category": _concept(X12_1365, codes.service_type),
        "productOrService": _product(order),
    }
    item.update(_serviced(order))
    item["locationCodeableConcept"] = _concept(PLACE_OF_SERVICE, codes.place_of_service)
    quantity = _quantity(order)
    if quantity:
        item["quantity"] = quantity
    return item


def assertion_ids(orders: Iterable[Resource]) -> list[str]:
    """The distinct CRD ``coverage-assertion-id`` values the orders carry, in order."""
    found: list[str] = []
    for order in orders:
        for value in _assertion_ids(order):
            if value not in found:
                found.append(value)
    return found


def attachment(
    sequence: int,
    response_ref: Resource,
    response: Resource,
    order_ids: list[str],
    codes: ItemCodes,
    version: str,
) -> Resource:
    """The ``AdditionalInformation`` supportingInfo entry attaching a QuestionnaireResponse.

    The control number is the response's own ``coverage-assertion-id``, else the orders'
    one when they share a single one.
    """
    own = _assertion_ids(response)
    control = own[0] if own else order_ids[0] if len(order_ids) == 1 else None
    entry: Resource = {
        "sequence": sequence,
        "category": _concept(PAS_TEMP, "additionalInformation"),
        "valueReference": dict(response_ref),
    }
    if version == "2.2.1":
        parts = [
            {"url": "reportTypeCode", "valueCodeableConcept": _concept(X12_755, codes.report_type)},
            {
                "url": "transmissionMethod",
                "valueCodeableConcept": _concept(X12_756, codes.transmission_method),
            },
        ]
        if control:
            parts.append({"url": "controlNumber", "valueString": control})
        questionnaire = response.get("questionnaire")
        if isinstance(questionnaire, str):
            parts.append({"url": "description", "valueString": f"DTR answers to {questionnaire}"})
        entry["extension"] = [{"url": EXT_DOCUMENT_INFORMATION, "extension": parts}]
    return entry


def _assertion_ids(resource: Resource) -> list[str]:
    found = []
    for ext in objects(resource.get("extension")):
        if ext.get("url") != COVERAGE_INFORMATION:
            continue
        for part in objects(ext.get("extension")):
            value = part.get("valueString")
            if part.get("url") == "coverage-assertion-id" and isinstance(value, str) and value:
                found.append(value)
    return found


def _product(order: Resource) -> Any:
    field = _ORDER_CODES.get(str(order.get("resourceType")))
    concept = obj(order.get(field)) if field else _nutrition_code(order)
    if not objects(concept.get("coding")):
        raise RequestError(
            f"{order.get('resourceType')}/{order.get('id')}: the order has no code for "
            "Claim.item.productOrService"
        )
    return with_canonical_systems({"coding": [dict(c) for c in objects(concept.get("coding"))]})


def _nutrition_code(order: Resource) -> dict[str, Any]:
    diets = objects(obj(order.get("oralDiet")).get("type"))
    return diets[0] if diets else obj(obj(order.get("enteralFormula")).get("baseFormulaType"))


def _serviced(order: Resource) -> dict[str, Any]:
    when = order.get("occurrenceDateTime")
    if isinstance(when, str):
        return {"servicedDate": when[:10]}
    period = obj(order.get("occurrencePeriod")) or obj(
        obj(obj(order.get("occurrenceTiming")).get("repeat")).get("boundsPeriod")
    )
    if not period and order.get("resourceType") == "MedicationRequest":
        period = obj(obj(order.get("dispenseRequest")).get("validityPeriod"))
    dates = {k: str(period[k])[:10] for k in ("start", "end") if isinstance(period.get(k), str)}
    return {"servicedPeriod": dates} if dates else {}


def _quantity(order: Resource) -> dict[str, Any] | None:
    quantity = obj(order.get("quantityQuantity")) or obj(
        obj(order.get("dispenseRequest")).get("quantity")
    )
    if not isinstance(quantity.get("value"), int | float) or isinstance(quantity["value"], bool):
        return None
    if not (quantity.get("unit") or quantity.get("code")):
        return None
    return dict(quantity)


def _concept(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _coded(url: str, system: str, code: str) -> dict[str, Any]:
    return {"url": url, "valueCodeableConcept": _concept(system, code)}
