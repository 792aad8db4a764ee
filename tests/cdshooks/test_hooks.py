"""Hook request parsing: real fixtures pass, every broken field is named."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from davinci_pa.cdshooks.hooks import HOOKS, parse_hook_request
from davinci_pa.errors import InvalidHookRequest
from tests._shared import load_shared_json

VALID_FIXTURES = [
    ("fixtures", "crd", "inferno", "any_hook_request-1.json"),
    ("fixtures", "crd", "inferno", "appointment_book-1.json"),
    ("fixtures", "crd", "inferno", "appointment_book-2.json"),
    ("fixtures", "crd", "inferno", "appointment_book_hook_request.json"),
    ("fixtures", "crd", "inferno", "encounter_discharge-1.json"),
    ("fixtures", "crd", "inferno", "encounter_discharge_hook_request.json"),
    ("fixtures", "crd", "inferno", "encounter_start-1.json"),
    ("fixtures", "crd", "inferno", "encounter_start_hook_request.json"),
    ("fixtures", "crd", "inferno", "order_dispatch-2.json"),
    ("fixtures", "crd", "inferno", "order_dispatch_hook_request.json"),
    ("fixtures", "crd", "inferno", "order_select-1.json"),
    ("fixtures", "crd", "inferno", "order_select-2.json"),
    ("fixtures", "crd", "inferno", "order_select_hook_request.json"),
    ("fixtures", "crd", "inferno", "order_sign-1.json"),
    ("fixtures", "crd", "inferno", "order_sign-2.json"),
    ("fixtures", "crd", "inferno", "order_sign_hook_request.json"),
    ("specs", "crd-2.2", "CRDServiceRequest.json"),
    ("specs", "crd-2.2", "CRDServiceRequest2.json"),
    ("specs", "crd-2.2", "CRDServiceRequest3.json"),
    ("specs", "crd-2.2", "CRDServiceRequest4.json"),
]


@pytest.mark.parametrize("parts", VALID_FIXTURES, ids=lambda p: p[-1])
def test_real_requests_parse(parts: tuple[str, ...]) -> None:
    body = load_shared_json(*parts)
    request = parse_hook_request(body, service_hook=body["hook"])
    assert request.hook == body["hook"]
    assert request.hook_instance == body["hookInstance"]
    assert request.fhir_server == body["fhirServer"]
    assert request.prefetch == body.get("prefetch", {})
    assert request.fhir_authorization is not None
    assert request.fhir_authorization.access_token == body["fhirAuthorization"]["access_token"]
    assert "access_token" not in repr(request.fhir_authorization).replace("access_token=", "")


def test_inferno_preset_with_non_hex_hook_instance_is_rejected() -> None:
    body = load_shared_json("fixtures", "crd", "inferno", "order_dispatch-1.json")
    with pytest.raises(InvalidHookRequest) as caught:
        parse_hook_request(body, service_hook="order-dispatch")
    assert caught.value.message == "hookInstance: must be a globally unique UUID"


def test_requested_version_and_extension_are_exposed() -> None:
    body = load_shared_json("specs", "crd-2.2", "CRDServiceRequest.json")
    request = parse_hook_request(body, service_hook="order-sign")
    assert request.requested_version == "2.2"
    assert request.extension["davinci-crd.configuration"]["max-cards"] == 5


def test_old_order_dispatch_shape_is_mirrored_into_current_names() -> None:
    body = load_shared_json("fixtures", "crd", "inferno", "order_dispatch_hook_request.json")
    request = parse_hook_request(body, service_hook="order-dispatch")
    assert request.context["dispatchedOrders"] == ["ServiceRequest/example"]
    assert request.context["fulfillmentTasks"] == [body["context"]["task"]]
    assert request.context["order"] == "ServiceRequest/example"
    assert "dispatchedOrders" not in body["context"], "the caller's body is not mutated"


def _order_sign() -> dict[str, Any]:
    body: dict[str, Any] = load_shared_json(
        "fixtures", "crd", "inferno", "order_sign_hook_request.json"
    )
    return body


def _order_select() -> dict[str, Any]:
    body: dict[str, Any] = load_shared_json(
        "fixtures", "crd", "inferno", "order_select_hook_request.json"
    )
    return body


def _appointment() -> dict[str, Any]:
    body: dict[str, Any] = load_shared_json(
        "fixtures", "crd", "inferno", "appointment_book_hook_request.json"
    )
    return body


def _dispatch() -> dict[str, Any]:
    body: dict[str, Any] = load_shared_json("specs", "crd-2.2", "CRDServiceRequest2.json")
    return body


def _set(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Set (or with value ... delete) a dotted path; list indices as integers."""
    body = copy.deepcopy(body)
    keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split(".")]
    target = body
    for key in keys[:-1]:
        target = target[key]
    if value is ...:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return body


BROKEN = [
    # envelope
    ("sign", "hook", ..., "hook: is required"),
    ("sign", "hook", "order-select", "hook: 'order-select' does not match this service's hook"),
    ("sign", "hookInstance", "1234", "hookInstance: must be a globally unique UUID"),
    ("sign", "hookInstance", 17, "hookInstance: must be a string"),
    ("sign", "context", ..., "context: is required"),
    ("sign", "context", [], "context: must be an object"),
    ("sign", "fhirServer", ..., "fhirServer: is required when fhirAuthorization is present"),
    ("sign", "fhirServer", "ftp://x/y", "fhirServer: must be an absolute http(s) URL"),
    ("sign", "fhirServer", "", "fhirServer: must be an absolute http(s) URL"),
    (
        "sign",
        "fhirAuthorization.token_type",
        "MAC",
        "fhirAuthorization.token_type: must be 'Bearer'",
    ),
    (
        "sign",
        "fhirAuthorization.expires_in",
        "300",
        "fhirAuthorization.expires_in: must be an integer",
    ),
    (
        "sign",
        "fhirAuthorization.access_token",
        "",
        "fhirAuthorization.access_token: must not be empty",
    ),
    ("sign", "fhirAuthorization.subject", ..., "fhirAuthorization.subject: is required"),
    ("sign", "prefetch", {}, "prefetch: must not be empty"),
    ("sign", "prefetch", {"patient": []}, "prefetch.patient: must be an object or null"),
    ("sign", "prefetch", {"patient": {"id": "1"}}, "prefetch.patient: must be a FHIR resource"),
    ("sign", "extension", {}, "extension: must not be empty"),
    (
        "sign",
        "extension",
        {"davinci-crd.requestedVersion": "two"},
        "extension.davinci-crd.requestedVersion: must be a version like '2.2'",
    ),
    # context: order-sign
    ("sign", "context.userId", ..., "context.userId: is required for the order-sign hook"),
    ("sign", "context.userId", "Patient/1", "context.userId: must reference one of Practitioner"),
    ("sign", "context.userId", "pra1234", "context.userId: 'pra1234' is not a relative reference"),
    ("sign", "context.userId", "", "context.userId: must not be null or empty"),
    ("sign", "context.patientId", "Patient/example", "context.patientId: must be a FHIR id, not a"),
    ("sign", "context.patientId", 12, "context.patientId: must be a string holding a FHIR id"),
    ("sign", "context.patientId", "a b", "context.patientId: 'a b' is not a valid FHIR id"),
    ("sign", "context.encounterId", None, "context.encounterId: must not be null or empty"),
    ("sign", "context.draftOrders", [], "context.draftOrders: must not be null or empty"),
    (
        "sign",
        "context.draftOrders",
        {"resourceType": "List"},
        "context.draftOrders: must be a FHIR Bundle",
    ),
    (
        "sign",
        "context.draftOrders.entry",
        [],
        "context.draftOrders.entry: must be a non-empty array",
    ),
    (
        "sign",
        "context.draftOrders.entry.0",
        {},
        "context.draftOrders.entry[0].resource: must be a FHIR",
    ),
    (
        "sign",
        "context.draftOrders.entry.0.resource.id",
        ...,
        "context.draftOrders.entry[0].resource.id: is required",
    ),
    (
        "sign",
        "context.draftOrders.entry",
        [{"resource": {"resourceType": "Patient", "id": "p"}}],
        "context.draftOrders: must contain at least one CommunicationRequest, DeviceRequest",
    ),
    # order-select
    (
        "select",
        "context.selections",
        ...,
        "context.selections: is required for the order-select hook",
    ),
    (
        "select",
        "context.selections",
        ["NutritionOrder/other"],
        "context.selections[0]: 'NutritionOrder/other' is not a resource in context.draftOrders",
    ),
    ("select", "context.selections", ["Patient/1"], "context.selections[0]: must reference one of"),
    (
        "select",
        "context.selections",
        "NutritionOrder/pureeddiet-simple",
        "context.selections: must be an array",
    ),
    # appointment-book
    ("appt", "context.userId", "RelatedPerson/r1", None),
    (
        "appt",
        "context.userId",
        "Device/d1",
        "context.userId: must reference one of Patient, Practitioner",
    ),
    (
        "appt",
        "context.appointments.entry.0.resource.status",
        "booked",
        "context.appointments.entry[0].resource.status: must be 'proposed', not 'booked'",
    ),
    (
        "appt",
        "context.appointments.entry.0.resource.resourceType",
        "Encounter",
        "context.appointments.entry[0].resource: must be of type Appointment, not Encounter",
    ),
    # order-dispatch
    (
        "dispatch",
        "context.dispatchedOrders",
        ...,
        "context.dispatchedOrders or context.order: one is required",
    ),
    (
        "dispatch",
        "context.dispatchedOrders",
        ["Patient/1"],
        "context.dispatchedOrders[0]: must reference one of",
    ),
    (
        "dispatch",
        "context.performer",
        ...,
        "context.performer: is required for the order-dispatch hook",
    ),
    ("dispatch", "context.performer", "Location/1", "context.performer: must reference one of"),
    (
        "dispatch",
        "context.fulfillmentTasks",
        [{"resourceType": "Patient"}],
        "context.fulfillmentTasks[0]: must be of type Task, not Patient",
    ),
    (
        "dispatch",
        "context.fulfillmentTasks",
        {"resourceType": "Task"},
        "context.fulfillmentTasks: must be an array of FHIR resources",
    ),
    # unknown context fields are ignored (CRD hook-23)
    ("sign", "context.somethingNew", {"x": [1]}, None),
]

BASES = {"sign": _order_sign, "select": _order_select, "appt": _appointment, "dispatch": _dispatch}


@pytest.mark.parametrize(("base", "path", "value", "expected"), BROKEN, ids=lambda v: str(v)[:40])
def test_broken_field_is_named(base: str, path: str, value: Any, expected: str | None) -> None:
    body = _set(BASES[base](), path, value)
    if expected is None:
        parse_hook_request(body, service_hook=body.get("hook", "order-sign"))
        return
    with pytest.raises(InvalidHookRequest) as caught:
        parse_hook_request(body, service_hook=BASES[base]()["hook"])
    problems = caught.value.details["problems"]
    assert any(p.startswith(expected) for p in problems), problems
    assert caught.value.message.startswith(problems[0])
    assert caught.value.http_status == 400


def test_all_problems_are_collected() -> None:
    body = _set(_order_sign(), "context", {"patientId": "Patient/1", "draftOrders": {}})
    with pytest.raises(InvalidHookRequest) as caught:
        parse_hook_request(body, service_hook="order-sign")
    problems = caught.value.details["problems"]
    assert problems == [
        "context.userId: is required for the order-sign hook",
        "context.patientId: must be a FHIR id, not a reference ('Patient/1')",
        "context.draftOrders: must not be null or empty (omit optional fields instead)",
    ]
    assert "and 2 more problem(s)" in caught.value.message


@pytest.mark.parametrize("body", [None, [], "x", 3, True, {"hook": "order-sign"}])
def test_non_objects_and_fragments_are_rejected(body: object) -> None:
    with pytest.raises(InvalidHookRequest):
        parse_hook_request(body, service_hook="order-sign")


def test_unknown_hook_checks_envelope_only() -> None:
    body = load_shared_json("fixtures", "crd", "inferno", "fancy_structure_hook_request.json")
    request = parse_hook_request(body, service_hook="fancy-structure")
    assert request.context == body["context"]


def test_every_crd_hook_is_defined() -> None:
    assert sorted(HOOKS) == [
        "appointment-book",
        "encounter-discharge",
        "encounter-start",
        "order-dispatch",
        "order-select",
        "order-sign",
    ]


def test_request_survives_json_round_trip_of_fixture() -> None:
    body = _order_sign()
    again = json.loads(json.dumps(body))
    assert parse_hook_request(again, service_hook="order-sign") == parse_hook_request(
        body, service_hook="order-sign"
    )
