"""Retrieve date filters (ELM §Retrieve dateProperty/dateRange/dateLow/HighProperty), AgeIn*
over a FHIR birthDate, typeless ValueSetRef operands and ELM-file detection.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from davinci_pa.cql import BundleDataProvider, CqlEngine, LibraryRepository, LocalTerminology
from davinci_pa.cql.library import is_elm
from tests.cql.test_engine_operators import lit, op

FHIR = "{http://hl7.org/fhir}"
SYS = "{urn:hl7-org:elm-types:r1}"
NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)

RECORDS: list[dict[str, Any]] = [
    {"resourceType": "Patient", "id": "p1", "birthDate": "2008-06-02"},
    {"resourceType": "Observation", "id": "point-in", "effectiveDateTime": "2024-05-10"},
    {"resourceType": "Observation", "id": "point-out", "effectiveDateTime": "2023-01-10T08:00:00Z"},
    {
        "resourceType": "Observation",
        "id": "period-in",
        "effectivePeriod": {"start": "2024-05-01T00:00:00Z", "end": "2024-05-02T00:00:00Z"},
    },
    {
        "resourceType": "Observation",
        "id": "period-straddles",
        "effectivePeriod": {"start": "2024-03-01T00:00:00Z", "end": "2024-04-15T00:00:00Z"},
    },
    {"resourceType": "Observation", "id": "no-date"},
    {
        "resourceType": "Encounter",
        "id": "e-in",
        "period": {"start": "2024-04-10T09:00:00Z", "end": "2024-04-10T10:00:00Z"},
    },
    {"resourceType": "Encounter", "id": "e-out", "period": {"start": "2022-04-10T09:00:00Z"}},
]


def window(low: str, high: str) -> dict[str, Any]:
    return {
        "type": "Interval",
        "low": op("ToDateTime", lit(low)),
        "high": op("ToDateTime", lit(high)),
        "lowClosed": True,
        "highClosed": True,
    }


def ids(kind: str, **retrieve: Any) -> list[str]:
    elm = {"type": "Retrieve", "dataType": FHIR + kind, **retrieve}
    lib = {
        "library": {
            "identifier": {"id": "R", "version": "1"},
            "statements": {"def": [{"name": "X", "context": "Patient", "expression": elm}]},
        }
    }
    engine = CqlEngine(LibraryRepository([lib]))
    result = engine.evaluate("R", data=BundleDataProvider(RECORDS), now=NOW)["X"]
    return [r["id"] for r in result]


APRIL_MAY = window("2024-04-01T00:00:00Z", "2024-05-31T23:59:59Z")


@pytest.mark.parametrize(
    ("kind", "retrieve", "expected"),
    [
        ("Observation", {}, ["point-in", "point-out", "period-in", "period-straddles", "no-date"]),
        (
            "Observation",
            {"dateProperty": "effective", "dateRange": APRIL_MAY},
            ["point-in", "period-in"],
        ),
        (
            "Observation",
            {"dateProperty": "effective", "dateRange": window("2024-01-01", "2024-12-31")},
            ["point-in", "period-in", "period-straddles"],
        ),
        ("Encounter", {"dateProperty": "period", "dateRange": APRIL_MAY}, ["e-in"]),
        (
            "Encounter",
            {
                "dateLowProperty": "period.start",
                "dateHighProperty": "period.end",
                "dateRange": APRIL_MAY,
            },
            ["e-in"],
        ),
        ("Encounter", {"dateRange": APRIL_MAY}, ["e-in", "e-out"]),
        ("Encounter", {"dateProperty": "period", "dateRange": {"type": "Null"}}, ["e-in", "e-out"]),
    ],
)
def test_retrieve_date_filters(kind: str, retrieve: dict[str, Any], expected: list[str]) -> None:
    assert ids(kind, **retrieve) == expected


def _patient_age(expression: dict[str, Any]) -> Any:
    patient = {
        "type": "SingletonFrom",
        "operand": {"type": "Retrieve", "dataType": FHIR + "Patient"},
    }
    lib = {
        "library": {
            "identifier": {"id": "A", "version": "1"},
            "statements": {
                "def": [
                    {"name": "Patient", "context": "Patient", "expression": patient},
                    {"name": "X", "context": "Patient", "expression": expression},
                ]
            },
        }
    }
    engine = CqlEngine(LibraryRepository([lib]))
    return engine.evaluate("A", data=BundleDataProvider(RECORDS), now=NOW, defines=["X"])["X"]


BIRTH = {
    "type": "Property",
    "path": "birthDate.value",
    "source": {"type": "ExpressionRef", "name": "Patient"},
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (
            {
                "type": "CalculateAge",
                "precision": "Year",
                "operand": BIRTH,
                "signature": [{"name": SYS + "Date"}],
            },
            15,
        ),
        (
            {
                "type": "CalculateAge",
                "precision": "Month",
                "operand": BIRTH,
                "signature": [{"name": SYS + "Date"}],
            },
            191,
        ),
        (
            {
                "type": "CalculateAge",
                "precision": "Year",
                "operand": BIRTH,
                "signature": [{"name": SYS + "DateTime"}],
            },
            15,
        ),
    ],
)
def test_age_reads_fhir_birth_date(expression: dict[str, Any], expected: int) -> None:
    assert _patient_age(expression) == expected


def test_in_valueset_accepts_a_typeless_valueset_reference() -> None:
    url = "http://example.org/ValueSet/x"
    elm = {
        "type": "InValueSet",
        "code": {
            "type": "Instance",
            "classType": SYS + "Code",
            "element": [
                {"name": "code", "value": lit("a")},
                {"name": "system", "value": lit("urn:s")},
            ],
        },
        "valueset": {"name": "X VS", "preserve": True},
    }
    lib = {
        "library": {
            "identifier": {"id": "V", "version": "1"},
            "valueSets": {"def": [{"name": "X VS", "id": url}]},
            "statements": {"def": [{"name": "X", "context": "Unfiltered", "expression": elm}]},
        }
    }
    terminology = LocalTerminology()
    terminology.add(
        {
            "resourceType": "ValueSet",
            "url": url,
            "compose": {"include": [{"system": "urn:s", "concept": [{"code": "a"}]}]},
        }
    )
    engine = CqlEngine(LibraryRepository([lib]), terminology=terminology)
    assert engine.evaluate("V")["X"] is True


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"library": {"identifier": {"id": "X", "version": "1"}}}, True),
        ({"library": {"name": "HomeOxygenRule", "version": "1.0.0"}}, False),
        ({"library": {"identifier": {"id": 3}}}, False),
        ({"library": "X"}, False),
        ([], False),
    ],
)
def test_is_elm(document: Any, expected: bool) -> None:
    assert is_elm(document) is expected


def test_from_directories_skips_non_elm_json(tmp_path: Path) -> None:
    (tmp_path / "topic.json").write_text(json.dumps({"library": {"name": "L", "version": "1"}}))
    (tmp_path / "L.json").write_text(json.dumps({"library": {"identifier": {"id": "L"}}}))
    assert LibraryRepository.from_directories([tmp_path]).names() == [("L", None)]
