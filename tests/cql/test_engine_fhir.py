"""FHIR model navigation, Retrieve, value sets, FHIRHelpers fast paths, includes, parameters
and the JSON encoding, on hand-written ELM over plain FHIR JSON.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from davinci_pa.cql import (
    BundleDataProvider,
    CqlEngine,
    LibraryRepository,
    LocalTerminology,
    encode_result,
)
from davinci_pa.errors import CqlEvaluationError, ElmLoadError
from tests.cql.test_engine_operators import lit, op

FHIR = "{http://hl7.org/fhir}"
VS_URL = "http://example.org/ValueSet/copd"

BUNDLE = {
    "resourceType": "Bundle",
    "entry": [
        {"resource": {"resourceType": "Patient", "id": "p1", "birthDate": "1950-06-01"}},
        {"resource": {"resourceType": "Patient", "id": "p2", "birthDate": "1990-01-01"}},
        {
            "resource": {
                "resourceType": "Condition",
                "id": "c1",
                "subject": {"reference": "Patient/p1"},
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "13645005"}]},
            }
        },
        {
            "resource": {
                "resourceType": "Condition",
                "id": "c2",
                "subject": {"reference": "Patient/p2"},
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "13645005"}]},
            }
        },
        {
            "resource": {
                "resourceType": "Observation",
                "id": "o1",
                "subject": {"reference": "Patient/p1"},
                "effectiveDateTime": "2020-04-20T10:00:00Z",
                "valueQuantity": {
                    "value": 86.5,
                    "unit": "%",
                    "system": "http://unitsofmeasure.org",
                    "code": "%",
                },
            }
        },
        {"resource": {"resourceType": "Practitioner", "id": "dr"}},
    ],
}

VALUESET = {
    "resourceType": "ValueSet",
    "url": VS_URL,
    "compose": {
        "include": [{"system": "http://snomed.info/sct", "concept": [{"code": "13645005"}]}]
    },
}


def fn_ref(name: str, *operands: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "FunctionRef",
        "libraryName": "FHIRHelpers",
        "name": name,
        "operand": list(operands),
    }


def prop(path: str, source: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Property", "path": path, "source": source}


def retrieve(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": "Retrieve", "dataType": FHIR + kind, **extra}


def define(name: str, expression: dict[str, Any], locator: str = "1:1") -> dict[str, Any]:
    return {"name": name, "context": "Patient", "locator": locator, "expression": expression}


MAIN = {
    "library": {
        "identifier": {"id": "Rule", "version": "1.0.0"},
        "includes": {
            "def": [
                {"localIdentifier": "FHIRHelpers", "path": "FHIRHelpers", "version": "4.0.1"},
                {"localIdentifier": "Common", "path": "Common", "version": "2"},
            ]
        },
        "parameters": {
            "def": [{"name": "threshold", "default": lit(88)}, {"name": "device_request"}]
        },
        "valueSets": {"def": [{"name": "COPD", "id": VS_URL}]},
        "statements": {
            "def": [
                define("Patient", op("SingletonFrom", retrieve("Patient"))),
                define(
                    "COPD",
                    retrieve(
                        "Condition",
                        codeProperty="code",
                        codes={"type": "ValueSetRef", "name": "COPD"},
                    ),
                ),
                define(
                    "Saturation",
                    fn_ref(
                        "ToQuantity",
                        {
                            "type": "As",
                            "asType": FHIR + "Quantity",
                            "operand": prop("value", op("SingletonFrom", retrieve("Observation"))),
                        },
                    ),
                ),
                define(
                    "Observed",
                    fn_ref(
                        "ToDateTime",
                        {
                            "type": "As",
                            "asType": FHIR + "dateTime",
                            "operand": prop(
                                "effective", op("SingletonFrom", retrieve("Observation"))
                            ),
                        },
                    ),
                ),
                define(
                    "Birth Date",
                    fn_ref(
                        "ToDate", prop("birthDate", {"type": "ExpressionRef", "name": "Patient"})
                    ),
                ),
                define(
                    "Age",
                    {
                        "type": "CalculateAge",
                        "precision": "Year",
                        "operand": {"type": "ExpressionRef", "name": "Birth Date"},
                    },
                ),
                define("Threshold", {"type": "ParameterRef", "name": "threshold"}),
                define(
                    "Device Status",
                    prop("status", {"type": "ParameterRef", "name": "device_request"}),
                ),
                define(
                    "Greeting", {"type": "ExpressionRef", "libraryName": "Common", "name": "Hello"}
                ),
                define(
                    "Doubled",
                    {
                        "type": "FunctionRef",
                        "libraryName": "Common",
                        "name": "Double",
                        "operand": [lit(21)],
                    },
                ),
                define("Broken", op("SingletonFrom", retrieve("Condition")), locator="9:3-9:30"),
            ]
        },
    }
}

COMMON = {
    "library": {
        "identifier": {"id": "Common", "version": "2"},
        "statements": {
            "def": [
                {"name": "Hello", "context": "Patient", "expression": lit("hi")},
                {
                    "type": "FunctionDef",
                    "name": "Double",
                    "operand": [
                        {
                            "name": "x",
                            "operandTypeSpecifier": {
                                "type": "NamedTypeSpecifier",
                                "name": "{urn:hl7-org:elm-types:r1}Integer",
                            },
                        }
                    ],
                    "expression": op("Multiply", {"type": "OperandRef", "name": "x"}, lit(2)),
                },
            ]
        },
    }
}

NOW = datetime(2020, 5, 1, 12, 0, tzinfo=UTC)
GOOD = [
    "Patient",
    "COPD",
    "Saturation",
    "Observed",
    "Birth Date",
    "Age",
    "Threshold",
    "Device Status",
    "Greeting",
    "Doubled",
]


@pytest.fixture
def engine() -> CqlEngine:
    return CqlEngine(LibraryRepository([MAIN, COMMON]), terminology=LocalTerminology([VALUESET]))


def evaluate(engine: CqlEngine, **kwargs: Any) -> dict[str, Any]:
    return engine.evaluate(
        "Rule",
        data=BundleDataProvider(BUNDLE, patient_id="p1"),
        parameters={"device_request": {"resourceType": "DeviceRequest", "status": "active"}},
        now=NOW,
        defines=GOOD,
        **kwargs,
    )


def test_fhir_navigation_retrieve_and_helpers(engine: CqlEngine) -> None:
    result = evaluate(engine)
    assert result["Patient"]["id"] == "p1"
    assert [c["id"] for c in result["COPD"]] == ["c1"]
    assert result["Saturation"].value == Decimal("86.5")
    assert result["Saturation"].unit == "%"
    assert result["Observed"].to_iso() == "2020-04-20T10:00:00+00:00"
    assert result["Age"] == 69
    assert result["Threshold"] == 88
    assert result["Device Status"] == "active"
    assert result["Greeting"] == "hi"
    assert result["Doubled"] == 42


def test_encoding_is_json(engine: CqlEngine) -> None:
    encoded = encode_result(evaluate(engine))
    text = json.dumps(encoded, default=float)
    again = json.loads(text)
    assert again["Saturation"] == {"value": 86.5, "unit": "%"}
    assert again["Birth Date"] == "1950-06-01"
    assert again["COPD"][0]["resourceType"] == "Condition"


def test_error_names_library_define_and_locator(engine: CqlEngine) -> None:
    with pytest.raises(CqlEvaluationError) as caught:
        engine.evaluate("Rule", data=BundleDataProvider(BUNDLE), now=NOW, defines=["Broken"])
    assert caught.value.details["library"] == "Rule"
    assert caught.value.details["define"] == "Broken"
    assert caught.value.details["locator"] == "9:3-9:30"


def test_unknown_value_set_is_an_error() -> None:
    engine = CqlEngine(LibraryRepository([MAIN, COMMON]))
    with pytest.raises(CqlEvaluationError, match="value set"):
        engine.evaluate("Rule", data=BundleDataProvider(BUNDLE), now=NOW, defines=["COPD"])


def test_unknown_library_is_a_load_error(engine: CqlEngine) -> None:
    with pytest.raises(ElmLoadError):
        engine.evaluate("Nope")


def test_compiled_library_is_cached(engine: CqlEngine) -> None:
    assert engine.library("Rule") is engine.library("Rule")
    first = evaluate(engine)
    second = evaluate(engine)
    assert first["COPD"] == second["COPD"]
