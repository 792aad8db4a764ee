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
