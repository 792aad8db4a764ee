"""PAS 2.2.1 payer statements, checked over HTTP on an endpoint validating with PAS 2.2.1.

Each test names the requirement keys it checks in its docstring (traced into
docs/conformance.md). Request Bundles are the kit's, changed where a statement needs it.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from davinci_pa.pas.submission import identifier_key
from tests._shared import load_shared_json, shared_path
from tests.conformance.test_kit_replay import (
    EXPECTED,
    PAS_SD,
    check_inquire_answer,
    check_submit_answer,
    demo_payload,
    pas_validator,
    profile_errors,
    review_actions,
)
from tests.pas.conftest import Receiver, Server, kit, serve_pas
from tests.support.profile_data import declared_profile, minimal_bundle, non_standard_elements
from tests.support.us_core import VERSIONS, as_us_core

EXT_INFO_CHANGED = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-infoChanged"


@pytest.fixture(scope="module")
def pas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    package = str(shared_path("igs", "davinci_pas_2.2.1.tgz"))
    with serve_pas(tmp_path_factory.mktemp("pas-conformance"), ig_packages=package) as server:
        yield server


def fresh(bundle: dict[str, Any], trace: str | None = None) -> dict[str, Any]:
    """A copy with its own Bundle.identifier and Claim identifier (a new submission)."""
    copied = copy.deepcopy(bundle)
    trace = trace or uuid.uuid4().hex[:12]
    copied["identifier"]["value"] = f"B-{trace}"
    claim = copied["entry"][0]["resource"]
    claim["identifier"][0]["value"] = f"C-{trace}"
    return copied


def approval() -> dict[str, Any]:
    return fresh(kit("v2.2.1", "approval_pa_submit_request_payload.json")[0])


def refused(response: requests.Response, *needles: str) -> str:
    assert 400 <= response.status_code < 500, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    text = json.dumps(body)
    for needle in needles:
        assert needle in text, text
    return text


def authorization(server: Server, bundle: dict[str, Any]) -> Any:
    claim = bundle["entry"][0]["resource"]
    auth = server.payer.pas.records.by_claim_identifier(
        identifier_key(claim["identifier"][0]), "ehr"
    )
    assert auth is not None
    return auth


# -- the request Bundle ----------------------------------------------------------------------


def test_request_must_be_json(pas: Server) -> None:
    """PAS spec-11: the Bundle is JSON; XML (or anything else) is refused with a 4xx and an
    OperationOutcome (spec-39)."""
    headers = {"Authorization": f"Bearer {pas.token()}", "Content-Type": "application/fhir+xml"}
    response = requests.post(
        pas.base + "/fhir/Claim/$submit", data=b"<Bundle/>", headers=headers, timeout=10
    )
    refused(response)


def test_claim_first_and_every_reference_inside(pas: Server) -> None:
    """PAS spec-12 (the Claim is the first entry), spec-13 and spec-67 (every resource the
    Claim references, and what those reference, is in the Bundle), spec-18 (resources the
    supporting information references are included too)."""
    bundle = approval()
    bundle["entry"].append(bundle["entry"].pop(0))
    refused(pas.post("/fhir/Claim/$submit", bundle), "spec-12")
    bundle = approval()
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Coverage"]
    refused(pas.post("/fhir/Claim/$submit", bundle), "Coverage", "spec-13")
    bundle = approval()
    claim = bundle["entry"][0]["resource"]
    documents = [s for s in claim["supportingInfo"] if "valueReference" in s]
    assert documents
    target = documents[0]["valueReference"]["reference"]
    bundle["entry"] = [e for e in bundle["entry"] if not e["fullUrl"].endswith(target)]
    refused(pas.post("/fhir/Claim/$submit", bundle), target)


def test_every_entry_is_reached_from_the_claim(pas: Server) -> None:
    """PAS spec-20: supporting information in the Bundle is pointed to from the Claim; an
    entry nothing in the Claim reaches is refused, naming it."""
    bundle = approval()
    stray = {"resourceType": "Observation", "id": "stray", "status": "final",
             "code": {"text": "weight"}}  # fmt: skip
    bundle["entry"].append(
        {"fullUrl": "http://example.org/fhir/Observation/stray", "resource": stray}
    )
    refused(pas.post("/fhir/Claim/$submit", bundle), "Observation/stray", "spec-20")


def test_an_update_carries_its_prior_claim_only(pas: Server) -> None:
    """PAS spec-66: when the Claim being updated is itself an update, the Claim it updated
    is not included: such a Bundle is refused."""
    bundle = copy.deepcopy(kit("v2.2.1", "claim_update_add_item_submit_payload.json")[0])
    bundle["identifier"]["value"] = f"U-{uuid.uuid4().hex[:8]}"
    claim = bundle["entry"][0]["resource"]
    prior_ref = claim["related"][0]["claim"]["reference"]
    prior_entry = next(e for e in bundle["entry"] if e["fullUrl"].endswith(prior_ref))
    earlier = copy.deepcopy(prior_entry)
    earlier["resource"]["id"] = "EarlierClaim"
    earlier["fullUrl"] = prior_entry["fullUrl"].rsplit("/", 1)[0] + "/EarlierClaim"
    prior_entry["resource"]["related"] = [
        {
            "claim": {"reference": "Claim/EarlierClaim"},
            "relationship": claim["related"][0]["relationship"],
        }
    ]
    bundle["entry"].append(earlier)
    refused(pas.post("/fhir/Claim/$submit", bundle), "spec-66")


def test_each_resource_once_full_urls_and_sequences(pas: Server) -> None:
    """PAS spec-14 (each resource at most once), spec-16 (fullUrl an http(s) URL or
    urn:uuid), spec-22 (supportingInfo.sequence unique): each broken is a 400 naming it."""
    bundle = approval()
    bundle["entry"].append(copy.deepcopy(bundle["entry"][1]))
    refused(pas.post("/fhir/Claim/$submit", bundle), "spec-14")
    bundle = approval()
    bundle["entry"][1]["fullUrl"] = "Organization/relative"
    refused(pas.post("/fhir/Claim/$submit", bundle), "spec-16")
    bundle = approval()
    infos = bundle["entry"][0]["resource"]["supportingInfo"]
    infos[1]["sequence"] = infos[0]["sequence"]
    refused(pas.post("/fhir/Claim/$submit", bundle), "spec-22")


def test_resources_must_meet_their_profiles(pas: Server) -> None:
    """PAS spec-23 and spec-12 (with profile validation on, a Claim that breaks the PAS Claim
    profile, here no item category, is refused naming the element)."""
    bundle = approval()
    for item in bundle["entry"][0]["resource"]["item"]:
        item.pop("category", None)
    refused(pas.post("/fhir/Claim/$submit", bundle), "category")


def test_unknown_elements_are_ignored(pas: Server) -> None:
    """PAS spec-25: an extension we do not process is ignored: the request is answered, the
    same decision as without it."""
    plain = approval()
    bundle = copy.deepcopy(plain)
    bundle["identifier"]["value"] += "-x"
    bundle["entry"][0]["resource"]["identifier"][0]["value"] += "-x"
    claim = bundle["entry"][0]["resource"]
    claim["extension"].append({"url": "http://example.org/unknown", "valueString": "x"})
    with_it = pas.post("/fhir/Claim/$submit", bundle)
    assert with_it.status_code == 200
    without = pas.post("/fhir/Claim/$submit", plain)
    assert review_actions(with_it.json()) == review_actions(without.json())


def test_must_support_payloads_are_processed(pas: Server) -> None:
    """PAS conf-4 and conf-5 (every must-support element of the kit's must-support Claims is
    processed, none causes an error), conf-14 (optional elements left out are no error: the
    same Claim without its diagnosis and its non-reference supportingInfo is answered)."""
    for bundle in kit("v2.2.1", "must_support_pa_submit_request_payload.json"):
        ours = fresh(bundle)
        check_submit_answer(ours, pas.post("/fhir/Claim/$submit", ours))
    bundle = approval()
    claim = bundle["entry"][0]["resource"]
    claim.pop("diagnosis", None)
    claim["supportingInfo"] = [s for s in claim["supportingInfo"] if "valueReference" in s]
    check_submit_answer(bundle, pas.post("/fhir/Claim/$submit", bundle))


def test_whole_bundle_is_kept_for_the_payer(pas: Server) -> None:
    """PAS spec-26: the entire FHIR Bundle is available to the payer: what was submitted is
    stored as sent, with every entry."""
    bundle = approval()
    pas.post("/fhir/Claim/$submit", bundle)
    stored = pas.payer.pas.records.latest_request(authorization(pas, bundle).pa_id)
    assert stored["entry"] == bundle["entry"]


# -- the response Bundle ---------------------------------------------------------------------


def test_response_echoes_request_entries_and_ids(pas: Server) -> None:
    """PAS spec-33 (echoed resources keep the request's fullUrl and id), spec-31 (each
    resource once in the response), spec-30 (ClaimResponse first), spec-17 (our own new
    ids are unique across submissions)."""
    first, second = approval(), approval()
    answers = [pas.post("/fhir/Claim/$submit", b).json() for b in (first, second)]
    request_urls = {e["fullUrl"]: e["resource"] for e in first["entry"]}
    urls = [e["fullUrl"] for e in answers[0]["entry"]]
    assert len(urls) == len(set(urls))
    assert answers[0]["entry"][0]["resource"]["resourceType"] == "ClaimResponse"
    for entry in answers[0]["entry"][1:]:
        if entry["fullUrl"] in request_urls:
            assert entry["resource"]["id"] == request_urls[entry["fullUrl"]]["id"]
    echoed = [e for e in answers[0]["entry"] if e["fullUrl"] in request_urls]
    assert echoed
    ours = [a["entry"][0]["fullUrl"] for a in answers]
    assert ours[0] != ours[1]


def test_modified_item_is_a6_with_the_authorized_detail_in_add_item(pas: Server) -> None:
    """PAS spec-36 (a modification returns the requested item with A6 Modified), spec-37
    (what is authorized goes in ClaimResponse.addItem), prof-2 and prof-3 (its quantity has
    a value and an X12 unit code)."""
    bundle = fresh(demo_payload("v2.2.1", "pended"))
    pas.post("/fhir/Claim/$submit", bundle)
    pa_id = authorization(pas, bundle).pa_id
    alternative = {
        "coding": [
            {"system": "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "code": "K0813"}
        ]
    }
    decision = {
        "items": [
            {"sequence": 1, "action": "A1"},
            {
                "sequence": 2,
                "action": "A6",
                "reason": "A standard power wheelchair instead.",
                "authorized": {"productOrService": alternative, "quantity": {"value": 1}},
            },
        ]
    }
    decided = pas.post(f"/admin/pas/{pa_id}/decision", decision, admin=True)
    assert decided.status_code == 200, decided.text
    answer = decided.json()
    claim_response = answer["entry"][0]["resource"]
    assert "A6" in review_actions(answer)
    added = claim_response["addItem"]
    assert added[0]["productOrService"] == alternative
    assert added[0]["itemSequence"] == [2]
    quantity = added[0]["quantity"]
    assert quantity["value"] == 1
    assert quantity.get("unit") or quantity.get("code")
    if "code" in quantity:
        assert quantity["system"] == "https://codesystem.x12.org/005010/673"
    assert profile_errors(claim_response, "profile-claimresponse") == []


def test_answers_are_2xx_or_4xx_with_an_outcome(pas: Server) -> None:
    """PAS spec-39: a usable Bundle gets a 2xx with the response Bundle; one that is not
    gets a 4xx whose body is a single OperationOutcome (spec-35)."""
    assert pas.post("/fhir/Claim/$submit", approval()).status_code == 200
    refused(pas.post("/fhir/Claim/$submit", {"resourceType": "Bundle", "type": "collection"}))


def test_not_applicable_product_code_means_no_code(pas: Server) -> None:
    """PAS spec-43: productOrService 'not-applicable' is no code: the item is decided from
    the order it names (a power wheelchair: pended), not from that placeholder."""
    bundle = fresh(demo_payload("v2.2.1", "pended"))
    for item in bundle["entry"][0]["resource"]["item"]:
        item["productOrService"] = {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                    "code": "not-applicable",
                }
            ]
        }
    answer = pas.post("/fhir/Claim/$submit", bundle)
    assert answer.status_code == 200, answer.text
    assert set(review_actions(answer.json())) == {"A4"}


# -- inquiry, updates, retention --------------------------------------------------------------


def test_inquiry_after_an_update_returns_the_current_answer(pas: Server) -> None:
    """PAS spec-47 and spec-48 (an inquiry naming the replaced request gets the current
    response of the request that replaced it), spec-46 (with every item's current result),
    spec-65 (the update names the prior Claim in related.claim and carries it)."""
    initial = kit("v2.2.1", "claim_update_initial_submit_payload.json")[0]
    update = kit("v2.2.1", "claim_update_add_item_submit_payload.json")[0]
    trace = uuid.uuid4().hex[:8]
    initial, update = copy.deepcopy(initial), copy.deepcopy(update)
    initial["identifier"]["value"] = f"I-{trace}"
    update["identifier"]["value"] = f"U-{trace}"
    related = update["entry"][0]["resource"]["related"][0]["claim"]["reference"]
    assert any(e["fullUrl"].endswith(related) for e in update["entry"])
    pas.post("/fhir/Claim/$submit", initial)
    updated = check_submit_answer(update, pas.post("/fhir/Claim/$submit", update))
    inquiry = copy.deepcopy(kit("v2.2.1", "pended_pa_inquire_request_payload.json")[0])
    inquiry["entry"][0]["resource"]["identifier"] = initial["entry"][0]["resource"]["identifier"]
    found = check_inquire_answer(pas.post("/fhir/Claim/$inquire", inquiry))
    assert found
    current = {i["itemSequence"] for i in found[-1]["entry"][0]["resource"]["item"]}
    assert current == {i["itemSequence"] for i in updated["entry"][0]["resource"]["item"]}
    assert len(current) == len(update["entry"][0]["resource"]["item"])


def test_update_without_its_prior_claim_is_refused(pas: Server) -> None:
    """PAS spec-65: the Claim being updated is referenced in related.claim and included."""
    update = copy.deepcopy(kit("v2.2.1", "claim_update_add_item_submit_payload.json")[0])
    update["identifier"]["value"] = f"U-{uuid.uuid4().hex[:8]}"
    related = update["entry"][0]["resource"]["related"][0]["claim"]["reference"]
    update["entry"] = [e for e in update["entry"] if not e["fullUrl"].endswith(related)]
    refused(pas.post("/fhir/Claim/$submit", update), related)


def test_cancelled_and_changed_entries(pas: Server) -> None:
    """PAS spec-69 and spec-70 (an item with infoCancelled true and certificationType 3 is
    cancelled: C), spec-71 (the entries marked with infoChanged are the ones decided again,
    the others keep their decision), spec-72 (infoChanged carries a code we read)."""
    steps = ["initial", "add_item", "modify_cancel"]
    trace = uuid.uuid4().hex[:8]
    answers = []
    for step in steps:
        bundle = copy.deepcopy(kit("v2.2.1", f"claim_update_{step}_submit_payload.json")[0])
        bundle["identifier"]["value"] = f"{step}-{trace}"
        answers.append(pas.post("/fhir/Claim/$submit", bundle).json())
        claim = bundle["entry"][0]["resource"]
        if step == "modify_cancel":
            cancelled = [
                i["sequence"]
                for i in claim["item"]
                if any(m["url"].endswith("infoCancelled") for m in i.get("modifierExtension", []))
            ]
            changed = [
                i["sequence"]
                for i in claim["item"]
                if any(e["url"] == EXT_INFO_CHANGED for e in i.get("extension", []))
            ]
            assert cancelled
            assert set(cancelled) <= set(changed)
    last = answers[-1]["entry"][0]["resource"]
    actions = {
        i["itemSequence"]: review_actions({"entry": [{"resource": {"item": [i]}}]})
        for i in last["item"]
    }
    assert any(codes == ["C"] for codes in actions.values())
    assert any(codes != ["C"] for codes in actions.values())


def test_pended_requests_stay_queryable_six_months_after_the_service(pas: Server) -> None:
    """PAS spec-73: a pended authorization is kept at least 6 months after the anticipated
    end of the services it asks for."""
    bundle = fresh(demo_payload("v2.2.1", "pended"))
    pas.post("/fhir/Claim/$submit", bundle)
    auth = authorization(pas, bundle)
    assert auth.status == "pended"
    assert auth.retain_until - auth.created_at >= timedelta(days=183)


# -- subscriptions ---------------------------------------------------------------------------


def _subscription(receiver: Receiver, **changes: Any) -> dict[str, Any]:
    sub: dict[str, Any] = copy.deepcopy(
        load_shared_json("fixtures", "pas", "v2.2.1", "subscription_resource.json")
    )
    sub["end"] = "2099-01-01T00:00:00Z"
    sub["channel"]["endpoint"] = receiver.url
    sub.update(changes)
    return sub


def test_subscriptions_are_pas_rest_hook_full_resource_on_the_sender(
    pas: Server, receiver: Receiver
) -> None:
    """PAS spec-57 (the PAS Subscription profile: created ones validate, another topic is
    refused), spec-56 (rest-hook only: a websocket channel is refused), spec-62
    (full-resource only), spec-58 (the filter is org-identifier = the sending system)."""
    created = pas.post("/fhir/Subscription", _subscription(receiver))
    assert created.status_code == 201
    assert profile_errors(created.json(), "profile-subscription") == []
    filters = json.dumps(created.json()["_criteria"])
    assert "org-identifier=" in filters or "orgIdentifier=" in filters
    other_topic = _subscription(receiver, criteria="http://example.org/SubscriptionTopic/other")
    refused(pas.post("/fhir/Subscription", other_topic))
    websocket = _subscription(receiver)
    websocket["channel"]["type"] = "websocket"
    refused(pas.post("/fhir/Subscription", websocket), "rest-hook")
    no_filter = _subscription(receiver)
    no_filter.pop("_criteria")
    refused(pas.post("/fhir/Subscription", no_filter))


def test_subscription_is_updated_and_deleted_only_by_its_creator(
    pas: Server, receiver: Receiver
) -> None:
    """PAS spec-59 (only the sending system that created a Subscription may modify it),
    spec-55 (update and delete are served as the CapabilityStatement says)."""
    created = pas.post("/fhir/Subscription", _subscription(receiver)).json()
    changed = copy.deepcopy(created)
    changed["reason"] = "moved to a new endpoint"
    headers = {"Authorization": f"Bearer {pas.token()}", "Content-Type": "application/fhir+json"}
    url = f"{pas.base}/fhir/Subscription/{created['id']}"
    updated = requests.put(url, data=json.dumps(changed), headers=headers, timeout=10)
    assert updated.status_code == 200, updated.text
    assert updated.json()["status"] == "requested"
    assert updated.json()["reason"] == "moved to a new endpoint"
    mismatched = dict(changed, id="another")
    assert (
        requests.put(url, data=json.dumps(mismatched), headers=headers, timeout=10).status_code
        == 400
    )
    admin = {
        "Authorization": f"Bearer {pas.token(admin=True)}",
        "Content-Type": "application/fhir+json",
    }
    foreign = requests.put(url, data=json.dumps(changed), headers=admin, timeout=10)
    assert foreign.status_code in {401, 403}
    assert requests.delete(url, headers=headers, timeout=10).status_code == 204
    assert requests.get(url, headers=headers, timeout=10).status_code == 404


# -- endpoints ---------------------------------------------------------------------------------


def test_one_endpoint_per_version_handling_every_coverage(pas: Server) -> None:
    """PAS conf-1 (versions are not inter-version compatible, so one endpoint per version:
    a 2.0.1 Bundle at this 2.2.1 endpoint is refused by its profiles, and is answered at a
    2.0.1 endpoint, test_kit_replay), conf-3 and spec-6 (one endpoint for all coverages:
    this endpoint answers for each payer of the rule pack, by the Claim's insurer)."""
    old = fresh(kit("v2.0.1", "approval_pa_submit_request_payload.json")[0])
    refused(pas.post("/fhir/Claim/$submit", old), "profile")
    labels = set()
    for payer in pas.payer.rules.pack.payers:
        bundle = approval()
        for entry in bundle["entry"]:
            resource = entry["resource"]
            claim = bundle["entry"][0]["resource"]
            if entry["fullUrl"].endswith(claim["insurer"]["reference"]):
                resource["name"] = payer.name
        answer = pas.post("/fhir/Claim/$submit", bundle)
        assert answer.status_code == 200, answer.text
        labels.add(authorization(pas, bundle).pa_id)
    assert len(labels) == len(pas.payer.rules.pack.payers) >= 2


def test_fhir_bundles_in_and_out_with_smart_security(pas: Server) -> None:
    """PAS use-1 (the EHR exchanges FHIR Bundles with us, no X12 in between), spec-4 (HRex
    security: SMART Backend Services tokens on every PAS call, the scope checked)."""
    bundle = approval()
    anonymous = requests.post(pas.base + "/fhir/Claim/$submit", json=bundle, timeout=10)
    assert anonymous.status_code == 401
    wrong_scope = pas.post("/fhir/Claim/$submit", bundle, admin=True)
    assert wrong_scope.status_code == 403
    answer = pas.post("/fhir/Claim/$submit", bundle)
    assert answer.headers["Content-Type"].startswith("application/fhir+json")
    assert answer.json()["resourceType"] == "Bundle"


# -- only mandatory and must-support data is depended on -------------------------------------


@pytest.mark.parametrize("workflow", ["approval", "denial", "pended"])
def test_minimal_by_profile_request_gets_the_same_decision(pas: Server, workflow: str) -> None:
    """PAS conf-11 (no dependence on resource instances outside the profiles: the minimal
    Bundle keeps only the entries the stripped Claim still references) and conf-12 (no
    dependence on elements neither mandatory nor must-support): the kit's approval, denial
    and pended Bundles, each resource cut to its PAS profile's mandatory and must-support
    elements, get the same review action as the full Bundles."""
    full = fresh(demo_payload("v2.2.1", workflow))
    minimal = fresh(minimal_bundle(full, declared_profile(pas_validator("v2.2.1"))))
    assert len(json.dumps(minimal)) < len(json.dumps(full))
    full_answer = check_submit_answer(full, pas.post("/fhir/Claim/$submit", full))
    minimal_answer = check_submit_answer(minimal, pas.post("/fhir/Claim/$submit", minimal))
    assert review_actions(minimal_answer) == review_actions(full_answer)
    assert set(review_actions(full_answer)) == {EXPECTED[workflow]}


def _granted(claim_response: dict[str, Any]) -> bool:
    return bool({"A1", "A2", "A6"} & set(review_actions({"entry": [{"resource": claim_response}]})))


MUST_SUPPORT_SOURCES: dict[str, Any] = {
    "ClaimResponse.extension:transmissionIdentifiers": lambda claim, item, answer: any(
        e["url"].endswith("extension-TransmissionIdentifiers") for e in claim.get("extension", [])
    ),
    "ClaimResponse.item.extension:itemTraceNumber": lambda claim, item, answer: any(
        e["url"].endswith("extension-itemTraceNumber") for e in item.get("extension", [])
    ),
    "ClaimResponse.item.extension:requestedServiceDate": lambda claim, item, answer: bool(
        item.get("servicedDate") or item.get("servicedPeriod")
    ),
    "ClaimResponse.item.extension:communicatedDiagnosis": lambda claim, item, answer: bool(
        item.get("diagnosisSequence") and claim.get("diagnosis")
    ),
    "ClaimResponse.item.extension:preAuthIssueDate": lambda claim, item, answer: _granted(answer),
    "ClaimResponse.item.extension:preAuthPeriod": lambda claim, item, answer: _granted(answer),
    "ClaimResponse.item.noteNumber": lambda claim, item, answer: bool(answer.get("processNote")),
    "ClaimResponse.processNote": lambda claim, item, answer: not _granted(answer),
}
"""Must-support elements of the PAS ClaimResponse and when the situation has data for them."""


def _answers(pas: Server) -> Iterator[tuple[dict[str, Any], dict[str, Any], str]]:
    """(Claim, ClaimResponse, profile) of the kit's submissions and inquiries."""
    for workflow in ("approval", "denial", "pended"):
        bundle = fresh(demo_payload("v2.2.1", workflow))
        answer = check_submit_answer(bundle, pas.post("/fhir/Claim/$submit", bundle))
        yield (
            bundle["entry"][0]["resource"],
            answer["entry"][0]["resource"],
            "profile-claimresponse",
        )
    for bundle in kit("v2.2.1", "must_support_pa_submit_request_payload.json"):
        ours = fresh(bundle)
        answer = check_submit_answer(ours, pas.post("/fhir/Claim/$submit", ours))
        yield ours["entry"][0]["resource"], answer["entry"][0]["resource"], "profile-claimresponse"
        inquiry = copy.deepcopy(kit("v2.2.1", "must_support_pa_inquire_request_payload.json")[0])
        inquiry["entry"][0]["resource"]["identifier"] = ours["entry"][0]["resource"]["identifier"]
        for found in check_inquire_answer(pas.post("/fhir/Claim/$inquire", inquiry)):
            claim_response = found["entry"][0]["resource"]
            yield ours["entry"][0]["resource"], claim_response, "profile-claiminquiryresponse"


def test_must_support_elements_are_returned_when_there_is_data(pas: Server) -> None:
    """PAS conf-6: the ClaimResponse and the inquiry's ClaimResponse carry every must-support
    element the situation has a value for (the request's transmission identifiers, item trace
    numbers, service dates and diagnoses echoed; issue date and period on granted items; the
    note and each item's noteNumber when there is a reason), over the kit's approval, denial,
    pended and must-support submissions and the must-support inquiry."""
    checked = 0
    for claim, claim_response, profile in _answers(pas):
        items = {i["sequence"]: i for i in claim.get("item", [])}
        missing = set(
            pas_validator("v2.2.1").missing_must_support(claim_response, PAS_SD + profile)
        )
        for n, item in enumerate(claim_response["item"]):
            request_item = items[item["itemSequence"]]
            for path, has_data in MUST_SUPPORT_SOURCES.items():
                located = path.replace("ClaimResponse.item.", f"ClaimResponse.item[{n}].")
                if has_data(claim, request_item, claim_response):
                    checked += 1
                    assert located not in missing, (profile, located)
    assert checked > 40


def test_data_travels_in_standard_elements(pas: Server) -> None:
    """PAS conf-15: what the answer conveys is in elements the PAS profiles mark mandatory or
    must-support; the only others are restatements (``preAuthRef``: the number each granted
    item carries in reviewAction.number; ``insurance``: the Claim's coverage, also echoed as
    an entry; ``processNote.type``; ``identifier.assigner``, part of the Claim's identifier
    echoed as sent)."""
    restated = {
        "ClaimResponse.identifier.assigner",
        "ClaimResponse.preAuthRef",
        "ClaimResponse.insurance",
        "ClaimResponse.processNote.type",
    }
    for _, claim_response, profile in _answers(pas):
        compiled = pas_validator("v2.2.1").require(PAS_SD + profile)
        found = {re.sub(r"\[\d+\]", "", p) for p in non_standard_elements(claim_response, compiled)}
        assert found <= restated, found
        if "preAuthRef" in claim_response:
            numbers = [
                part["valueString"]
                for item in claim_response["item"]
                for adjudication in item["adjudication"]
                for ext in adjudication.get("extension", [])
                for part in ext.get("extension", [])
                if part["url"] == "number"
            ]
            assert numbers
            assert all(n.startswith(claim_response["preAuthRef"]) for n in numbers)


@pytest.mark.parametrize("version", VERSIONS)
def test_us_core_shaped_resources_are_supported(pas: Server, version: str) -> None:
    """PAS spec-1 (the relevant US Core profiles supported beside PAS's: each resource of the
    kit's approval, denial and pended Bundles also declaring the US Core 3.1.1, 6.1.0 or
    7.0.0 profile of its type, with that version's Patient extension, is accepted and gets
    the same decision) and spec-19 (resources with a US Core profile keep complying: the
    payer stores them as sent and echoes them unchanged in its response)."""
    for workflow in ("approval", "denial", "pended"):
        bundle = fresh(demo_payload("v2.2.1", workflow))
        for entry in bundle["entry"]:
            entry["resource"] = as_us_core(entry["resource"], version)
        answer = check_submit_answer(bundle, pas.post("/fhir/Claim/$submit", bundle))
        assert set(review_actions(answer)) == {EXPECTED[workflow]}
        stored = pas.payer.pas.records.latest_request(authorization(pas, bundle).pa_id)
        assert stored["entry"] == bundle["entry"]
        sent = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
        echoed = [e for e in answer["entry"][1:] if e["fullUrl"] in sent]
        assert echoed
        for entry in echoed:
            assert entry["resource"] == sent[entry["fullUrl"]]
