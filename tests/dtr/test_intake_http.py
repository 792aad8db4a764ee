"""QuestionnaireResponse intake over HTTP: the kit's broken responses are refused, by name.

The kit's QuestionnaireResponses answer the kit's own forms (RespiratoryAssistDevices and
DinnerOrderStatic, from its package fixtures); this payer serves those forms beside its own.
The responses cite the form by the kit mock server's read URL, so each replay points
``questionnaire`` at the form's canonical; a respiratory response also carries the id of the
draft the payer handed out (the kit's prepopulated response), so its origins are checked
against what was prepopulated (DTR 2.2 §QuestionnaireResponse, ``spec-137``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from davinci_pa.dtr.content import DtrContent, shipped_questionnaires
from davinci_pa.dtr.service import DtrService
from davinci_pa.store.dtr_records import DtrRecords, ResponseRecord
from tests._shared import REPO, load_shared_json
from tests.dtr.conftest import DtrApp, make_app

GOLDEN = ("fixtures", "dtr", "golden")
RESPIRATORY = "urn:inferno:dtr-test-kit:respiratory-assist-devices"
DINNER = "urn:inferno:dtr-test-kit:dinner-order-static"
DRAFT_ID = "kit-respiratory-draft"


def _golden(name: str) -> Any:
    return load_shared_json(*GOLDEN, name)


@pytest.fixture(scope="module")
def kit_app(tmp_path_factory: pytest.TempPathFactory) -> DtrApp:
    """The app, its DTR service also serving the kit's two forms, the kit's draft on file."""
    folder: Path = tmp_path_factory.mktemp("dtr-intake")
    app = make_app(folder)
    content = DtrContent.load(shipped_questionnaires(), valueset_dirs=[REPO / "cql_rules"])
    for name in ("questionnaire_package.json", "questionnaire_dinner_order_static.json"):
        content.add_questionnaire(_golden(name)["entry"][0]["resource"])
    records = DtrRecords(app.payer.database)
    app.payer.dtr = DtrService(content, records=records, assertions=app.payer.crd_records)
    draft = _golden("pre_populated_questionnaire_response.json")
    records.save(
        [ResponseRecord(DRAFT_ID, RESPIRATORY, "in-progress", "draft", {**draft, "id": DRAFT_ID})]
    )
    return app


def _replay(name: str, form: str, response_id: str | None = None) -> dict[str, Any]:
    response: dict[str, Any] = copy.deepcopy(_golden(name))
    response["questionnaire"] = form
    if response_id:
        response["id"] = response_id
    return response


@pytest.mark.parametrize(
    ("name", "form", "expected"),
    [
        (
            "dinner_questionnaire_response_missing_answers.json",
            DINNER,
            ["item PBD.1 answer[0]: the information-origin extension is missing"],
        ),
        (
            "questionnaire_response_incorrect_origin.json",
            RESPIRATORY,
            ["item PBD.1: unchanged prepopulated answer is marked 'manual'"],
        ),
        (
            "questionnaire_response_cql_answer_missing.json",
            RESPIRATORY,
            ["item PBD.2: the prepopulated answer was removed from a required item"],
        ),
        (
            "questionnaire_response_missing_data_requirement.json",
            RESPIRATORY,
            [
                "item PBD.1 answer[0]: the information-origin extension is missing",
                "item 3.1: changed answer must be marked 'override'",
            ],
        ),
        (
            # The kit calls it conformant, but the 2.0.1 profile requires information-origin
            # on every answer (1..1) and Coding.code may not start with a space.
            "questionnaire_response_conformant.json",
            RESPIRATORY,
            [
                "item 3.2 answer[1]: the information-origin extension is missing",
                "QuestionnaireResponse.item[2].item[1].answer[1].valueCoding.code: String should",
            ],
        ),
    ],
)
def test_kit_broken_responses_are_refused_naming_each_defect(
    kit_app: DtrApp, name: str, form: str, expected: list[str]
) -> None:
    response_id = DRAFT_ID if form == RESPIRATORY else None
    reply = kit_app.post("/fhir/QuestionnaireResponse", _replay(name, form, response_id))
    assert reply.status_code == 400
    outcome = reply.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    diagnostics = [issue["diagnostics"] for issue in outcome["issue"]]
    assert diagnostics[0] == "the QuestionnaireResponse is not valid"
    for fragment in expected:
        assert any(line.startswith(fragment) for line in diagnostics), diagnostics
    assert kit_app.payer.dtr.records is not None
    assert kit_app.payer.dtr.records.latest(DRAFT_ID, kind="received") is None


def test_kit_conformant_response_is_accepted_and_stored(kit_app: DtrApp) -> None:
    body = _replay("dinner_questionnaire_response_conformant.json", DINNER, "dinner-1")
    reply = kit_app.post("/fhir/QuestionnaireResponse", body)
    assert reply.status_code == 201, reply.get_json()
    assert reply.get_json()["id"] == "dinner-1"
    records = kit_app.payer.dtr.records
    assert records is not None
    stored = records.latest("dinner-1", kind="received")
    assert stored is not None
    assert (stored.questionnaire, stored.status, stored.client) == (DINNER, "completed", "dtr-app")
    assert dict(stored.resource) == body


def _without_subject() -> dict[str, Any]:
    return {**_replay("dinner_questionnaire_response_conformant.json", DINNER), "subject": None}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (lambda: _golden("questionnaire_response_conformant.json"), "is not a form of this payer"),
        (lambda: {"resourceType": "Patient", "id": "p"}, "expects a QuestionnaireResponse"),
        (_without_subject, "subject is required"),
    ],
)
def test_unknown_forms_and_other_resources_are_refused(
    kit_app: DtrApp, body: Callable[[], Any], fragment: str
) -> None:
    reply = kit_app.post("/fhir/QuestionnaireResponse", body())
    assert reply.status_code == 400
    assert any(fragment in i["diagnostics"] for i in reply.get_json()["issue"])


@pytest.mark.parametrize(
    ("route", "name", "fragment"),
    [
        (
            "Questionnaire/$questionnaire-package",
            "questionnaire_package_input_params_non_conformant.json",
            "not 'Bundle'",
        ),
        (
            "Questionnaire/$questionnaire-package",
            "questionnaire_package_input_params_ri.json",
            "beneficiary",
        ),
        (
            "Questionnaire/$next-question",
            "next_question_initial_input_params_nonconformant.json",
            "empty",
        ),
        (
            "Questionnaire/$next-question",
            "next_question_input_params_no_origin_extension.json",
            "information-origin extension is missing",
        ),
        (
            "Questionnaire/$next-question",
            "next_question_input_params_missing_answer.json",
            "item 3.1",
        ),
    ],
)
def test_kit_non_conformant_parameters_are_400_over_http(
    kit_app: DtrApp, route: str, name: str, fragment: str
) -> None:
    reply = kit_app.post(f"/fhir/{route}", _golden(name))
    assert reply.status_code == 400
    outcome = reply.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert any(fragment in i["diagnostics"] for i in outcome["issue"]), outcome
