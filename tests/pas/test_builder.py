"""The PAS request builder: profile-valid Bundles in 2.2.1 and 2.0.1, round trips, refusals."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from davinci_pa.errors import RequestError
from davinci_pa.fhir.validation import Validator
from davinci_pa.pas.builder import ClaimOptions, ClaimParties, ItemCodes, build_request_bundle
from davinci_pa.pas.builder_items import COVERAGE_INFORMATION, EXT_DOCUMENT_INFORMATION
from davinci_pa.pas.options import PasOptions
from davinci_pa.pas.request import InvalidPasBundle, PasRequest
from davinci_pa.payer import Payer
from davinci_pa.store import Database
from tests._shared import REPO, load_shared_json, shared_path

CREATED = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
PACKAGES = {"2.2.1": "davinci_pas_2.2.1.tgz", "2.0.1": "davinci_pas_2.0.1.tgz"}
LICENSED = ("x12.org", "nubc.org")
"""X12 and NUBC code lists are licensed: their bindings cannot be checked (the kit agrees)."""


@cache
def _validator(version: str) -> Validator:
    return Validator.from_packages([shared_path("igs", PACKAGES[version])])


def _kit_resources(version: str) -> dict[str, dict[str, Any]]:
    bundle = load_shared_json(
        "fixtures", "pas", f"v{version}", "pended_pa_submit_request_payload.json"
    )
    bundle = bundle[0] if isinstance(bundle, list) else bundle
    found = {}
    for entry in bundle["entry"][1:]:
        resource = copy.deepcopy(entry["resource"])
        resource.pop("meta", None)
        found[f"{resource['resourceType']}/{resource['id']}"] = resource
    return found


def _dtr_response(patient: str, order: str, coverage: str, author: str) -> dict[str, Any]:
    text = json.dumps(
        load_shared_json("fixtures", "dtr", "golden", "questionnaire_response_conformant.json")
    )
    for old, new in (
        ("Patient/pat015", patient),
        ("DeviceRequest/devreqe0470", order),
        ("Coverage/cov015", coverage),
        ("Practitioner/pra1234", author),
        ('" G30.0"', '"G30.0"'),  # the DTR kit fixture's code has a leading space (invalid)
    ):
        text = text.replace(old, new)
    response: dict[str, Any] = json.loads(text)
    response["id"] = "dtr-answers-1"
    response["authored"] = "2024-04-07T18:32:03Z"  # fhir.resources pads fractional seconds
    return response


def _parties(version: str, *, with_author: bool = True) -> ClaimParties:
    kit = _kit_resources(version)
    order = kit["DeviceRequest/DeviceRequestExample"]
    practitioner = kit["Practitioner/ReferralPractitionerExample"]
    response = _dtr_response(
        "Patient/SubscriberExample",
        "DeviceRequest/DeviceRequestExample",
        "Coverage/InsuranceExample",
        "Practitioner/ReferralPractitionerExample",
    )
    return ClaimParties(
        patient=kit["Patient/SubscriberExample"],
        coverage=kit["Coverage/InsuranceExample"],
        insurer=kit["Organization/InsurerExample"],
        requester=kit["Organization/UMOExample"],
        orders=[order],
        questionnaire_responses=[response],
        supporting=[practitioner] if with_author else [],
    )


def _build(version: str, **options: Any) -> dict[str, Any]:
    return build_request_bundle(
        _parties(version),
        ClaimOptions(trace_number="TRN-0001", version=version, **options),
        created=CREATED,
    )


def _errors(bundle: dict[str, Any], version: str) -> list[str]:
    issues = _validator(version).validate(bundle)
    errors = [f"{i.path}: {i.message}" for i in issues if i.severity == "error"]
    return [e for e in errors if not any(system in e for system in LICENSED)]


@pytest.mark.parametrize("version", ["2.2.1", "2.0.1"])
@pytest.mark.parametrize("urgent", [False, True])
def test_built_bundle_conforms_to_the_pas_profiles(version: str, urgent: bool) -> None:
    bundle = _build(version, urgent=urgent)
    assert _errors(bundle, version) == []
    claim = bundle["entry"][0]["resource"]
    assert claim["resourceType"] == "Claim"
    assert claim["priority"]["coding"][0]["code"] == ("stat" if urgent else "normal")


@pytest.mark.parametrize("version", ["2.2.1", "2.0.1"])
def test_round_trip_through_fhir_resources(version: str) -> None:
    bundle = _build(version)
    text = json.dumps(bundle)
    parsed = Bundle.model_validate_json(text)
    again = json.loads(parsed.model_dump_json(exclude_none=True))
    assert again == json.loads(text)
    assert PasRequest.parse(again).claim == bundle["entry"][0]["resource"]


def test_every_reference_points_at_an_entry() -> None:
    bundle = _build("2.2.1")
    urls = {entry["fullUrl"] for entry in bundle["entry"]}
    refs = _references(bundle["entry"])
    assert refs
    assert refs <= urls
    assert all(url.startswith("urn:uuid:") for url in urls)


def test_ehr_base_url_keeps_relative_references() -> None:
    bundle = _build("2.2.1", base_url="https://ehr.example.org/fhir/")
    urls = [entry["fullUrl"] for entry in bundle["entry"]]
    assert "https://ehr.example.org/fhir/Patient/SubscriberExample" in urls
    claim = bundle["entry"][0]["resource"]
    assert claim["patient"] == {"reference": "Patient/SubscriberExample"}
    request = PasRequest.parse(bundle)
    assert request.resolve(claim["patient"])["id"] == "SubscriberExample"  # type: ignore[index]
    assert _errors(bundle, "2.2.1") == []


def test_dtr_answers_are_attached_with_the_crd_assertion_id() -> None:
    bundle = _build("2.2.1")
    claim = bundle["entry"][0]["resource"]
    info = claim["supportingInfo"][0]
    attached = PasRequest.parse(bundle).resolve(info["valueReference"])
    assert attached is not None
    assert attached["resourceType"] == "QuestionnaireResponse"
    parts = {p["url"]: p for p in info["extension"][0]["extension"]}
    assert info["extension"][0]["url"] == EXT_DOCUMENT_INFORMATION
    assert parts["controlNumber"]["valueString"] == "1122445"  # the kit order's assertion id
    order = PasRequest.parse(bundle).resolve(claim["item"][0]["extension"][2]["valueReference"])
    assert order is not None
    assert order["extension"][0]["url"] == COVERAGE_INFORMATION


def test_own_assertion_id_of_the_response_wins() -> None:
    parties = _parties("2.2.1")
    response = copy.deepcopy(parties.questionnaire_responses[0])
    response["extension"] = [
        {
            "url": COVERAGE_INFORMATION,
            "extension": [{"url": "coverage-assertion-id", "valueString": "from-dtr"}],
        }
    ]
    bundle = build_request_bundle(
        ClaimParties(**{**_fields(parties), "questionnaire_responses": [response]}),
        ClaimOptions(trace_number="T"),
        created=CREATED,
    )
    parts = bundle["entry"][0]["resource"]["supportingInfo"][0]["extension"][0]["extension"]
    assert {"url": "controlNumber", "valueString": "from-dtr"} in parts


def test_2_0_1_attachment_has_no_document_information() -> None:
    info = _build("2.0.1")["entry"][0]["resource"]["supportingInfo"][0]
    assert "extension" not in info
    assert info["category"]["coding"][0]["code"] == "additionalInformation"


def test_items_carry_the_order_codes_and_the_given_x12_codes() -> None:
    codes = ItemCodes(service_type="12", place_of_service="11", request_type="SC")
    item = _build("2.2.1", codes=codes)["entry"][0]["resource"]["item"][0]
    assert item["sequence"] == 1
    assert item["productOrService"]["coding"][0]["code"] == "E1223"
    assert item["category"]["coding"][0]["code"] == "12"
    assert item["locationCodeableConcept"]["coding"][0]["code"] == "11"
    assert item["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "SC"


def test_builder_never_changes_its_inputs() -> None:
    parties = _parties("2.2.1")
    before = json.dumps(_fields(parties), sort_keys=True)
    build_request_bundle(parties, ClaimOptions(trace_number="T"), created=CREATED)
    assert json.dumps(_fields(parties), sort_keys=True) == before


@pytest.mark.parametrize(
    ("change", "error", "fragment"),
    [
        ({"orders": []}, RequestError, "at least one order"),
        ({"supporting": []}, InvalidPasBundle, "missing from the PAS Bundle"),
        ({"requester": {"resourceType": "Patient", "id": "x"}}, RequestError, "requester"),
        ({"orders": [{"resourceType": "DeviceRequest", "id": "d"}]}, RequestError, "no code"),
        ({"orders": [{"resourceType": "Observation", "id": "o"}]}, RequestError, "not an order"),
    ],
)
def test_unusable_inputs_are_refused(
    change: dict[str, Any], error: type[Exception], fragment: str
) -> None:
    parties = ClaimParties(**{**_fields(_parties("2.2.1")), **change})
    with pytest.raises(error, match=fragment):
        build_request_bundle(parties, ClaimOptions(trace_number="T"), created=CREATED)


def test_unknown_version_is_refused() -> None:
    options = ClaimOptions(trace_number="T", version="1.0.0")
    with pytest.raises(RequestError, match="version"):
        build_request_bundle(_parties("2.2.1"), options, created=CREATED)


def test_built_bundle_is_decided_by_the_pas_service(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'pas.sqlite3'}")
    database.migrate()
    payer = Payer.from_rule_pack(
        REPO / "cql_rules", database=database, pas_options=PasOptions(default_payer="medicare-demo")
    )
    answer = payer.pas.submit(_build("2.2.1"), submitter="ehr")
    claim_response = answer["entry"][0]["resource"]
    assert claim_response["identifier"][0]["value"] == "TRN-0001"
    assert [item["itemSequence"] for item in claim_response["item"]] == [1]
    database.dispose()


def _fields(parties: ClaimParties) -> dict[str, Any]:
    return {name: getattr(parties, name) for name in ClaimParties.__dataclass_fields__}


def _references(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        if isinstance(value.get("reference"), str):
            found.add(value["reference"])
        for child in value.values():
            found |= _references(child)
    elif isinstance(value, list):
        for child in value:
            found |= _references(child)
    return found
