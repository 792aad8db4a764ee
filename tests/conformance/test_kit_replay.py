"""Every payload of the ONC conformance kits, replayed over HTTP and answered as the kit expects.

PAS (conformance-kits.md §3): every Bundle in ``fixtures/pas/v2.0.1`` and ``v2.2.1``
(approval, denial, pended, must-support, the claim-update sequence, inquiries, the
non-conformant Bundle, the Subscription), with profile validation on; each answer is checked
the way the kit's server suite checks it and validated against its PAS profile with the
project's validator. The approval, denial and pended workflows follow the demo decision rule
of ``docs/pas.md`` §Running the PAS conformance kit.

CRD (§1): every hook request in ``fixtures/crd/inferno``; DTR (§2): the kit's
``$questionnaire-package`` request and the golden input Parameters.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import requests

from davinci_pa.fhir.validation import Validator
from tests._shared import SHARED, load_shared_json, params_or_skip, shared_path
from tests.dtr.conftest import DtrApp, make_app
from tests.pas.conftest import HCPCS, Receiver, Server, kit, serve_pas
from tests.server.conftest import Service
from tests.server.test_crd_replay import assert_kit_checks

PAS = SHARED / "fixtures" / "pas"
PAS_SD = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
X12_306 = "https://codesystem.x12.org/005010/306"
PAYLOADS = sorted(
    f"{p.parent.name}/{p.name}"
    for p in PAS.glob("v2.*/*.json")
    if p.name not in {"subscription_resource.json", "nonconformant_pas_bundle.json"}
)
CPT = "http://www.ama-assn.org/go/cpt"
DEMO_CODES = {"denial": (CPT, "97810"), "pended": (HCPCS, "K0800")}
"""The demo rule (docs/pas.md): the ordered code decides; the kit's approval Bundle as sent
(acupuncture without chronic low back pain on record is denied; a power wheelchair is on the
prior-authorization list and pended for review)."""
EXPECTED = {"approval": "A1", "denial": "A3", "pended": "A4"}


PACKAGES = {"v2.2.1": "davinci_pas_2.2.1.tgz", "v2.0.1": "davinci_pas_2.0.1.tgz"}


@cache
def pas_validator(version: str) -> Validator:
    return Validator.from_packages([shared_path("igs", PACKAGES[version])])


def profile_errors(resource: dict[str, Any], profile: str, version: str = "v2.2.1") -> list[str]:
    """Errors of ``resource`` against a PAS profile of ``version`` (X12 code lists are
    licensed and not in the package: the kit suppresses those binding messages, so do we)."""
    issues = pas_validator(version).validate(resource, PAS_SD + profile)
    return [
        str(i)
        for i in issues
        if i.severity == "error" and "x12.org" not in i.message and "nubc.org" not in i.message
    ]


@pytest.fixture(scope="module")
def endpoints(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    """One endpoint per PAS version, each validating against its own IG (PAS conf-1)."""
    with (
        serve_pas(tmp_path_factory.mktemp("kit-221"), ig_packages=_package("v2.2.1")) as new,
        serve_pas(tmp_path_factory.mktemp("kit-201"), ig_packages=_package("v2.0.1")) as old,
    ):
        yield {"v2.2.1": new, "v2.0.1": old}


@pytest.fixture
def pas(endpoints: dict[str, Server]) -> Server:
    return endpoints["v2.2.1"]


@pytest.fixture(params=["v2.2.1", "v2.0.1"])
def fresh_pas(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Server]:
    """An endpoint of one version with an empty database: a workflow finds only its own."""
    with serve_pas(tmp_path, ig_packages=_package(request.param)) as server:
        server.version = request.param
        yield server


def _package(version: str) -> str:
    return str(shared_path("igs", PACKAGES[version]))


def review_actions(bundle: dict[str, Any]) -> list[str]:
    """Every X12 306 review action code on the bundle's first ClaimResponse's items."""
    claim_response = bundle["entry"][0]["resource"]
    codes = []
    for item in claim_response.get("item", []):
        for adjudication in item.get("adjudication", []):
            for action in adjudication.get("extension", []):
                for ext in action.get("extension", []):
                    concept = ext.get("valueCodeableConcept", {})
                    codes += [
                        c["code"] for c in concept.get("coding", []) if c["system"] == X12_306
                    ]
    return codes


def assert_references_resolve_once(bundle: dict[str, Any]) -> None:
    """The kit: every reference reachable from the ClaimResponse resolves to exactly one entry
    (``ClaimResponse.request`` exempt); relative ones against the last entry's base."""
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(urls) == len(set(urls))
    last = urls[-1]
    base = "/".join(last.split("/")[:-2]) + "/" if "://" in last else ""
    for path, ref in _references(bundle["entry"][0]["resource"], "ClaimResponse"):
        if path.startswith("ClaimResponse.request") or ref.startswith("#"):
            continue
        matches = [u for u in urls if u in {ref, base + ref}]
        assert len(matches) == 1, f"{path}: {ref} resolves to {matches}"


def _references(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        if isinstance(value.get("reference"), str):
            yield path, value["reference"]
        for key, child in value.items():
            yield from _references(child, f"{path}.{key}")
    elif isinstance(value, list):
        for n, child in enumerate(value):
            yield from _references(child, f"{path}[{n}]")


def check_submit_answer(
    request: dict[str, Any], response: requests.Response, version: str = "v2.2.1"
) -> dict[str, Any]:
    """The kit's $submit checks (2.x.02, .03) and the PAS profiles (spec-30, spec-33, spec-34)."""
    assert response.status_code in {200, 201}, response.text
    answer: dict[str, Any] = response.json()
    assert answer["resourceType"] == "Bundle"
    assert answer["type"] == "collection"
    assert answer["entry"][0]["resource"]["resourceType"] == "ClaimResponse"
    assert_references_resolve_once(answer)
    assert profile_errors(answer, "profile-pas-response-bundle", version) == []
    claim_response = answer["entry"][0]["resource"]
    assert profile_errors(claim_response, "profile-claimresponse", version) == []
    submitted = {i["sequence"] for i in request["entry"][0]["resource"].get("item", [])}
    returned = {i["itemSequence"] for i in answer["entry"][0]["resource"].get("item", [])}
    assert submitted <= returned
    return answer


def check_inquire_answer(
    response: requests.Response, version: str = "v2.2.1"
) -> list[dict[str, Any]]:
    """v2.2.1 $inquire: a Parameters of inquiry-response Bundles, each valid."""
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["resourceType"] == "Parameters"
    bundles = [p["resource"] for p in answer.get("parameter", [])]
    for bundle in bundles:
        assert bundle["entry"][0]["resource"]["resourceType"] == "ClaimResponse"
        assert_references_resolve_once(bundle)
        assert profile_errors(bundle, "profile-pas-inquiry-response-bundle", version) == []
        claim_response = bundle["entry"][0]["resource"]
        assert profile_errors(claim_response, "profile-claiminquiryresponse", version) == []
    return bundles


def demo_payload(version: str, workflow: str) -> dict[str, Any]:
    """The kit's Bundle for ``workflow``, with the ordered code the demo rule decides by."""
    bundle = copy.deepcopy(kit(version, f"{workflow}_pa_submit_request_payload.json")[0])
    if workflow not in DEMO_CODES:
        return bundle
    system, code = DEMO_CODES[workflow]
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] in {"ServiceRequest", "DeviceRequest"}:
            key = "code" if "code" in resource else "codeCodeableConcept"
            resource[key] = {"coding": [{"system": system, "code": code}]}
    bundle["identifier"]["value"] = f"{bundle['identifier']['value']}-{workflow}"
    return bundle


# -- PAS --------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", params_or_skip(PAYLOADS))
def test_pas_kit_payload_is_answered(endpoints: dict[str, Server], payload: str) -> None:
    """PAS spec-35 (a 2xx for a usable Bundle), spec-30 (ClaimResponse first), spec-33
    (echoed entries resolve), spec-34 (itemSequence echoes Claim.item.sequence), spec-46
    (every item comes back), spec-23 (response conforms); v2.2.1 $inquire answers a
    Parameters whose inquiry-response Bundles conform (spec-44: each references a Claim)."""
    version, name = payload.split("/")
    operation = "$inquire" if "inquire" in name else "$submit"
    for bundle in kit(version, name):
        response = endpoints[version].post(f"/fhir/Claim/{operation}", bundle)
        if operation == "$submit":
            answer = check_submit_answer(bundle, response, version)
            assert set(review_actions(answer)) <= {"A1", "A3", "A4", "A6", "C"}
        else:
            for found in check_inquire_answer(response, version):
                assert found["entry"][0]["resource"]["request"]


@pytest.mark.parametrize("workflow", ["approval", "denial", "pended"])
def test_pas_kit_workflow_gets_the_expected_decision(fresh_pas: Server, workflow: str) -> None:
    """The kit's decision check (2.1.04, 2.2.04, 2.3.1.04): every response of the workflow
    carries the expected X12 306 code: approval A1, denial A3, pended A4."""
    bundle = demo_payload(fresh_pas.version, workflow)
    response = fresh_pas.post("/fhir/Claim/$submit", bundle)
    answer = check_submit_answer(bundle, response, fresh_pas.version)
    assert set(review_actions(answer)) == {EXPECTED[workflow]}


def test_pas_pended_workflow_inquiry_finds_the_pended_request(fresh_pas: Server) -> None:
    """The pended workflow's $inquire with the kit's own inquiry payload, sent as is: its
    references to the earlier ServiceRequest, Claim and DocumentReference need not resolve
    (PAS: spec-13 binds the request Bundle, not a query-by-example inquiry)."""
    version = fresh_pas.version
    fresh_pas.post("/fhir/Claim/$submit", demo_payload(version, "pended"))
    inquiry = kit(version, "pended_pa_inquire_request_payload.json")[0]
    response = fresh_pas.post("/fhir/Claim/$inquire", inquiry)
    bundles = check_inquire_answer(response, version)
    assert [set(review_actions(b)) for b in bundles] == [{"A4"}]


def test_pas_inquiry_without_its_parties_is_refused(pas: Server) -> None:
    """An inquiry is matched on beneficiary, provider and insurer: those must be in it."""
    inquiry = copy.deepcopy(kit("v2.2.1", "pended_pa_inquire_request_payload.json")[0])
    inquiry["entry"] = [e for e in inquiry["entry"] if e["resource"]["resourceType"] != "Patient"]
    response = pas.post("/fhir/Claim/$inquire", inquiry)
    assert response.status_code == 400
    assert "Claim.patient" in response.text


def test_pas_claim_update_sequence_is_answered_in_order(pas: Server) -> None:
    """The kit's claim-update group (2.4): initial, add an item, modify one and cancel
    another, cancel all; spec-34 and spec-46 on each step; cancelled items come back C."""
    steps = ["initial", "add_item", "modify_cancel", "cancel_all"]
    actions = []
    for step in steps:
        bundle = kit("v2.2.1", f"claim_update_{step}_submit_payload.json")[0]
        bundle = copy.deepcopy(bundle)
        bundle["identifier"]["value"] += "-sequence"
        answer = check_submit_answer(bundle, pas.post("/fhir/Claim/$submit", bundle))
        actions.append(review_actions(answer))
    assert "C" in actions[2]
    assert set(actions[3]) == {"C"}


def test_pas_nonconformant_bundle_gets_a_4xx_operation_outcome(pas: Server) -> None:
    """The kit's error group (4): not 2xx, one OperationOutcome, on $submit and $inquire
    (PAS spec-35)."""
    bundle = kit("v2.2.1", "nonconformant_pas_bundle.json")[0]
    for operation in ("$submit", "$inquire"):
        response = pas.post(f"/fhir/Claim/{operation}", bundle)
        assert 400 <= response.status_code < 500
        assert response.json()["resourceType"] == "OperationOutcome"


def test_pas_kit_subscription_is_requested_and_handshaken(pas: Server, receiver: Receiver) -> None:
    """The kit's subscription setup (1.02-1.04): 201 with status requested, then a history
    Bundle handshake whose first entry's request.url ends Subscription/<id>/$status."""
    sub = copy.deepcopy(load_shared_json("fixtures", "pas", "v2.2.1", "subscription_resource.json"))
    sub["end"] = "2099-01-01T00:00:00Z"  # the kit's end lies in 2020
    sub["channel"]["endpoint"] = receiver.url
    created = pas.post("/fhir/Subscription", sub)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "requested"
    assert profile_errors(created.json(), "profile-subscription") == []
    _headers, handshake = receiver.wait_for(1)[0]
    assert handshake["type"] == "history"
    first = handshake["entry"][0]
    assert first["request"]["url"].endswith(f"Subscription/{created.json()['id']}/$status")


def test_pas_201_id_only_subscription_is_refused_with_the_reason(
    pas: Server, receiver: Receiver
) -> None:
    """The 2.0.1 kit's Subscription asks for id-only notifications; PAS 2.2 spec-62 allows
    only full-resource (the inquiry cannot carry a full answer), so it is refused, saying so."""
    sub = copy.deepcopy(load_shared_json("fixtures", "pas", "v2.0.1", "subscription_resource.json"))
    sub["end"] = "2099-01-01T00:00:00Z"
    sub["channel"]["endpoint"] = receiver.url
    response = pas.post("/fhir/Subscription", sub)
    assert response.status_code == 400
    assert "spec-62" in response.text


# -- CRD --------------------------------------------------------------------------------------

CRD_REFUSED = {
    "order_dispatch-1.json": (400, "hookInstance"),
    "order_sign_hook_request.json": (400, "intent"),
    "order_select_hook_request.json": (400, "intent"),
    "appointment_book_hook_request.json": (400, "end"),
    "order_dispatch_hook_request.json": (400, "ServiceRequest/example"),
    "fancy_structure_hook_request.json": (404, "unknown-service"),
}
"""Kit requests that are not valid CRD calls, and the 4xx naming why (CRD hook-13)."""
CRD_REQUESTS = sorted(
    p.name
    for p in (SHARED / "fixtures" / "crd" / "inferno").glob("*.json")
    if not p.name.startswith("crd_") and p.name != "order_select_context.json"
)
CRD_SD = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/profile-"


@cache
def crd_validator() -> Validator:
    return Validator.from_packages([shared_path("igs", "davinci-crd-2.0.1.tgz")])


@pytest.mark.parametrize("name", params_or_skip(CRD_REQUESTS))
def test_crd_kit_request_is_answered(service: Service, name: str) -> None:
    """Every CRD kit hook request: a valid answer the kit's checks accept, each updated order
    valid against its CRD profile (resp-13, resp-29), or the 4xx that names the problem."""
    for body in load_list("fixtures", "crd", "inferno", name):
        body = service.at_ehr(body)
        url = service.url(f"{body['hook']}-crd")
        response = requests.post(
            url, json=body, headers={"Authorization": f"Bearer {service.keys.token(url)}"}
        )
        if name in CRD_REFUSED:
            status, needle = CRD_REFUSED[name]
            assert response.status_code == status, response.text
            assert needle in response.text
            continue
        assert response.status_code == 200, response.text
        answer = response.json()
        assert_kit_checks(body["hook"], answer)
        for action in answer.get("systemActions", []):
            resource = action["resource"]
            profile = CRD_SD + resource["resourceType"].lower()
            issues = crd_validator().validate(resource, profile)
            assert [str(i) for i in issues if i.severity == "error"] == []


# -- DTR --------------------------------------------------------------------------------------

DTR_SD = "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/"
PACKAGE, NEXT = "questionnaire-package", "next-question"
DTR_INPUTS = {
    "initial_static_questionnaire_request.json": ("inferno", PACKAGE, 200, "PackageBundle"),
    "questionnaire_package_input_params_conformant.json": (
        "golden",
        PACKAGE,
        200,
        "operationOutcome",
    ),
    "questionnaire_package_input_params_non_conformant.json": ("golden", PACKAGE, 400, "'Bundle'"),
    "questionnaire_package_input_params_ri.json": ("golden", PACKAGE, 400, "beneficiary"),
    "next_question_initial_input_params_conformant.json": ("golden", NEXT, 400, "adaptive"),
    "next_question_initial_input_params_nonconformant.json": ("golden", NEXT, 400, "empty"),
    "next_question_input_params_missing_answer.json": ("golden", NEXT, 400, "item 3.1"),
    "next_question_input_params_no_origin_extension.json": ("golden", NEXT, 400, "origin"),
}
"""Every DTR kit request input, the status it gets and what a refusal names."""


@cache
def dtr_validator() -> Validator:
    return Validator.from_packages(
        [shared_path("igs", "davinci_dtr_2.0.1.tgz"), shared_path("igs", "davinci-crd-2.0.1.tgz")]
    )


@pytest.fixture(scope="module")
def dtr(tmp_path_factory: pytest.TempPathFactory) -> DtrApp:
    return make_app(tmp_path_factory.mktemp("kit-dtr"), dtr_version="2.0.1")


@pytest.mark.parametrize("name", sorted(DTR_INPUTS))
def test_dtr_kit_request_is_answered(dtr: DtrApp, name: str) -> None:
    """DTR kit inputs: a package Parameters valid against the DTR output profiles (each
    Bundle, Questionnaire and draft QuestionnaireResponse), or a 400 OperationOutcome that
    names the problem (spec-130, spec-147). An order no form applies to gets an ``Outcome``
    and no PackageBundle (oper-8), which the 2.0.1 output profile (PackageBundle 1..*) does
    not foresee: that answer is checked for its outcome only."""
    folder, operation, status, needle = DTR_INPUTS[name]
    body = load_shared_json("fixtures", "dtr", folder, name)
    reply = dtr.post(f"/fhir/Questionnaire/${operation}", body)
    assert reply.status_code == status, reply.get_json()
    answer = reply.get_json()
    assert needle in json.dumps(answer)
    if status != 200:
        assert answer["resourceType"] == "OperationOutcome"
        return
    if not any(p["name"] == "PackageBundle" for p in answer["parameter"]):
        assert answer["parameter"][0]["resource"]["resourceType"] == "OperationOutcome"
        return
    assert dtr_errors(answer, "dtr-qpackage-output-parameters") == []
    for parameter in answer["parameter"]:
        if parameter["name"] != "PackageBundle":
            continue
        bundle = parameter["resource"]
        assert dtr_errors(bundle, "DTR-QPackageBundle") == []
        questionnaire, draft = bundle["entry"][0]["resource"], bundle["entry"][-1]["resource"]
        assert dtr_errors(questionnaire, "dtr-std-questionnaire") == []
        assert dtr_errors(draft, "dtr-questionnaireresponse") == []


def dtr_errors(resource: dict[str, Any], profile: str) -> list[str]:
    issues = dtr_validator().validate(resource, DTR_SD + profile)
    return [str(i) for i in issues if i.severity == "error"]


def load_list(*parts: str) -> list[dict[str, Any]]:
    data = load_shared_json(*parts)
    return data if isinstance(data, list) else [data]
