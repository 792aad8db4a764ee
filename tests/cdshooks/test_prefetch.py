"""Prefetch: sent data, null and OperationOutcome handling, FHIR fallback queries, 412 rules."""

from __future__ import annotations

import copy
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from davinci_pa.cdshooks.hooks import HookRequest, parse_hook_request
from davinci_pa.cdshooks.prefetch import PrefetchResolver, PrefetchResult, index_request
from davinci_pa.errors import ConfigurationError, PrefetchUnavailable
from tests._shared import load_shared_json

EHR = "https://inferno.healthit.gov/reference-server/r4"
EHR_URLS = re.compile(re.escape(EHR) + ".*")


def _templates(hook: str) -> dict[str, str]:
    services = load_shared_json("specs", "crd-2.2", "CRDServices.json")["services"]
    prefetch: dict[str, str] = next(s for s in services if s["hook"] == hook)["prefetch"]
    return prefetch


def _request(name: str, **changes: Any) -> HookRequest:
    body = copy.deepcopy(load_shared_json("fixtures", "crd", "inferno", name))
    for key, value in changes.items():
        if value is ...:
            body.pop(key, None)
        else:
            body[key] = value
    return parse_hook_request(body, service_hook=body["hook"])


class MockEhr:
    """Serves reads and the searches prefetch uses from the Inferno transaction bundle."""

    def __init__(self) -> None:
        bundle = load_shared_json("fixtures", "crd", "inferno", "crd_transaction_bundle.json")
        self.resources = {
            (e["resource"]["resourceType"], e["resource"]["id"]): e["resource"]
            for e in bundle["entry"]
        }
        self.urls: list[str] = []

    def __call__(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        assert request.headers["Authorization"] == "Bearer SAMPLE_TOKEN"
        url = str(request.url)
        self.urls.append(url[len(EHR) + 1 :])
        parts = urlsplit(url)
        path = parts.path.split("/r4/", 1)[1].split("/")
        if len(path) == 2:
            found = self.resources.get((path[0], path[1]))
            return (200, {}, json.dumps(found)) if found else (404, {}, "{}")
        return 200, {}, json.dumps(self._search(path[0], parse_qs(parts.query)))

    def _search(self, rtype: str, params: dict[str, list[str]]) -> dict[str, Any]:
        matches = [r for (t, _), r in self.resources.items() if t == rtype]
        if "_id" in params:
            wanted = params["_id"][0].split(",")
            matches = [r for r in matches if r["id"] in wanted]
        if "patient" in params:
            patient = "Patient/" + params["patient"][0]
            matches = [r for r in matches if r.get("beneficiary", {}).get("reference") == patient]
        return {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": r} for r in matches],
        }


@pytest.fixture
def ehr() -> MockEhr:
    return MockEhr()


def _resolver(templates: dict[str, str], **kwargs: Any) -> PrefetchResolver:
    kwargs.setdefault("allowed_fhir_servers", [EHR])
    return PrefetchResolver(templates, **kwargs)


@responses.activate
def test_crd22_order_sign_fills_missing_keys_from_the_ehr(ehr: MockEhr) -> None:
    responses.add_callback(responses.GET, url=EHR_URLS, callback=ehr)
    request = _request("order_sign-1.json")
    result = _resolver(_templates("order-sign")).resolve(request, required=["patient"])
    assert result.data["patient"] is request.prefetch["patient"]
    assert result.data["coverage"] is request.prefetch["coverage"]
    assert result.fetched == ["encounter", "practitioners"]
    assert ehr.urls == ["Encounter/pat015-rad-encounter", "Practitioner?_id=pra1234"]
    assert [r["id"] for r in result.resources("practitioners")] == ["pra1234"]
    assert set(result.data) == {"patient", "encounter", "coverage", "practitioners"}
    assert result.problems == []


def test_everything_sent_means_no_queries() -> None:
    body = load_shared_json("specs", "crd-2.2", "CRDServiceRequest.json")
    request = parse_hook_request(body, service_hook="order-sign")
    result = _resolver(_templates("order-sign"), allowed_fhir_servers=[]).resolve(request)
    assert result.fetched == []
    assert result.problems == []
    assert set(result.data) == {
        "patient",
        "encounter",
        "coverage",
        "practitionerRoles",
        "practitioners",
        "organizations",
        "locations",
    }


@responses.activate
def test_null_means_looked_and_found_nothing() -> None:
    request = _request("order_sign-1.json", prefetch={"patient": None})
    result = _resolver({"patient": "Patient/{{context.patientId}}"}).resolve(request)
    assert result.data == {"patient": None}
    assert result.fetched == []
    assert len(responses.calls) == 0


OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "x"}]}


@pytest.mark.parametrize(
    ("sent", "refetched", "kept"),
    [
        (OUTCOME, True, None),
        (
            {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": OUTCOME}]},
            True,
            None,
        ),
        (
            {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [
                    {"resource": OUTCOME},
                    {"resource": {"resourceType": "Coverage", "id": "c"}},
                ],
            },
            False,
            ["c"],
        ),
    ],
)
@responses.activate
def test_operation_outcomes_are_treated_as_missing(
    ehr: MockEhr, sent: dict[str, Any], refetched: bool, kept: list[str] | None
) -> None:
    responses.add_callback(responses.GET, url=EHR_URLS, callback=ehr)
    request = _request("order_sign-1.json", prefetch={"coverage": sent})
    templates = {"coverage": "Coverage?patient={{context.patientId}}&status=active"}
    result = _resolver(templates).resolve(request)
    assert ("coverage" in result.fetched) is refetched
    ids = [r["id"] for r in result.resources("coverage")]
    assert ids == (kept if kept is not None else ["cov015"])
    assert any("OperationOutcome" in p for p in result.problems)


UNQUERYABLE = [
    ({"fhirServer": "https://evil.example/fhir"}, "not on the allow list"),
    ({"fhirAuthorization": ...}, "no fhirAuthorization"),
    ({"fhirAuthorization": ..., "fhirServer": ...}, "no fhirServer"),
]


@pytest.mark.parametrize(("changes", "reason"), UNQUERYABLE, ids=[u[1] for u in UNQUERYABLE])
def test_required_key_that_cannot_be_queried_is_412(changes: dict[str, Any], reason: str) -> None:
    request = _request("order_sign-1.json", prefetch=..., **changes)
    resolver = _resolver({"patient": "Patient/{{context.patientId}}"})
    with pytest.raises(PrefetchUnavailable, match=reason) as caught:
        resolver.resolve(request, required=["patient"])
    assert caught.value.http_status == 412
    assert caught.value.details["keys"] == ["patient"]
    optional = resolver.resolve(request)
    assert optional.data == {}
    assert reason in optional.problems[0]


@pytest.mark.parametrize(
    "reply",
    [{"status": 500}, {"body": requests.ReadTimeout("slow")}, {"body": "not json"}],
)
@responses.activate
def test_fhir_server_failures_are_reported_not_raised(reply: dict[str, Any]) -> None:
    responses.get(f"{EHR}/Patient/pat015", **reply)
    request = _request("order_sign-1.json", prefetch=...)
    result = _resolver({"patient": "Patient/{{context.patientId}}"}).resolve(
        request, required=["patient"]
    )
    assert "patient" not in result.data
    assert result.fetched == ["patient"]
    assert result.problems[0].startswith("prefetch.patient: query Patient/pat015 failed")


@responses.activate
def test_read_404_means_nothing_found() -> None:
    responses.get(f"{EHR}/Patient/pat015", status=404)
    request = _request("order_sign-1.json", prefetch=...)
    result = _resolver({"patient": "Patient/{{context.patientId}}"}).resolve(request)
    assert result.data == {"patient": None}


@responses.activate
def test_time_budget_stops_further_queries() -> None:
    responses.get(f"{EHR}/Patient/pat015", json={"resourceType": "Patient", "id": "pat015"})
    ticks = iter([0.0, 0.0, 10.0])
    resolver = _resolver(
        {"patient": "Patient/{{context.patientId}}", "user": "Practitioner/{{userPractitionerId}}"},
        budget_seconds=5.0,
        clock=lambda: next(ticks),
    )
    result = resolver.resolve(_request("order_sign-1.json", prefetch=...))
    assert result.fetched == ["patient"]
    assert result.problems == ["prefetch.user: not queried, the prefetch time budget is spent"]


@responses.activate
def test_cds_hooks_20_tokens_and_crd_201_bundle_shorthand(ehr: MockEhr) -> None:
    responses.add_callback(responses.GET, url=EHR_URLS, callback=ehr)
    request = _request("order_sign-1.json", prefetch=...)
    templates = {
        "user": "Practitioner/{{userPractitionerId}}",
        "role": "PractitionerRole/{{userPractitionerRoleId}}",
        "orders": "DeviceRequest?_id={{context.draftOrders.DeviceRequest.id}}"
        "&_include=DeviceRequest:patient",
        "patientAgain": "Patient?_id={{context.patientId}}",
    }
    result = _resolver(templates).resolve(request)
    assert ehr.urls == [
        "Practitioner/pra1234",
        "DeviceRequest?_id=devreq-015-e0250&_include=DeviceRequest:patient",
        "Patient?_id=pat015",
    ]
    assert "role" not in result.data


def test_token_values_are_joined_and_encoded() -> None:
    request = _request("order_select_hook_request.json", prefetch=...)
    calls: list[str] = []

    class Client:
        def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
            raise AssertionError

        def search(self, resource_type: str, params: Any) -> dict[str, Any]:
            raise AssertionError

        def get(self, url: str) -> dict[str, Any]:
            calls.append(url)
            return {"resourceType": "Bundle", "type": "searchset"}

    templates = {
        "picked": "X?sel={{context.selections}}",
        "ids": "X?_id={{context.draftOrders.entry.resource.id}}",
        "dated": "X?date=ge{{today() - 30 days}}&empty={{context.nothing}}",
    }
    resolver = PrefetchResolver(
        templates,
        allowed_fhir_servers=["https://example/r4"],
        client_factory=lambda base, token: Client(),
    )
    result = resolver.resolve(request)
    assert calls == [
        "X?sel=NutritionOrder%2Fpureeddiet-simple,MedicationRequest%2Fsmart-MedicationRequest-103",
        "X?_id=pureeddiet-simple,smart-MedicationRequest-103",
    ]
    assert result.fetched == ["picked", "ids"]


@responses.activate
def test_crd22_dependent_keys_use_earlier_results(ehr: MockEhr) -> None:
    responses.add_callback(responses.GET, url=EHR_URLS, callback=ehr)
    request = _request("encounter_start-1.json", prefetch=...)
    result = _resolver(_templates("encounter-start")).resolve(request)
    assert ehr.urls[:3] == [
        "Patient/pat015",
        "Encounter/pat015-rad-encounter",
        "Coverage?patient=pat015&status=active",
    ]
    assert "Practitioner?_id=pra1234" in ehr.urls
    assert [r["id"] for r in result.resources("coverage")] == ["cov015"]


@pytest.mark.parametrize("template", ["Patient/{{}}", "X?a={{context.draftOrders.entry.(}}"])
def test_invalid_templates_fail_at_construction(template: str) -> None:
    with pytest.raises(ConfigurationError, match="prefetch template 'k'"):
        PrefetchResolver({"k": template})


def test_result_resources_and_request_index() -> None:
    body = load_shared_json("specs", "crd-2.2", "CRDServiceRequest.json")
    request = parse_hook_request(body, service_hook="order-sign")
    result = PrefetchResult(data={"patient": request.prefetch["patient"], "none": None})
    assert result.resources("patient")[0]["resourceType"] == "Patient"
    assert result.resources("none") == []
    assert result.resources("absent") == []
    index = index_request(request)
    assert index.resolve("ServiceRequest/1357") is not None
    assert index.resolve("http://example.org/someEHR/fhir/ServiceRequest/2468") is not None
    assert index.resolve("Patient/123") is request.prefetch["patient"]
