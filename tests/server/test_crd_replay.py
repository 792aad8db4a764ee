"""Replay the Inferno CRD kit's hook requests and the CRD 2.2 IG examples over HTTP.

Each response is checked the way the kit's server suite checks it (conformance-kits.md §1.4:
.05 response fields, .06 optional card fields, .10 a coverage-information action of the
hook's target type, .11 one assertion id per coverage) and for the coverage-information
invariants.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from davinci_pa.cdshooks.response import validate_response
from davinci_pa.crd.coverage_info import COVERAGE_INFO_URL
from davinci_pa.crd.services import PRIMARY_HOOKS
from tests._shared import SHARED, load_shared_json, params_or_skip
from tests.server.conftest import Service

INFERNO = SHARED / "fixtures" / "crd" / "inferno"
NOT_REPLAYED = {
    "fancy_structure_hook_request.json": "not a CRD hook",
    "order_select_context.json": "a context, not a request",
    "order_dispatch-1.json": "hookInstance is not a UUID (test_crd_errors)",
    "order_sign_hook_request.json": "its NutritionOrder has no intent (test_crd_errors)",
    "order_select_hook_request.json": "its NutritionOrder has no intent (test_crd_errors)",
    "appointment_book_hook_request.json": "its Appointment.end is not an instant (test_crd_errors)",
    "order_dispatch_hook_request.json": "ServiceRequest/example exists nowhere (test_crd_errors)",
}
KIT_REQUESTS = sorted(
    p.name
    for p in INFERNO.glob("*.json")
    if not p.name.startswith("crd_") and p.name not in NOT_REPLAYED
)
IG_REQUESTS = [f"CRDServiceRequest{n}.json" for n in ("", "2", "3", "4")]
IG_UNANSWERABLE = {
    "CRDServiceRequest2.json": "dispatchedOrders",
    "CRDServiceRequest3.json": "coverage",
    "CRDServiceRequest4.json": "coverage",
}
"""IG examples whose required data is neither prefetched nor queryable (example.org server)."""
TARGET_TYPES = {
    "appointment-book": {"Appointment", "ServiceRequest"},
    "encounter-start": {"Encounter"},
    "encounter-discharge": {"Encounter"},
}
ORDER_TYPES = {
    "DeviceRequest",
    "MedicationRequest",
    "NutritionOrder",
    "ServiceRequest",
    "VisionPrescription",
    "CommunicationRequest",
}


def _bodies(name: str, *folder: str) -> list[dict[str, Any]]:
    data = load_shared_json(*folder, name)
    return data if isinstance(data, list) else [data]


def _coverage_extensions(action: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in action["resource"].get("extension", []) if e["url"] == COVERAGE_INFO_URL]


def _parts(extension: dict[str, Any]) -> dict[str, list[Any]]:
    parts: dict[str, list[Any]] = defaultdict(list)
    for part in extension["extension"]:
        value = next(v for k, v in part.items() if k.startswith("value") or k == "extension")
        parts[part["url"]].append(value)
    return parts


def assert_kit_checks(hook: str, answer: dict[str, Any]) -> None:
    """The Inferno server checks .05, .06, .10 and .11, plus crd-ci-q5."""
    assert validate_response(answer, hook=hook) == []
    actions = [a for a in answer.get("systemActions", []) if _coverage_extensions(a)]
    if hook in PRIMARY_HOOKS:
        assert "systemActions" in answer
        wanted = TARGET_TYPES.get(hook, ORDER_TYPES)
        assert any(a["resource"]["resourceType"] in wanted for a in actions)
    ids_by_coverage: dict[str, set[str]] = defaultdict(set)
    for action in actions:
        assert action["type"] == "update"
        for ext in _coverage_extensions(action):
            parts = _parts(ext)
            coverage = parts["coverage"][0].get("reference") or parts["coverage"][0].get("display")
            ids_by_coverage[coverage].update(parts["coverage-assertion-id"])
            assert ("satisfied-pa-id" in parts) == (parts.get("pa-needed") == ["satisfied"])
    for coverage, ids in ids_by_coverage.items():
        assert len(ids) >= 1, coverage


@pytest.mark.parametrize("name", params_or_skip(KIT_REQUESTS))
def test_kit_hook_requests_get_valid_answers(service: Service, name: str) -> None:
    """CRD kit 3.x.01-.11: every tester body gets 200 and valid cards and actions."""
    for body in _bodies(name, "fixtures", "crd", "inferno"):
        response = service.call(service.at_ehr(body))
        assert response.status_code == 200, response.text
        assert_kit_checks(body["hook"], response.json())


@pytest.mark.parametrize("name", IG_REQUESTS)
def test_ig_example_requests_get_valid_answers(service: Service, name: str) -> None:
    """The CRD 2.2 IG examples: answered from prefetch, or 412 when the Coverage is missing and
    their (example.org) FHIR server is not one we may query (CDS Hooks §Prefetch, found-32)."""
    body = load_shared_json("specs", "crd-2.2", name)
    response = service.call(body)
    if name in IG_UNANSWERABLE:
        assert response.status_code == 412, response.text
        assert IG_UNANSWERABLE[name] in response.json()["message"]
        return
    assert response.status_code == 200, response.text
    assert_kit_checks(body["hook"], response.json())


def test_required_card_types_appear_across_hooks(service: Service) -> None:
    """CRD kit 3.7: an Instructions card, an External Reference card and coverage info."""
    kinds: set[str] = set()
    for name in KIT_REQUESTS:
        for body in _bodies(name, "fixtures", "crd", "inferno"):
            answer = service.call(service.at_ehr(body)).json()
            for card in answer["cards"]:
                links = card.get("links", [])
                if not links and not card.get("suggestions"):
                    kinds.add("instructions")
                if links and all(link["type"] == "absolute" for link in links):
                    kinds.add("external-reference")
            if any(_coverage_extensions(a) for a in answer.get("systemActions", [])):
                kinds.add("coverage-information")
    assert kinds >= {"instructions", "external-reference", "coverage-information"}
