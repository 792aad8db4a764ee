"""CQL engine speed: our Python engine vs cql-execution (JavaScript) on the same ELM and data.

Two libraries, one 50-entry patient Bundle, the same evaluation clock:

- ``HomeOxygenRule`` (cql_rules/home-oxygen): a CRD rule library, with a DeviceRequest order;
- ``HomeOxygenDocumentation`` (bench/cql): a prepopulation-style library of 48 defines.

Each engine evaluates the whole library (every define) ``--runs`` times after one untimed
warm-up run; the library is loaded and compiled once. Each run gets freshly loaded patient
data (a ``BundleDataProvider`` / a cql-exec-fhir ``PatientSource``), loaded before the clock
starts for the headline figure and included in the bracketed one. Prints the median
milliseconds per full-library evaluation for each engine and the ratio, after checking the
two engines return the same value for every define. Aim: ours >= 5x faster.

    .venv/bin/python bench/cql.py [--runs 50]

Needs Node.js 18+ and npm for cql-execution (installed on first use from the pinned lockfile).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from davinci_pa.cql import (  # noqa: E402
    BundleDataProvider,
    CqlEngine,
    LibraryRepository,
    LocalTerminology,
    encode_result,
)
from davinci_pa.cql.compile import FHIRHELPERS_DIR  # noqa: E402
from davinci_pa.cql.translator_refengine import (  # noqa: E402
    ReferenceCase,
    benchmark_reference_engine,
    run_reference_cases,
)

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
TOPIC = ROOT / "cql_rules" / "home-oxygen"
BENCH = ROOT / "bench" / "cql"
UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
PATIENT = {"reference": "Patient/bench-1"}


def _iso(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat().replace("+00:00", "Z")


def _observation(n: int, code: str, value: float, unit: str, days_ago: float) -> dict[str, Any]:
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"obs-{n}",
        "status": "preliminary" if n % 11 == 5 else "final",
        "subject": PATIENT,
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
        "bodySite": {"text": ("rest", "exercise", "sleep")[n % 3]},
    }
    if n % 4 == 1:
        obs["effectivePeriod"] = {"start": _iso(days_ago + 0.1), "end": _iso(days_ago)}
    else:
        obs["effectiveDateTime"] = _iso(days_ago)
    return obs


def _condition(n: int, code: str, status: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": f"cond-{n}",
        "subject": PATIENT,
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": status,
                }
            ]
        },
        "code": {"coding": [{"system": ICD10, "code": code}]},
        "onsetDateTime": _iso(400 + n),
    }


def _encounter(n: int, days_ago: float) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "id": f"enc-{n}",
        "status": "finished" if n % 5 else "cancelled",
        "class": {"code": "AMB"},
        "subject": PATIENT,
        "participant": [{"individual": {"reference": "Practitioner/dr-1"}}],
        "period": {"start": _iso(days_ago + 0.05), "end": _iso(days_ago)},
    }


def patient_bundle() -> dict[str, Any]:
    """One Patient and 49 resources: oximetry, blood gases, labs, diagnoses, visits, orders."""
    resources: list[dict[str, Any]] = [
        {
            "resourceType": "Patient",
            "id": "bench-1",
            "birthDate": "1948-03-14",
            "gender": "male",
            "address": [
                {"use": "home", "line": ["12 Elm St", "Apt 3"], "city": "Dayton", "state": "OH"},
                {"use": "old", "city": "Austin", "state": "TX"},
            ],
        }
    ]
    series: list[tuple[int, str, str, list[float], float, float]] = [
        # (first id, LOINC code, unit, values, days ago of the first, days between)
        (0, "59408-5", "%", [93, 91, 87, 90, 89, 95, 88, 92, 86, 94, 90, 89], 3, 7),
        (20, "2703-7", "mm[Hg]", [62, 58, 54, 60, 57, 66], 5, 12),
        (30, "4544-3", "%", [48.5, 57.2, 51], 10, 20),
        (40, "3151-8", "L/min", [2, 3, 4.5, 3.5], 60, -15),
        (50, "29463-7", "kg", [81.3, 79.8], 100, -50),
    ]
    for first, code, unit, values, start, step in series:
        for i, value in enumerate(values):
            resources.append(_observation(first + i, code, value, unit, start + step * i))
    diagnoses = [
        ("I50.22", "active"),
        ("I27.20", "active"),
        ("J44.9", "active"),
        ("E11.9", "active"),
        ("I10", "active"),
        ("J96.11", "resolved"),
        ("I50.1", "inactive"),
        ("G47.33", "active"),
        ("N18.3", "active"),
        ("E78.5", "active"),
    ]
    for i, (code, status) in enumerate(diagnoses):
        resources.append(_condition(i, code, status))
    for i in range(6):
        resources.append(_encounter(i, 4 + 25 * i))
    for i, code in enumerate(["94010", "94760", "94618"]):
        resources.append(
            {
                "resourceType": "Procedure",
                "id": f"proc-{i}",
                "status": "completed",
                "subject": PATIENT,
                "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": code}]},
                "performedDateTime": _iso(8 + 30 * i),
            }
        )
    for i, code in enumerate(["896188", "1998774", "197361"]):
        resources.append(
            {
                "resourceType": "MedicationRequest",
                "id": f"med-{i}",
                "status": "active",
                "intent": "order",
                "subject": PATIENT,
                "medicationCodeableConcept": {
                    "coding": [
                        {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": code}
                    ]
                },
                "authoredOn": _iso(30 * i),
            }
        )
    assert len(resources) == 50, len(resources)
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


DEVICE_REQUEST = {
    "resourceType": "DeviceRequest",
    "id": "order-1",
    "status": "draft",
    "intent": "order",
    "subject": PATIENT,
    "codeCodeableConcept": {
        "coding": [
            {"system": "https://bluebutton.cms.gov/resources/codesystem/hcpcs", "code": "E0431"}
        ]
    },
    "authoredOn": _iso(0),
    "note": [{"text": "Portable oxygen for ambulation and walking outside the home"}],
}


def _value_sets() -> tuple[LocalTerminology, dict[str, list[dict[str, str]]]]:
    terminology = LocalTerminology()
    expansions: dict[str, list[dict[str, str]]] = {}
    for path in sorted((TOPIC / "valuesets").glob("*.json")):
        valueset = json.loads(path.read_text(encoding="utf-8"))
        terminology.add(valueset)
        expansions[valueset["url"]] = [
            {"code": c["code"], "system": c["system"]} for c in valueset["expansion"]["contains"]
        ]
    return terminology, expansions


def time_ours(
    engine: CqlEngine, library: str, bundle: dict[str, Any], params: dict[str, Any], runs: int
) -> tuple[float, float, dict[str, Any]]:
    """Median ms of warm whole-library evaluations (alone, and with loading the Bundle)."""
    result = engine.evaluate(library, data=BundleDataProvider(bundle), parameters=params, now=NOW)
    alone, with_load = [], []
    for _ in range(runs):
        started = time.perf_counter()
        data = BundleDataProvider(bundle)
        loaded = time.perf_counter()
        engine.evaluate(library, data=data, parameters=params, now=NOW)
        done = time.perf_counter()
        alone.append((done - loaded) * 1000)
        with_load.append((done - started) * 1000)
    return statistics.median(alone), statistics.median(with_load), encode_result(result)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b or a == b
    if isinstance(a, int | float) or type(a).__name__ == "Decimal":
        return isinstance(b, int | float) and abs(float(a) - float(b)) < 1e-9
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="timed evaluations per engine")
    args = parser.parse_args()
    bundle = patient_bundle()
    terminology, expansions = _value_sets()
    repository = LibraryRepository.from_directories([TOPIC, BENCH, FHIRHELPERS_DIR])
    engine = CqlEngine(repository, terminology=terminology)
    now = NOW.isoformat(timespec="milliseconds")
    cases = [
        ("HomeOxygenRule", TOPIC, {"device_request": DEVICE_REQUEST}),
        ("HomeOxygenDocumentation", BENCH, {"device_request": DEVICE_REQUEST}),
    ]
    print(f"50-entry Bundle, {args.runs} warm runs each; median ms per full-library evaluation")
    print("(evaluation alone; in brackets: including loading the Bundle into the data source)")
    worst = float("inf")
    for library, folder, params in cases:
        ours_ms, ours_load_ms, ours = time_ours(engine, library, bundle, params, args.runs)
        (theirs,) = run_reference_cases(
            folder, library, [ReferenceCase(bundle, params, now)], value_sets=expansions
        )
        if not isinstance(theirs, dict):
            raise theirs
        differing = sorted(k for k in theirs if not _same(ours.get(k), theirs[k]))
        reference = benchmark_reference_engine(
            folder, library, bundle, params, now, runs=args.runs, value_sets=expansions
        )
        ratio = reference.median_ms / ours_ms
        worst = min(worst, ratio)
        print(
            f"{library:<24} {len(theirs):>2} defines | ours {ours_ms:6.2f} ms "
            f"[{ours_load_ms:6.2f}] | cql-execution {reference.median_ms:7.2f} ms "
            f"[{reference.median_with_load_ms:7.2f}] | ratio {ratio:5.1f}x "
            f"[{reference.median_with_load_ms / ours_load_ms:5.1f}x] | "
            f"results differ: {', '.join(differing) or 'none'}"
        )
    print(f"aim: ours >= 5x faster (evaluation alone) on both; worst ratio {worst:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
