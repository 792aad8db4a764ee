"""Bad input gets a clear 4xx naming the problem, never a 500 (CRD hook-9..hook-14, found-32)."""

from __future__ import annotations

import copy
import json
from typing import Any

import requests

from tests._shared import load_shared_json
from tests.server.conftest import Service, fresh_instance

DISCOVERY_KEYS = {"hook", "id", "description"}


def _order_sign() -> dict[str, Any]:
    return load_shared_json("specs", "crd-2.2", "CRDServiceRequest.json")


def _assert_error(response: requests.Response, status: int, *needles: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["operationOutcome"]["resourceType"] == "OperationOutcome"
    text = json.dumps(body)
    for needle in needles:
        assert needle in text, f"{needle!r} not in {text}"
    assert "Traceback" not in text
    return body


def test_discovery_lists_six_services_with_versions_and_options(service: Service) -> None:
    """CDS Hooks §Discovery; CRD dev-1 (versions), dev-4/dev-5 (options with defaults)."""
    body = requests.get(f"{service.base_url}/cds-services", timeout=10).json()
    hooks = {s["hook"] for s in body["services"]}
    assert hooks == {
        "order-sign",
        "order-select",
        "order-dispatch",
        "appointment-book",
        "encounter-start",
        "encounter-discharge",
    }
    for entry in body["services"]:
        assert entry.keys() >= DISCOVERY_KEYS
        assert entry["extension"]["davinci-crd.version"] == ["2.0", "2.2"]
        for option in entry["extension"]["davinci-crd.configuration-options"]:
            assert {"code", "type", "name", "description", "default"} <= option.keys()


def test_hook_call_without_token_is_401(service: Service) -> None:
    """Secure by default: no JWT, no answer."""
    response = requests.post(service.url("order-sign-crd"), json=_order_sign(), timeout=10)
    _assert_error(response, 401, "Authorization")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_token_for_another_service_is_401(service: Service) -> None:
    """CDS Hooks: aud must be the URL of the service being invoked."""
    token = service.keys.token(service.url("order-select-crd"))
    response = service.call(_order_sign(), token=token)
    _assert_error(response, 401, "aud")


def test_replayed_token_is_401(service: Service) -> None:
    """CDS Hooks: jti protects against replay, across requests."""
    token = service.keys.token(service.url("order-sign-crd"))
    assert service.call(_order_sign(), token=token).status_code == 200
    _assert_error(service.call(fresh_instance(_order_sign()), token=token), 401, "jti")


def test_rs384_tokens_are_accepted(service: Service) -> None:
    assert service.call(_order_sign(), alg="RS384").status_code == 200


def test_unknown_service_is_404(service: Service) -> None:
    _assert_error(service.call(_order_sign(), "no-such-service"), 404, "no-such-service")


def test_body_that_is_not_json_is_400(service: Service) -> None:
    url = service.url("order-sign-crd")
    response = requests.post(
        url,
        data=b"{not json",
        timeout=10,
        headers={
            "Authorization": f"Bearer {service.keys.token(url)}",
            "Content-Type": "application/json",
        },
    )
    _assert_error(response, 400, "not valid JSON")


def test_hook_of_another_service_is_400(service: Service) -> None:
    _assert_error(service.call(_order_sign(), "order-select-crd"), 400, "hook")


def test_missing_context_field_is_named(service: Service) -> None:
    body = _order_sign()
    del body["context"]["draftOrders"]
    _assert_error(service.call(body), 400, "draftOrders")


def test_hook_instance_must_be_a_uuid(service: Service) -> None:
    """The kit's own order_dispatch-1 body fails its .02 check; we say so with a 400."""
    body = load_shared_json("fixtures", "crd", "inferno", "order_dispatch-1.json")
    _assert_error(service.call(service.at_ehr(body)), 400, "hookInstance")


def test_invalid_fhir_in_context_is_400(service: Service) -> None:
    """CRD hook-9: the kit's NutritionOrder lacks the required intent; the Appointment's end
    is not an instant. We cannot echo invalid resources back, so we say what is wrong."""
    for name, needle in (
        ("order_sign_hook_request.json", "intent"),
        ("appointment_book_hook_request.json", "end"),
    ):
        body = load_shared_json("fixtures", "crd", "inferno", name)
        _assert_error(service.call(service.at_ehr(body)), 400, needle)


def test_dispatched_order_that_does_not_exist_is_400(service: Service) -> None:
    body = load_shared_json("fixtures", "crd", "inferno", "order_dispatch_hook_request.json")
    _assert_error(service.call(service.at_ehr(body)), 400, "ServiceRequest/example")


def test_unsupported_requested_version_is_400(service: Service) -> None:
    body = _order_sign()
    body["extension"]["davinci-crd.requestedVersion"] = "9.9"
    _assert_error(service.call(body), 400, "requestedVersion")


def test_payer_not_served_is_400(service: Service) -> None:
    """CRD hook-13: the Coverage's payer is identified and is not one this endpoint handles."""
    body = _order_sign()
    coverage = body["prefetch"]["coverage"]["entry"][0]["resource"]
    coverage["payor"] = [
        {"identifier": {"system": "urn:example", "value": "other"}, "display": "Another Plan"}
    ]
    _assert_error(service.call(body), 400, "payer-not-served")


def test_payer_that_cannot_be_identified_is_400_not_payer_not_served(service: Service) -> None:
    """CRD hook-13: the kit's Coverage names its payor only by a reference to an Organization
    that is not in the request; with no fhirServer nobody can say whose coverage it is."""
    body = load_shared_json("fixtures", "crd", "inferno", "order_sign-1.json")
    body.pop("fhirServer")
    body.pop("fhirAuthorization")
    answer = _assert_error(service.call(body), 400, "payer-not-identified", "Organization/")
    assert "payer-not-served" not in json.dumps(answer)
    issue = answer["operationOutcome"]["issue"][0]
    assert issue["code"] == "incomplete"


def test_coverage_without_payor_is_payer_not_identified(service: Service) -> None:
    """CRD hook-13: "the provided Coverage does not have a payer.identifier at all"."""
    body = _order_sign()
    body["prefetch"]["coverage"]["entry"][0]["resource"].pop("payor")
    body.pop("fhirServer", None)
    body.pop("fhirAuthorization", None)
    _assert_error(service.call(body), 400, "payer-not-identified", "no payor")


def test_coverage_found_empty_is_a_not_covered_answer(service: Service) -> None:
    """CRD resp-45: the EHR says there is no Coverage (empty prefetch Bundle): a 200 whose
    coverage information is not-covered with no-active-coverage, not an error."""
    body = _order_sign()
    body["prefetch"]["coverage"] = {"resourceType": "Bundle", "type": "searchset", "total": 0}
    body.pop("fhirServer", None)
    body.pop("fhirAuthorization", None)
    response = service.call(body)
    assert response.status_code == 200, response.text
    text = json.dumps(response.json())
    assert '"not-covered"' in text
    assert "no-active-coverage" in text


def test_missing_prefetch_without_fhir_server_is_412(service: Service) -> None:
    """CDS Hooks §Prefetch / CRD found-32: 412 only when data is missing and unqueryable."""
    body = _order_sign()
    body["prefetch"] = {k: v for k, v in body["prefetch"].items() if k != "coverage"}
    body.pop("fhirServer", None)
    body.pop("fhirAuthorization", None)
    _assert_error(service.call(body), 412, "coverage")


def test_no_active_coverage_is_an_answer_not_an_error(service: Service) -> None:
    """CRD resp-45: no active coverage gives not-covered with a reason."""
    body = _order_sign()
    body["prefetch"]["coverage"] = None
    answer = service.call(body).json()
    ext = answer["systemActions"][0]["resource"]["extension"][-1]["extension"]
    parts = {p["url"]: p for p in ext}
    assert parts["covered"]["valueCode"] == "not-covered"
    assert parts["reason"]["valueCodeableConcept"]["coding"][0]["code"] == "no-active-coverage"
    assert "pa-needed" not in parts


def test_calls_and_assertions_are_stored(service: Service) -> None:
    """CRD found-37 and found-11: every call and assertion can be found again."""
    answer = service.call(_order_sign()).json()
    ext = answer["systemActions"][0]["resource"]["extension"][-1]["extension"]
    assertion_id = next(p["valueString"] for p in ext if p["url"] == "coverage-assertion-id")
    record = service.payer.crd_records.assertion(assertion_id)
    assert record is not None
    assert record.order_ref.startswith("ServiceRequest/")


def test_max_cards_is_honoured(service: Service) -> None:
    """CRD dev-14: the client's configuration is obeyed; unknown options are ignored."""
    body = copy.deepcopy(_order_sign())
    body["extension"]["davinci-crd.configuration"] = {"max-cards": 1, "alt-drug": True}
    assert len(service.call(body).json()["cards"]) <= 1
    body["extension"]["davinci-crd.configuration"] = {"guideline": False, "coverage-info": False}
    answer = service.call(fresh_instance(body)).json()
    assert all(c["source"]["topic"]["code"] != "guideline" for c in answer["cards"])
    assert answer.get("systemActions", []) == []


def test_feedback_is_stored(service: Service) -> None:
    url = f"{service.url('order-sign-crd')}/feedback"
    item = {
        "card": "0b4f0c0e-8d5f-4d2a-9d7e-111111111111",
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": "0b4f0c0e-8d5f-4d2a-9d7e-222222222222"}],
        "outcomeTimestamp": "2026-11-23T10:00:00Z",
    }
    for _ in range(2):
        response = requests.post(
            url,
            json={"feedback": [item]},
            timeout=10,
            headers={"Authorization": f"Bearer {service.keys.token(url)}"},
        )
        assert response.status_code == 200, response.text
    assert service.payer.crd_records.feedback_count(item["card"]) == 2


def test_cors_preflight_allows_authorization(service: Service) -> None:
    """CDS Hooks §Security: browser-based clients need CORS."""
    response = requests.options(
        service.url("order-sign-crd"),
        timeout=10,
        headers={"Origin": "https://ehr.example.org", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 200
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
