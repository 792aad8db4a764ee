"""Payer-to-Payer ``Patient/$member-match`` over HTTP (HRex 1.0.0 §Member Match).

The kit's member is Joe Smith, born 1987-02-20; each request here carries its own member id
(the Coverage identifier typed MB), so demographics alone match several members.
"""

from __future__ import annotations

import copy
import json
import tarfile
from typing import Any

import pytest

from davinci_pa.fhir.validation.validator import Validator
from tests._shared import shared_path
from tests.access.conftest import submit_for
from tests.security.conftest import Tenants

MEMBER_SYSTEM = "http://davinci-pas.org/MEMBERID"
HREX = "http://hl7.org/fhir/us/davinci-hrex/StructureDefinition/"
CONSENT = {
    "resourceType": "Consent", "status": "active",
    "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                          "code": "patient-privacy"}]},
    "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                              "code": "IDSCL"}]}],
    "patient": {"reference": "Patient/1"},
    "policy": [{"uri": "http://hl7.org/fhir/us/davinci-hrex/StructureDefinition-hrex-consent.html#regular"}],
    "provision": {"type": "permit"},
}  # fmt: skip


def _parameters(*, birth: str = "1987-02-20", member: str | None = None, **parts: Any) -> dict:
    coverage: dict[str, Any] = {"resourceType": "Coverage", "status": "active",
                                "beneficiary": {"reference": "Patient/1"},
                                "payor": [{"display": "Medicare (demo)"}]}  # fmt: skip
    if member:
        coverage["identifier"] = [{"system": MEMBER_SYSTEM, "value": member}]
    patient = {"resourceType": "Patient", "name": [{"family": "Smith", "given": ["Joe"]}],
               "gender": "male", "birthDate": birth}  # fmt: skip
    given = {"MemberPatient": patient, "CoverageToMatch": coverage, "Consent": CONSENT} | parts
    return {"resourceType": "Parameters",
            "parameter": [{"name": n, "resource": r} for n, r in given.items() if r]}  # fmt: skip


def test_a_member_is_matched_by_demographics_and_coverage(members: Tenants) -> None:
    submit_for(members, "mm-one", member="MEM-MM1")
    answer = members.post("new-plan", "/fhir/Patient/$member-match", _parameters(member="MEM-MM1"))
    assert answer.status_code == 200, answer.text
    (found,) = answer.json()["parameter"]
    assert found["name"] == "MemberIdentifier"
    assert found["valueIdentifier"]["value"] == "MEM-MM1"
    assert found["valueIdentifier"]["system"] == MEMBER_SYSTEM
    assert members.payer.provider_access.records.choices("MEM-MM1")[1] is True  # opted in
    validator = Validator.from_packages([shared_path("igs", "davinci-hrex-1.0.0.tgz")])
    out = [i for i in validator.validate(answer.json(), HREX + "hrex-parameters-member-match-out")
           if i.severity == "error"]  # fmt: skip
    assert out == []


def test_no_single_match_is_422(members: Tenants) -> None:
    submit_for(members, "mm-two-a", member="MEM-MM2")
    submit_for(members, "mm-two-b", member="MEM-MM3")
    nobody = members.post(
        "new-plan", "/fhir/Patient/$member-match", _parameters(birth="1950-01-01")
    )
    assert nobody.status_code == 422
    assert nobody.json()["issue"][0]["details"]["coding"][0]["code"] == "no-member-match"
    several = members.post("new-plan", "/fhir/Patient/$member-match", _parameters())
    assert several.status_code == 422
    assert "more than one" in several.json()["issue"][0]["diagnostics"]
    wrong = members.post("new-plan", "/fhir/Patient/$member-match", _parameters(member="NOPE"))
    assert wrong.status_code == 422


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"resourceType": "Patient"}, "Parameters"),
        (_parameters(Consent=None), "['Consent']"),
        (_parameters(Consent={**CONSENT, "provision": {"type": "deny"}}), "permit"),
        (_parameters(Consent={**CONSENT, "policy": [{"uri": "x"}]}), "Consent.policy.uri"),
        (_parameters(MemberPatient={"resourceType": "Coverage"}), "MemberPatient must hold"),
        (_parameters(MemberPatient={"resourceType": "Patient"}), "birthDate"),
        ({"resourceType": "Parameters", "parameter": [{"name": "Other"}]}, "unknown part"),
    ],
)
def test_malformed_parameters_are_400_naming_the_part(
    members: Tenants, body: dict[str, Any], words: str
) -> None:
    answer = members.post("new-plan", "/fhir/Patient/$member-match", body)
    assert answer.status_code == 400, answer.text
    assert words in answer.json()["issue"][0]["diagnostics"]


def test_only_payers_may_match(members: Tenants) -> None:
    answer = members.post("clinic-a", "/fhir/Patient/$member-match", _parameters())
    assert answer.status_code == 403


def test_the_hrex_examples_replay(members: Tenants) -> None:
    """HRex's member-match-in examples validate and are answered (422: not our member)."""
    validator = Validator.from_packages([shared_path("igs", "davinci-hrex-1.0.0.tgz")])
    with tarfile.open(shared_path("igs", "davinci-hrex-1.0.0.tgz")) as archive:
        names = [m for m in archive.getmembers() if "Parameters-member-match" in m.name]
        examples = {m.name: json.load(archive.extractfile(m)) for m in names}  # type: ignore[arg-type]
    assert len(examples) == 3
    for name, example in examples.items():
        profile = HREX + ("hrex-parameters-member-match-out" if "out" in name
                          else "hrex-parameters-member-match-in")  # fmt: skip
        assert [i for i in validator.validate(example, profile) if i.severity == "error"] == []
        if "-in" in name:
            answer = members.post("new-plan", "/fhir/Patient/$member-match", copy.deepcopy(example))
            assert answer.status_code == 422, answer.text


def _bundle(parameters: dict[str, Any]) -> dict[str, Any]:
    return {"name": "MemberBundle", "part": parameters["parameter"]}


def test_bulk_member_match_then_the_payer_to_payer_export(members: Tenants) -> None:
    """PDex $bulk-member-match: matched, not matched and consent-constrained Groups; the
    matched Group's export has the opted-in members' requests of five years, no denials."""
    from tests.access.test_provider_access import _finished, _get

    kept = submit_for(members, "bm-approved", member="MEM-BM1", code="E0250")
    denied = submit_for(members, "bm-denied", member="MEM-BM1")
    deny = [{"sequence": s, "action": "A3", "reason": "No.", "reasonCodes": ["T1"]} for s in (1, 2)]
    assert members.post("reviewer", f"/admin/pas/{denied}/decision", {"items": deny}).ok
    submit_for(members, "bm-constrained", member="MEM-BM2")
    no_consent = {**CONSENT, "provision": {"type": "deny"}}
    body = {
        "resourceType": "Parameters",
        "parameter": [
            _bundle(_parameters(member="MEM-BM1")),
            _bundle(_parameters(birth="1901-01-01")),
            _bundle(_parameters(member="MEM-BM2", Consent=no_consent)),
        ],
    }
    answer = members.post("new-plan", "/fhir/Group/$bulk-member-match", body)
    assert answer.status_code == 200, answer.text
    result = {p["name"]: p["resource"] for p in answer.json()["parameter"]}
    matched = result["ResourceIdentifier"]
    assert [m["entity"]["reference"] for m in matched["member"]] == ["Patient/MEM-BM1"]
    assert result["NoMatch"]["quantity"] == 1
    assert result["ConsentConstraint"]["quantity"] == 1
    validator = Validator.from_packages([shared_path("igs", "davinci-pdex-2.1.0.tgz"),
                                         shared_path("igs", "davinci-hrex-1.0.0.tgz")])  # fmt: skip
    for group in result.values():
        assert [str(i) for i in validator.validate(group) if i.severity == "error"] == []

    export = f"/fhir/Group/{matched['id']}/$davinci-data-export"
    assert _get(members, "other-plan", export).status_code == 404  # not its match Group
    assert _get(members, "provider-a", export).status_code == 404
    kick = _get(members, "new-plan", export)
    assert kick.status_code == 202, kick.text
    manifest = _finished(members, "new-plan", kick.headers["Content-Location"]).json()
    lines = _get(members, "new-plan", manifest["output"][0]["url"]).text.splitlines()
    assert {json.loads(line)["id"] for line in lines} == {kept}  # the denial left out


def test_bulk_member_match_refuses_malformed_bundles(members: Tenants) -> None:
    bad = {"resourceType": "Parameters", "parameter": [{"name": "MemberBundle", "part": []}]}
    answer = members.post("new-plan", "/fhir/Group/$bulk-member-match", bad)
    assert answer.status_code == 400
    assert "MemberBundle 0" in answer.json()["issue"][0]["diagnostics"]
    empty = members.post(
        "new-plan", "/fhir/Group/$bulk-member-match", {"resourceType": "Parameters"}
    )
    assert empty.status_code == 400
    assert members.post("clinic-a", "/fhir/Group/$bulk-member-match", bad).status_code == 403
