"""Server-side prepopulation: synthetic patients per topic with hand-computed answers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from davinci_pa.dtr import PrepopulationContext, Prepopulator
from davinci_pa.dtr.service import shipped_content
from davinci_pa.dtr.vocabulary import walk_items
from tests.dtr.helpers import coverage, device_order, service_order

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
HCPCS = "https://bluebutton.cms.gov/resources/codesystem/hcpcs"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"


def _patient() -> list[dict[str, Any]]:
    return [
        {
            "resourceType": "Patient",
            "id": "p1",
            "name": [{"use": "official", "family": "Rivera", "given": ["Ana"]}],
            "gender": "female",
            "birthDate": "1950-03-04",
        },
        {
            "resourceType": "Practitioner",
            "id": "dr1",
            "name": [{"family": "Chen", "given": ["Lee"]}],
            "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}],
        },
        coverage(),
    ]


def _obs(
    oid: str, code: str, value: float, unit: str, when: str, status: str = "final"
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": status,
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "effectiveDateTime": when,
        "valueQuantity": {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    }


def _condition(cid: str, code: str, onset: str | None = None, system: str = ICD) -> dict[str, Any]:
    found: dict[str, Any] = {
        "resourceType": "Condition",
        "id": cid,
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": system, "code": code}]},
    }
    if onset:
        found["onsetDateTime"] = onset
    return found


def _visit(eid: str, end: str) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "id": eid,
        "status": "finished",
        "class": {"code": "AMB"},
        "subject": {"reference": "Patient/p1"},
        "period": {"start": end, "end": end},
    }


def _with_requester(order: dict[str, Any]) -> dict[str, Any]:
    return {**order, "requester": {"reference": "Practitioner/dr1"}}


def _answers(topic: str, record: list[dict[str, Any]]) -> dict[str, list[Any]]:
    content = shipped_content()
    form = content.definition(f"http://davinci-pa.org/fhir/Questionnaire/{topic}")
    assert form is not None
    result = Prepopulator(content).populate(
        form, record, PrepopulationContext(patient_id="p1", now=NOW)
    )
    assert result.problems == ()
    found: dict[str, list[Any]] = {}
    for item, _ in walk_items(result.response["item"]):
        for answer in item.get("answer", []):
            origin = answer["extension"][0]["extension"][0]
            assert origin == {"url": "source", "valueCode": "auto-server"}
            value = next(v for k, v in answer.items() if k.startswith("value"))
            found.setdefault(item["linkId"], []).append(
                value.get("code") if isinstance(value, dict) else value
            )
    return found


SHARED = {
    "patient.last-name": ["Rivera"],
    "patient.first-name": ["Ana"],
    "patient.birth-date": ["1950-03-04"],
    "patient.gender": ["female"],
    "patient.member-id": ["M-0001"],
    "practitioner.name": ["Lee Chen"],
    "practitioner.npi": ["1234567893"],
}

CASES = [
    (
        "home-oxygen",
        [
            _with_requester(device_order("E0431")),
            _obs("s1", "59408-5", 86, "%", "2025-05-10T08:00:00Z"),
            _obs("s2", "59408-5", 88, "%", "2025-05-20T08:00:00Z"),
            _obs("s3", "59408-5", 80, "%", "2025-05-25T08:00:00Z", status="preliminary"),
            _obs("s4", "59408-5", 70, "%", "2025-03-01T08:00:00Z"),
            _condition("c1", "I27.20"),
            _visit("e1", "2025-05-20T09:00:00Z"),
        ],
        {
            "order.code": ["E0431"],
            "test.saturation": [88],
            "test.saturation-date": ["2025-05-20T08:00:00+00:00"],
            "group2.condition": [True],
            "evaluation.visit-date": ["2025-05-20"],
        },
    ),
    (
        "cpap",
        [
            _with_requester(device_order("E0601")),
            _visit("e1", "2025-01-10T09:00:00Z"),
            _obs("a1", "69990-0", 12.5, "/h", "2025-02-01T22:00:00Z"),
            _condition("c1", "I10"),
        ],
        {
            "order.code": ["E0601"],
            "evaluation.date": ["2025-01-10"],
            "test.date": ["2025-02-01"],
            "test.ahi": [12.5],
            "test.comorbidity": [True],
        },
    ),
    (
        "hospital-beds",
        [
            _with_requester(device_order("E0301")),
            _obs("w1", "29463-7", 165, "kg", "2025-05-01T08:00:00Z"),
        ],
        {"order.code": ["E0301"], "need.weight": [165], "need.heavy-duty": [True]},
    ),
    (
        "power-mobility",
        [
            _with_requester(device_order("K0823")),
            _obs("w1", "29463-7", 100, "kg", "2025-05-01T08:00:00Z"),
            _visit("e1", "2025-04-15T09:00:00Z"),
        ],
        {"order.code": ["K0823"], "exam.date": ["2025-04-15"], "exam.weight": [220]},
    ),
    (
        "knee-arthroplasty",
        [
            _with_requester(service_order("27447")),
            _condition("c1", "M17.11"),
            _obs("b1", "39156-5", 41.26, "kg/m2", "2025-05-01T08:00:00Z"),
            _obs("h1", "4548-4", 8.04, "%", "2025-05-01T08:00:00Z"),
        ],
        {
            "indication.code": ["27447"],
            "indication.reason": ["osteoarthritis"],
            "indication.bmi": [41.3],
            "indication.hba1c": [8],
        },
    ),
    (
        "lumbar-spine-mri",
        [_with_requester(service_order("72148")), _condition("c1", "M54.50", "2025-03-30")],
        {"order.code": ["72148"], "history.onset": ["2025-03-30"], "history.weeks": [9]},
    ),
    (
        "attended-polysomnography",
        [_with_requester(service_order("95810"))],
        {"order.code": ["95810"], "indication.age": [75]},
    ),
    (
        "genetic-testing",
        [_with_requester(service_order("81162")), _condition("c1", "C50.911", "2024-11-02")],
        {
            "order.code": ["81162"],
            "history.cancer": [True],
            "history.diagnosis-date": ["2024-11-02"],
        },
    ),
    (
        "home-health",
        [_visit("e1", "2025-05-02T09:00:00Z"), _visit("e0", "2024-12-01T09:00:00Z")],
        {"encounter.date": ["2025-05-02"]},
    ),
    (
        "non-emergency-ambulance",
        [
            _with_requester(
                {**service_order("A0428"), "code": {"coding": [{"system": HCPCS, "code": "A0428"}]}}
            ),
            _condition("c1", "N18.6"),
        ],
        {"order.code": ["A0428"], "necessity.condition": [True]},
    ),
]


@pytest.mark.parametrize(("topic", "record", "expected"), CASES, ids=[c[0] for c in CASES])
def test_prepopulated_answers_match_hand_computed_values(
    topic: str, record: list[dict[str, Any]], expected: dict[str, list[Any]]
) -> None:
    answers = _answers(topic, _patient() + record)
    shared = (
        dict(SHARED)
        if any(r.get("requester") for r in record)
        else {k: v for k, v in SHARED.items() if not k.startswith("practitioner")}
    )
    assert answers == {**shared, **expected}


def test_missing_or_wrong_data_leaves_items_empty() -> None:
    record = [
        {"resourceType": "Patient", "id": "p1", "name": [{"family": "Doe"}]},
        device_order("E9999"),  # not an oxygen code: the choice item stays empty
        _obs("s1", "59408-5", 86, "%", "2025-05-10T08:00:00Z", status="entered-in-error"),
        _condition("c1", "I27.20") | {"verificationStatus": {"coding": [{"code": "refuted"}]}},
    ]
    assert _answers("home-oxygen", record) == {"patient.last-name": ["Doe"]}


def test_another_patients_data_is_not_used() -> None:
    other = _obs("s9", "59408-5", 81, "%", "2025-05-10T08:00:00Z") | {
        "subject": {"reference": "Patient/p2"}
    }
    answers = _answers("home-oxygen", _patient() + [other])
    assert "test.saturation" not in answers
