"""DTR benchmark: p50/p99 of $questionnaire-package, $next-question and prepopulation.

Run: ``.venv/bin/python bench/dtr.py [--runs 300]``. Inputs: the conformance kit's static
package request (read from ../shared when present, else an equivalent built here), a knee
arthroplasty $next-question step, and prepopulation of the largest shipped form against a
50-entry synthetic patient record. Warm runs only (the first call compiles the CQL).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from davinci_pa.dtr import PrepopulationContext
from davinci_pa.dtr.service import DtrService, shipped_content
from davinci_pa.dtr.vocabulary import walk_items
from davinci_pa.rules.loader import load_rule_pack

REPO = Path(__file__).resolve().parents[1]
KIT = (
    REPO.parent
    / "shared"
    / "fixtures"
    / "dtr"
    / "inferno"
    / "initial_static_questionnaire_request.json"
)
ORIGIN = "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/information-origin"


def _package_request() -> dict[str, Any]:
    if KIT.is_file():
        body: dict[str, Any] = json.loads(KIT.read_text(encoding="utf-8"))
        return body
    order = {
        "resourceType": "DeviceRequest",
        "id": "o1",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "codeCodeableConcept": {
            "coding": [
                {"system": "https://bluebutton.cms.gov/resources/codesystem/hcpcs", "code": "E0424"}
            ]
        },
    }
    coverage = {
        "resourceType": "Coverage",
        "id": "c1",
        "status": "active",
        "beneficiary": {"reference": "Patient/p1"},
        "payor": [{"display": "CMS"}],
    }
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "coverage", "resource": coverage},
            {"name": "order", "resource": order},
        ],
    }


def _next_question_body(service: DtrService) -> dict[str, Any]:
    order = {
        "resourceType": "ServiceRequest",
        "id": "s1",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "27447"}]},
    }
    coverage = {
        "resourceType": "Coverage",
        "id": "c1",
        "status": "active",
        "beneficiary": {"reference": "Patient/p1"},
        "payor": [{"display": "Acme Health Plan"}],
    }
    package = service.questionnaire_package(
        {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "coverage", "resource": coverage},
                {"name": "order", "resource": order},
            ],
        }
    )
    draft: dict[str, Any] = copy.deepcopy(
        package["parameter"][0]["resource"]["entry"][-1]["resource"]
    )
    origin: list[dict[str, Any]] = [
        {
            "url": ORIGIN,
            "extension": [
                {"url": "source", "valueCode": "manual"},
                {
                    "url": "author",
                    "extension": [
                        {"url": "practitioner", "valueReference": {"reference": "Practitioner/dr1"}}
                    ],
                },
            ],
        }
    ]
    values: dict[str, dict[str, Any]] = {
        "boolean": {"valueBoolean": True},
        "string": {"valueString": "x"},
        "date": {"valueDate": "2025-01-02"},
        "decimal": {"valueDecimal": 42},
    }
    draft["item"] = []
    for page in draft["contained"][0]["item"]:
        answers = []
        for q in page["item"]:
            if q["linkId"] == "indication.code":
                value = {
                    "valueCoding": {"system": "http://www.ama-assn.org/go/cpt", "code": "27447"}
                }
            elif "answerOption" in q:
                value = values.get(q["type"]) or {
                    "valueCoding": q["answerOption"][0]["valueCoding"]
                }
            else:
                value = values[q["type"]]
            answers.append({"linkId": q["linkId"], "answer": [{**value, "extension": origin}]})
        draft["item"].append({"linkId": page["linkId"], "item": answers})
    return draft


def _record() -> list[dict[str, Any]]:
    """A 50-entry record: patient, practitioner, coverage, order, visits, labs, conditions."""
    entries: list[dict[str, Any]] = [
        {
            "resourceType": "Patient",
            "id": "p1",
            "name": [{"family": "Rivera", "given": ["Ana"]}],
            "gender": "female",
            "birthDate": "1950-03-04",
        },
        {
            "resourceType": "Practitioner",
            "id": "dr1",
            "name": [{"family": "Chen", "given": ["Lee"]}],
        },
        {
            "resourceType": "Coverage",
            "id": "c1",
            "status": "active",
            "subscriberId": "M1",
            "beneficiary": {"reference": "Patient/p1"},
            "payor": [{"display": "CMS"}],
        },
        {
            "resourceType": "DeviceRequest",
            "id": "o1",
            "status": "draft",
            "intent": "order",
            "subject": {"reference": "Patient/p1"},
            "requester": {"reference": "Practitioner/dr1"},
            "codeCodeableConcept": {
                "coding": [
                    {
                        "system": "https://bluebutton.cms.gov/resources/codesystem/hcpcs",
                        "code": "E0431",
                    }
                ]
            },
        },
    ]
    for n in range(16):
        day = f"2025-05-{n + 1:02d}T08:00:00Z"
        entries.append(_observation(f"s{n}", "59408-5", day, 85 + n % 5, "%"))
        entries.append(_observation(f"h{n}", "8867-4", day, 70 + n, "/min"))
    for n in range(8):
        entries.append(
            {
                "resourceType": "Condition",
                "id": f"c{n}",
                "subject": {"reference": "Patient/p1"},
                "code": {
                    "coding": [
                        {
                            "system": "http://hl7.org/fhir/sid/icd-10-cm",
                            "code": ["I27.20", "J44.9", "I10", "E11.9"][n % 4],
                        }
                    ]
                },
            }
        )
    for n in range(6):
        entries.append(
            {
                "resourceType": "Encounter",
                "id": f"e{n}",
                "status": "finished",
                "class": {"code": "AMB"},
                "subject": {"reference": "Patient/p1"},
                "period": {
                    "start": f"2025-05-{n + 10}T09:00:00Z",
                    "end": f"2025-05-{n + 10}T10:00:00Z",
                },
            }
        )
    assert len(entries) == 50, len(entries)
    return entries


def _observation(oid: str, loinc: str, day: str, value: int, unit: str) -> dict[str, Any]:
    """A final vital-sign Observation of the synthetic patient."""
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "effectiveDateTime": day,
        "valueQuantity": {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    }


def _time(label: str, call: Callable[[], object], runs: int) -> None:
    call()  # warm: compiles CQL once
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    print(
        f"{label:<40} p50 {statistics.median(samples):7.2f} ms   p99 {p99:7.2f} ms   ({runs} runs)"
    )


def main() -> None:
    """Run the three measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=300)
    runs = parser.parse_args().runs
    content = shipped_content()
    service = DtrService(content, rules=load_rule_pack(REPO / "cql_rules"))
    package = _package_request()
    step = _next_question_body(service)
    largest = max(
        content.definitions.values(), key=lambda q: sum(1 for _ in walk_items(q.get("item")))
    )
    record = _record()
    context = PrepopulationContext(patient_id="p1")
    _time(
        "$questionnaire-package (kit request)", lambda: service.questionnaire_package(package), runs
    )
    _time("$next-question (knee, page 3 -> 4)", lambda: service.next_question(step), runs)
    _time(
        f"prepopulate {largest['id']} (50 entries)",
        lambda: service.prepopulator.populate(largest, record, context),
        runs,
    )
    oxygen = content.definitions["http://davinci-pa.org/fhir/Questionnaire/home-oxygen|1.0.0"]
    _time(
        "prepopulate home-oxygen (50 entries)",
        lambda: service.prepopulator.populate(oxygen, record, context),
        runs,
    )


if __name__ == "__main__":
    main()
