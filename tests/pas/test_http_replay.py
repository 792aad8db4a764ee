"""Replay the PAS kit fixtures and our own decision fixtures through the HTTP app."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.pas.conftest import Server, kit, with_code

X12_306 = "https://codesystem.x12.org/005010/306"


def _actions(bundle: dict[str, Any]) -> list[str]:
    claim_response = bundle["entry"][0]["resource"]
    assert claim_response["resourceType"] == "ClaimResponse"
    return [
        ext["valueCodeableConcept"]["coding"][0]["code"]
        for item in claim_response.get("item", [])
        for adj in item["adjudication"]
        for action in adj["extension"]
        for ext in action["extension"]
        if ext["url"].endswith("reviewActionCode")
    ]


def _references_resolve(bundle: dict[str, Any]) -> None:
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(urls) == len(set(urls))
    claim_response = bundle["entry"][0]["resource"]
    for key in ("patient", "insurer", "requestor"):
        assert claim_response[key]["reference"] in urls, key


@pytest.mark.parametrize(
    ("version", "name"),
    [
        ("v2.2.1", "approval_pa_submit_request_payload.json"),
        ("v2.2.1", "denial_pa_submit_request_payload.json"),
        ("v2.2.1", "pended_pa_submit_request_payload.json"),
        ("v2.2.1", "must_support_pa_submit_request_payload.json"),
        ("v2.0.1", "approval_pa_submit_request_payload.json"),
        ("v2.0.1", "pended_pa_submit_request_payload.json"),
        ("v2.0.1", "must_support_pa_submit_request_payload.json"),
    ],
)
def test_kit_submissions_get_a_response_bundle(server: Server, version: str, name: str) -> None:
    for bundle in kit(version, name):
        response = server.post("/fhir/Claim/$submit", bundle)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["type"] == "collection"
        _references_resolve(answer)
        submitted = {i["sequence"] for i in bundle["entry"][0]["resource"]["item"]}
        returned = {i["itemSequence"] for i in answer["entry"][0]["resource"]["item"]}
        assert returned == submitted
        assert set(_actions(answer)) <= {"A1", "A3", "A4"}


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("E0250", "A1"),  # hospital bed: covered, no prior authorization
        ("E0240", "A3"),  # bath safety equipment: not covered, with the policy's reason
        ("K0800", "A4"),  # power mobility: on the prior authorization list, pended for review
    ],
)
def test_our_fixtures_produce_each_decision(server: Server, code: str, expected: str) -> None:
    ours = with_code(kit("v2.2.1", "pended_pa_submit_request_payload.json")[0], code, trace=code)
    answer = server.post("/fhir/Claim/$submit", ours).json()
    assert set(_actions(answer)) == {expected}
    claim_response = answer["entry"][0]["resource"]
    if expected == "A3":
        notes = " ".join(n["text"] for n in claim_response["processNote"])
        assert "not primarily medical" in notes
        reason = claim_response["item"][0]["adjudication"][0]["extension"][0]["extension"][-1]
        assert reason["url"] == "reasonCode"
    if expected == "A1":
        assert claim_response["preAuthRef"].startswith("PA-")


def test_same_bundle_twice_gets_the_stored_answer(server: Server) -> None:
    ours = with_code(
        kit("v2.2.1", "approval_pa_submit_request_payload.json")[0], "G0181", trace="dup"
    )
    first = server.post("/fhir/Claim/$submit", ours).json()
    second = server.post("/fhir/Claim/$submit", ours).json()
    assert first == second


def test_nonconformant_bundle_gets_one_operation_outcome(server: Server) -> None:
    bundle = kit("v2.2.1", "nonconformant_pas_bundle.json")[0]
    for operation in ("$submit", "$inquire"):
        response = server.post(f"/fhir/Claim/{operation}", bundle)
        assert 400 <= response.status_code < 500
        assert response.json()["resourceType"] == "OperationOutcome"


def test_claim_update_sequence(server: Server) -> None:
    steps = [
        "claim_update_initial_submit_payload.json",
        "claim_update_add_item_submit_payload.json",
        "claim_update_modify_cancel_submit_payload.json",
        "claim_update_cancel_all_submit_payload.json",
    ]
    seen: list[list[str]] = []
    for step in steps:
        bundle = kit("v2.2.1", step)[0]
        answer = server.post("/fhir/Claim/$submit", bundle).json()
        items = bundle["entry"][0]["resource"].get("item", [])
        returned = {i["itemSequence"] for i in answer["entry"][0]["resource"]["item"]}
        assert {i["sequence"] for i in items} <= returned  # spec-46: every item comes back
        seen.append(_actions(answer))
    assert seen[-1]
    assert set(seen[-1]) == {"C"}
    assert "C" in seen[2]


@pytest.mark.parametrize(
    ("header", "status"),
    [(None, 401), ("Bearer nonsense", 401), ("Basic abc", 401)],
)
def test_fhir_calls_need_a_token(server: Server, header: str | None, status: int) -> None:
    headers = {"Authorization": header} if header else {}
    response = requests.post(
        server.base + "/fhir/Claim/$submit", json={}, headers=headers, timeout=10
    )
    assert response.status_code == status
    assert response.json()["resourceType"] == "OperationOutcome"


def test_wrong_scope_is_403(server: Server) -> None:
    bundle = kit("v2.2.1", "approval_pa_submit_request_payload.json")[0]
    response = server.post("/fhir/Claim/$submit", bundle, admin=True)
    assert response.status_code == 403


def test_inquire_finds_a_submitted_authorization(server: Server) -> None:
    ours = with_code(
        kit("v2.0.1", "pended_pa_submit_request_payload.json")[0], "K0801", trace="inq"
    )
    server.post("/fhir/Claim/$submit", ours)
    inquiry = kit("v2.0.1", "pended_pa_inquire_request_payload.json")[0]
    inquiry["entry"][0]["resource"]["identifier"] = ours["entry"][0]["resource"]["identifier"]
    answer = server.post("/fhir/Claim/$inquire", inquiry).json()
    assert answer["resourceType"] == "Parameters"
    bundles = [p["resource"] for p in answer["parameter"]]
    assert len(bundles) == 1
    assert _actions(bundles[0]) == ["A4"]


def test_discovery_documents(server: Server) -> None:
    config = requests.get(server.base + "/fhir/.well-known/smart-configuration", timeout=10).json()
    assert config["token_endpoint"] == server.base + "/auth/token"
    metadata = requests.get(server.base + "/fhir/metadata", timeout=10).json()
    assert metadata["resourceType"] == "CapabilityStatement"
