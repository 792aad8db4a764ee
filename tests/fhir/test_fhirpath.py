"""FHIRPath wrapper: strict parsing, caching, resolve() and memberOf() hooks, R4 choice types."""

from __future__ import annotations

from typing import Any

import pytest

from davinci_pa.fhir.fhirpath import FhirPathError, compile_expression, evaluate
from tests._shared import load_shared_json

MED_REQUEST = {
    "resourceType": "MedicationRequest",
    "id": "m1",
    "medicationReference": {"reference": "Medication/med1"},
    "requester": {"reference": "https://ehr.example/fhir/PractitionerRole/pr1"},
    "reasonCode": [{"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]}],
}
TARGETS = {
    "Medication/med1": {"resourceType": "Medication", "id": "med1"},
    "https://ehr.example/fhir/PractitionerRole/pr1": {
        "resourceType": "PractitionerRole",
        "id": "pr1",
    },
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("MedicationRequest.medication.resolve().id", ["med1"]),
        ("medication.resolve().ofType(Medication).id", ["med1"]),
        ("requester.resolve().ofType(PractitionerRole).id", ["pr1"]),
        ("requester.resolve().ofType(Practitioner).id", []),
        ("(medication | requester).resolve().id", ["med1", "pr1"]),
        ("reasonCode.memberOf('http://vs/diabetes')", [True]),
        ("reasonCode.memberOf('http://vs/other')", [False]),
        ("reasonCode.memberOf('http://vs/unknown')", []),
        ("%extra.id", ["x"]),
        ("id.length() + 1", [3]),
    ],
)
def test_evaluate(expression: str, expected: list[Any]) -> None:
    def member_of(code: Any, url: str) -> bool | None:
        return {"http://vs/diabetes": True, "http://vs/other": False}.get(url)

    result = evaluate(
        MED_REQUEST,
        expression,
        variables={"extra": {"resourceType": "Basic", "id": "x"}},
        resolver=TARGETS.get,
        member_of=member_of,
    )
    assert result == expected


def test_without_hooks_resolve_and_member_of_yield_nothing() -> None:
    assert evaluate(MED_REQUEST, "medication.resolve()") == []
    assert evaluate(MED_REQUEST, "reasonCode.memberOf('http://vs')") == []


@pytest.mark.parametrize("expression", ["((", "a.b(", "a..b", "1 +", "a.b c", "where(", ""])
def test_invalid_expressions_are_refused_at_compile_time(expression: str) -> None:
    with pytest.raises(FhirPathError, match="invalid FHIRPath"):
        compile_expression(expression)


def test_undefined_variable_is_a_fhirpath_error() -> None:
    with pytest.raises(FhirPathError, match="undefined environment variable"):
        evaluate({}, "%missing.id")


def test_compiled_expressions_are_cached() -> None:
    assert compile_expression("a.b.c") is compile_expression("a.b.c")


def test_crd_standard_prefetch_tokens_all_compile() -> None:
    services = load_shared_json("specs", "crd-2.2", "CRDServices.json")["services"]
    tokens = [
        template.split("{{", 1)[1].split("}}", 1)[0]
        for service in services
        for template in service["prefetch"].values()
    ]
    assert len(tokens) > 30
    for token in tokens:
        compile_expression(token)
