"""``$next-question``: the adaptive knee arthroplasty form walked to completion, kit fixtures."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from davinci_pa.dtr.errors import DtrRequestError
from davinci_pa.dtr.vocabulary import walk_items
from tests._shared import load_shared_json
from tests.dtr.helpers import (
    answer,
    bundles,
    package_request,
    profile_errors,
    service,
    service_order,
)

OA = {"system": "http://davinci-pa.org/fhir/CodeSystem/dtr-answers", "code": "osteoarthritis"}
REVISION = {"system": "http://davinci-pa.org/fhir/CodeSystem/dtr-answers", "code": "revision"}


def _draft() -> dict[str, Any]:
    output = service().questionnaire_package(package_request(service_order("27447")))
    return copy.deepcopy(bundles(output)[0]["entry"][-1]["resource"])


def _answer_all(response: dict[str, Any], values: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Answer every question of the contained form (given values, else a typed default)."""
    defaults: dict[str, dict[str, Any]] = {
        "boolean": {"valueBoolean": True},
        "string": {"valueString": "x"},
        "text": {"valueString": "x"},
        "date": {"valueDate": "2025-01-02"},
        "decimal": {"valueDecimal": 30},
    }
    form = response["contained"][0]
    existing = {i["linkId"]: i for i, _ in walk_items(response.get("item"))}
    for page in form["item"]:
        if page["type"] != "group":
            continue
        group = existing.get(page["linkId"])
        if group is None:
            group = {"linkId": page["linkId"], "item": []}
            response.setdefault("item", []).append(group)
        answered = {i["linkId"] for i in group["item"]}
        for question in page["item"]:
            if question["linkId"] in answered:
                continue
            value = values.get(question["linkId"]) or defaults.get(question["type"])
            if value is None:
                value = {"valueCoding": question["answerOption"][0]["valueCoding"]}
            group["item"].append({"linkId": question["linkId"], "answer": [answer(value)]})
    return response


def _pages(response: dict[str, Any]) -> list[str]:
    return [i["linkId"] for i in response["contained"][0]["item"]]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {"indication.reason": {"valueCoding": OA}, "indication.bmi": {"valueDecimal": 42}},
            ["conservative", "risk", "signature"],
        ),
        (
            {
                "indication.reason": {"valueCoding": REVISION},
                "indication.bmi": {"valueDecimal": 31},
                "indication.hba1c": {"valueDecimal": 6.1},
            },
            ["revision", "signature"],
        ),
        (
            {"indication.reason": {"valueCoding": OA}, "indication.hba1c": {"valueDecimal": 8.4}},
            ["conservative", "risk", "signature"],
        ),
    ],
)
def test_adaptive_walk_adds_the_pages_the_answers_call_for(
    values: dict[str, Any], expected: list[str]
) -> None:
    response = _draft()
    assert _pages(response) == ["patient", "practitioner", "indication"]
    added = []
    for _ in range(len(expected) + 1):
        response = service().next_question(_answer_all(response, values))
        if response["status"] == "completed":
            break
        added.append(_pages(response)[-1])
    assert added == expected
    assert response["status"] == "completed"
    assert _pages(response)[-1] == "dtr-complete"


def test_responses_keep_cql_prepopulation_and_validate_as_sdc_shapes() -> None:
    values: dict[str, dict[str, Any]] = {
        "indication.reason": {"valueCoding": OA},
        "indication.bmi": {"valueDecimal": 25},
    }
    response = service().next_question(_answer_all(_draft(), values))
    form = response["contained"][0]
    assert any(e["url"].endswith("cqf-library") for e in form["extension"])
    assert form["meta"]["profile"] == [
        "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/dtr-questionnaire-adapt"
    ]
    assert profile_errors(form, form["meta"]["profile"][0]) == []


def test_parameters_form_and_bare_form_give_the_same_answer() -> None:
    values: dict[str, dict[str, Any]] = {
        "indication.reason": {"valueCoding": OA},
        "indication.bmi": {"valueDecimal": 25},
    }
    response = _answer_all(_draft(), values)
    wrapped = {
        "resourceType": "Parameters",
        "parameter": [{"name": "questionnaire-response", "resource": response}],
    }
    assert service().next_question(wrapped) == service().next_question(response)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("next_question_initial_input_params_nonconformant.json", "empty"),
        ("next_question_input_params_missing_answer.json", "item 3.1"),
        (
            "next_question_input_params_no_origin_extension.json",
            "information-origin extension is missing",
        ),
        ("next_question_initial_input_params_conformant.json", "not derived from an adaptive form"),
    ],
)
def test_kit_inputs_that_cannot_continue_are_400(name: str, fragment: str) -> None:
    with pytest.raises(DtrRequestError) as caught:
        service().next_question(load_shared_json("fixtures", "dtr", "golden", name))
    assert caught.value.http_status == 400
    assert any(fragment in line for line in caught.value.diagnostics()), caught.value.diagnostics()


def test_required_unanswered_and_wrong_types_are_rejected() -> None:
    response = _draft()
    with pytest.raises(DtrRequestError, match="cannot be continued"):
        service().next_question(response)  # indication.reason etc. unanswered
    values = {"indication.reason": {"valueString": "osteoarthritis"}}
    with pytest.raises(DtrRequestError) as caught:
        service().next_question(_answer_all(response, values))
    assert any("cannot take valueString" in line for line in caught.value.diagnostics())
