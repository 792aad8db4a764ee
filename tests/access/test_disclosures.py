"""Every disclosure is an AuditEvent in the IHE BALP PrivacyDisclosure (Source) shape."""

from __future__ import annotations

from davinci_pa.access.disclosure import BALP_SOURCE
from davinci_pa.fhir.validation.validator import Validator
from tests.access.conftest import get, patient_token, submit_for
from tests.access.test_member_match import _parameters
from tests.security.conftest import Tenants


def test_patient_access_and_member_match_are_recorded(members: Tenants) -> None:
    pa_id = submit_for(members, "disclosed", member="MEM-D1")
    token = patient_token(members, "MEM-D1")
    assert get(members, f"/fhir/ExplanationOfBenefit/{pa_id}", token).ok
    assert get(members, "/fhir/ExplanationOfBenefit", token).ok
    assert get(members, "/fhir/ExplanationOfBenefit?_id=none", token).ok  # nothing disclosed
    match = members.post("new-plan", "/fhir/Patient/$member-match", _parameters(member="MEM-D1"))
    assert match.status_code == 200, match.text
    events = members.payer.disclosures.of_member("MEM-D1")
    subtypes = sorted(e["subtype"][1]["code"] for e in events)
    assert subtypes == ["operation", "read", "search-type"]
    validator = Validator.from_packages([])
    for event in events:
        assert event["meta"]["profile"] == [BALP_SOURCE]
        assert event["type"]["code"] == "110106" and event["action"] == "R"  # noqa: PT018
        assert event["entity"][0]["what"] == {"reference": "Patient/MEM-D1"}
        roles = [a["type"]["coding"][0]["code"] for a in event["agent"]]
        assert roles == ["110153", "110152"]
        assert [i for i in validator.validate(event) if i.severity == "error"] == []
    recipients = {e["agent"][1]["who"]["display"] for e in events}
    assert "new-plan" in recipients
