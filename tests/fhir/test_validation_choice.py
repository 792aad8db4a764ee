"""Regression: a choice element whose snapshot unrolls only ``id``/``extension``.

DTR 2.0.1 ``dtr-std-questionnaire`` slices ``Questionnaire.item.answerOption.value[x]
.extension``; its snapshot then lists ``value[x].id`` and ``value[x].extension`` and nothing
of the chosen type. ``valueCoding.code``/``system``/``display`` are still valid Coding
members (they were once reported as unknown elements); real defects inside the Coding are
still found, and an unknown member of the fully unrolled ``answerOption`` still is too.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.fhir.test_validation_examples import validator_for

STD = "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/dtr-std-questionnaire"
CODING = {"system": "http://example.org/answers", "code": "yes", "display": "Yes"}


def _questionnaire(option: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Questionnaire",
        "id": "q1",
        "url": "http://example.org/Questionnaire/q1",
        "version": "1",
        "name": "Q1",
        "title": "Q1",
        "status": "active",
        "subjectType": ["Patient"],
        "text": {
            "status": "generated",
            "div": '<div xmlns="http://www.w3.org/1999/xhtml">Q1</div>',
        },
        "item": [{"linkId": "1", "text": "Well?", "type": "choice", "answerOption": [option]}],
    }


def _errors(option: dict[str, Any]) -> list[str]:
    validator = validator_for("davinci_dtr_2.0.1.tgz", "davinci-crd-2.0.1.tgz")
    issues = validator.validate(_questionnaire(option), STD)
    return [f"{i.path}: {i.message}" for i in issues if i.severity == "error"]


OPTION = "Questionnaire.item[0].answerOption[0]"


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ({"valueCoding": copy.deepcopy(CODING)}, []),
        ({"valueCoding": {"code": "yes"}}, []),
        ({"valueString": "yes"}, []),
        ({"valueCoding": {**CODING, "bogus": 1}}, [f"{OPTION}.valueCoding.bogus: unknown element"]),
        (
            {"valueCoding": {**CODING, "code": 5}},
            [f"{OPTION}.valueCoding.code: Input should be a valid string"],
        ),
        ({"valueCoding": CODING, "colour": "red"}, [f"{OPTION}.colour: unknown element"]),
    ],
)
def test_choice_of_several_types_keeps_the_chosen_types_members(
    option: dict[str, Any], expected: list[str]
) -> None:
    errors = _errors(option)
    assert not [e for e in errors if "valueCoding.code: unknown" in e], errors
    for fragment in expected:
        assert any(e.startswith(fragment) for e in errors), errors
    if not expected:
        assert errors == []
