"""Each kind of CRD answer, hand-computed from the shipped topics' CQL and cited policies.

The payer runs for real (rule pack, CQL engine, store); only the EHR is replaced, by an
in-memory FHIR server holding the patient's record, queried as the rules need it (found-5).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from davinci_pa.config import CrdOptions, PayerOptions, SecurityOptions
from davinci_pa.crd.coverage_info import COVERAGE_INFO_URL
from davinci_pa.crd.gathering import DataGatherer
from davinci_pa.fhir.codes import CPT, HCPCS, ICD10CM
from davinci_pa.payer import Caller, Payer
from davinci_pa.store import Database
from tests._shared import REPO

EHR = "https://ehr.example.org/fhir"
NOW = datetime.now(UTC)
PAYORS = {
    "medicare": {
        "identifier": {
            "system": "http://davinci-pa.org/fhir/sid/payer-id",
            "value": "DEMO-MEDICARE",
        }
    },
    "acme": {
        "identifier": {"system": "http://davinci-pa.org/fhir/sid/payer-id", "value": "DEMO-ACME"}
    },
}


class InMemoryEhr:
    """A FhirClient over a fixed patient record."""

    def __init__(self, resources: list[dict[str, Any]]) -> None:
        self.resources = resources
        self.searches: list[str] = []

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        return next(
            r
            for r in self.resources
            if (r["resourceType"], r["id"]) == (resource_type, resource_id)
        )

    def search(self, resource_type: str, params: Any) -> dict[str, Any]:
        self.searches.append(resource_type)
        hits = [r for r in self.resources if r["resourceType"] == resource_type]
        return {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": r} for r in hits],
        }

    def get(self, url: str) -> dict[str, Any]:
        return {"resourceType": "Bundle", "type": "searchset", "entry": []}


@dataclass
class Answer:
    parts: dict[str, list[Any]]
    cards: list[dict[str, Any]]

    def one(self, name: str) -> Any:
        values = self.parts.get(name, [])
        return values[0] if values else None


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('topics') / 'topics.sqlite3'}")
    db.migrate()
    yield db
    db.dispose()


def decide(
    database: Database, order: dict[str, Any], records: list[dict[str, Any]], payer: str
) -> Answer:
    ehr = InMemoryEhr(records)
    options = PayerOptions(
        crd=CrdOptions(allowed_fhir_servers=(EHR,)), security=SecurityOptions(verify_jwt=False)
    )
    gatherer = DataGatherer(allowed_fhir_servers=(EHR,), client_factory=lambda _url, _token: ehr)
    instance = Payer.from_rule_pack(
        REPO / "cql_rules", database=database, options=options, gatherer=gatherer
    )
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "1950-05-01", "gender": "female"}
    coverage = {
        "resourceType": "Coverage",
        "id": "cov1",
        "status": "active",
        "beneficiary": {"reference": "Patient/p1"},
        "payor": [PAYORS[payer]],
    }
    body = {
        "hook": "order-sign",
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": EHR,
        "fhirAuthorization": {
            "access_token": "t",
            "token_type": "Bearer",
            "expires_in": 30,
            "scope": "patient/*.read",
            "subject": "crd",
        },
        "context": {
            "userId": "Practitioner/dr",
            "patientId": "p1",
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": order}],
            },
        },
        "prefetch": {"patient": patient, "coverage": coverage},
        "extension": {"davinci-crd.requestedVersion": "2.2"},
    }
    answer = instance.handle_hook("order-sign-crd", body, caller=Caller(None))
    ext = next(
        e
        for e in answer["systemActions"][0]["resource"]["extension"]
        if e["url"] == COVERAGE_INFO_URL
    )
    parts: dict[str, list[Any]] = {}
    for part in ext["extension"]:
        value = next(v for k, v in part.items() if k != "url")
        parts.setdefault(part["url"], []).append(value)
    return Answer(parts, answer["cards"])


def order(resource_type: str, system: str, code: str, **extra: Any) -> dict[str, Any]:
    field = {"DeviceRequest": "codeCodeableConcept", "ServiceRequest": "code"}[resource_type]
    return {
        "resourceType": resource_type,
        "id": "o1",
        "status": "draft",
        "intent": "order",
        field: {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": "Patient/p1"},
        **extra,
    }


def condition(code: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": f"c-{code}",
        "subject": {"reference": "Patient/p1"},
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "code": {"coding": [{"system": ICD10CM, "code": code}]},
    }


def encounter(days_ago: int) -> dict[str, Any]:
    day = (NOW - timedelta(days=days_ago)).date().isoformat()
    return {
        "resourceType": "Encounter",
        "id": f"e{days_ago}",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": "Patient/p1"},
        "period": {"start": day, "end": day},
    }


def test_power_wheelchair_needs_prior_authorization(database: Database) -> None:
    """LCD L33789 / Required Prior Authorization List: K0823 needs PA; no face-to-face on file."""
    a = decide(database, order("DeviceRequest", HCPCS, "K0823"), [], "medicare")
    assert (a.one("covered"), a.one("pa-needed"), a.one("doc-needed"), a.one("doc-purpose")) == (
        "covered",
        "auth-needed",
        "clinical",
        "withpa",
    )
    assert "No face-to-face" in a.one("reason")["text"]
    assert a.one("questionnaire") == "http://davinci-pa.org/fhir/Questionnaire/power-mobility|1.0.0"


def test_power_wheelchair_with_recent_face_to_face(database: Database) -> None:
    """The EHR is queried for Encounters (found-5): a visit 60 days ago changes the advice."""
    a = decide(database, order("DeviceRequest", HCPCS, "K0823"), [encounter(60)], "medicare")
    assert a.one("pa-needed") == "auth-needed"
    assert "send the face-to-face examination" in a.one("reason")["text"]


def test_group_2_scooter_is_not_covered(database: Database) -> None:
    """LCD L33789: Group 2 scooters are not reasonable and necessary in the home."""
    a = decide(database, order("DeviceRequest", HCPCS, "K0806"), [], "medicare")
    assert a.one("covered") == "not-covered"
    assert "pa-needed" not in a.parts
    assert "Group 2 scooters" in a.one("reason")["text"]
    assert any(c["summary"].startswith("Consider") for c in a.cards), (
        "a Group 1 scooter is proposed"
    )


def test_lumbar_mri_with_red_flag_is_approved_at_once(database: Database) -> None:
    """ACR criteria (Acme): a red flag on record satisfies PA; a satisfied-pa-id is issued."""
    a = decide(database, order("ServiceRequest", CPT, "72148"), [condition("G83.4")], "acme")
    assert a.one("pa-needed") == "satisfied"
    assert a.one("satisfied-pa-id")
    assert "doc-needed" not in a.parts


def test_lumbar_mri_without_red_flag_needs_documentation(database: Database) -> None:
    a = decide(database, order("ServiceRequest", CPT, "72148"), [], "acme")
    assert (a.one("pa-needed"), a.one("doc-needed"), a.one("doc-purpose")) == (
        "auth-needed",
        "clinical",
        "withpa",
    )
    assert "satisfied-pa-id" not in a.parts


def test_a_topic_for_another_payer_does_not_apply(database: Database) -> None:
    """The lumbar MRI topic is Acme's; Medicare (demo) lists no requirement for 72148."""
    a = decide(database, order("ServiceRequest", CPT, "72148"), [], "medicare")
    assert (a.one("covered"), a.one("pa-needed")) == ("covered", "no-auth")
    assert a.cards == []


def test_genetic_test_without_a_lab_is_conditional(database: Database) -> None:
    """BRCA testing with a cancer history is covered once the performing lab is known."""
    a = decide(database, order("ServiceRequest", CPT, "81162"), [condition("C50.911")], "medicare")
    assert (a.one("covered"), a.one("info-needed")) == ("conditional", "performer")


def test_genetic_test_without_cancer_history_is_not_covered(database: Database) -> None:
    a = decide(database, order("ServiceRequest", CPT, "81162"), [], "medicare")
    assert a.one("covered") == "not-covered"


def test_genetic_test_with_a_lab_and_history_is_covered(database: Database) -> None:
    lab = order("ServiceRequest", CPT, "81162", performer=[{"reference": "Organization/lab"}])
    a = decide(database, lab, [condition("C50.911")], "medicare")
    assert (a.one("covered"), a.one("pa-needed"), a.one("doc-purpose")) == (
        "covered",
        "no-auth",
        "retain-doc",
    )
