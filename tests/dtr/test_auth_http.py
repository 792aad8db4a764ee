"""Every DTR route behind SMART Backend Services: 401 without a token, 403 without the scope.

Issue 4 §Authorization: FHIR operations under ``/fhir`` need a bearer token from
``/auth/token``; no token or a wrong scope is refused with an OperationOutcome. A token with
the DTR scopes (obtained with a signed client assertion) is served.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from werkzeug.test import TestResponse

from tests._shared import load_shared_json
from tests.dtr.conftest import DtrApp
from tests.dtr.helpers import (
    bundles,
    complete,
    device_order,
    package_request,
    service,
    service_order,
)

POWER = "http://davinci-pa.org/fhir/Questionnaire/power-mobility|1.0.0"
CPAP = "http://davinci-pa.org/fhir/Questionnaire/cpap|1.0.0"


def _draft(order: dict[str, Any]) -> dict[str, Any]:
    output = service().questionnaire_package(package_request(order))
    return copy.deepcopy(bundles(output)[0]["entry"][-1]["resource"])


def _package() -> Any:
    return load_shared_json(
        "fixtures", "dtr", "inferno", "initial_static_questionnaire_request.json"
    )


def _next_question() -> Any:
    draft = _draft(service_order("27447"))
    return {**complete(draft, draft["contained"][0]), "status": "in-progress"}


def _populate() -> Any:
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "1950-05-01"}
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "canonical", "valueCanonical": CPAP},
            {"name": "subject", "valueReference": {"reference": "Patient/p1"}},
            {
                "name": "data",
                "resource": {
                    "resourceType": "Bundle",
                    "type": "collection",
                    "entry": [{"resource": patient}],
                },
            },
        ],
    }


def _log_errors() -> Any:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "processing"}],
    }
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "questionnaire", "valueCanonical": CPAP},
            {"name": "operationOutcome", "resource": outcome},
        ],
    }


def _response() -> Any:
    draft = _draft(device_order("K0823"))
    form = service().content.definition(POWER)
    assert form is not None
    return complete(draft, form)


POSTS: list[tuple[str, Callable[[], Any], str, int]] = [
    ("/fhir/Questionnaire/$questionnaire-package", _package, "system/Questionnaire.rs", 200),
    ("/fhir/Questionnaire/$next-question", _next_question, "system/Questionnaire.rs", 200),
    ("/fhir/Questionnaire/$populate", _populate, "system/Questionnaire.rs", 200),
    ("/fhir/$log-questionnaire-errors", _log_errors, "system/Questionnaire.cud", 200),
    ("/fhir/Questionnaire/$log-questionnaire-errors", _log_errors, "system/Questionnaire.c", 200),
    ("/fhir/QuestionnaireResponse", _response, "system/QuestionnaireResponse.c", 201),
]
GETS: list[tuple[str, str]] = [
    ("/fhir/Questionnaire/cpap", "system/Questionnaire.r"),
    (
        "/fhir/Questionnaire?url=http://davinci-pa.org/fhir/Questionnaire/cpap",
        "system/Questionnaire.s",
    ),
    ("/fhir/Library/FHIRHelpers", "system/Library.read"),
    ("/fhir/Library?url=http://davinci-pa.org/fhir/Library/FHIRHelpers", "system/Library.rs"),
    ("/fhir/ValueSet/power-mobility-devices", "system/ValueSet.read"),
    (
        "/fhir/ValueSet?url=http://davinci-pa.org/fhir/ValueSet/power-mobility-devices",
        "system/*.rs",
    ),
]
OTHER_SCOPE = "system/Claim.read system/Claim.write"


def _refused(reply: TestResponse, status: int) -> None:
    assert reply.status_code == status, reply.get_json()
    body = reply.get_json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["severity"] == "error"


@pytest.mark.parametrize(("path", "body", "scope", "status"), POSTS)
def test_post_routes_need_a_token_with_their_scope(
    dtr_app: DtrApp, path: str, body: Callable[[], Any], scope: str, status: int
) -> None:
    payload = body()
    _refused(dtr_app.client.post(path, json=payload), 401)
    bogus = {"Authorization": "Bearer not-a-token"}
    _refused(dtr_app.client.post(path, json=payload, headers=bogus), 401)
    _refused(dtr_app.post(path, payload, scope=OTHER_SCOPE), 403)
    reply = dtr_app.post(path, payload, scope=scope)
    assert reply.status_code == status, reply.get_json()
    assert reply.mimetype == "application/fhir+json"


@pytest.mark.parametrize(("path", "scope"), GETS)
def test_reads_need_a_token_with_their_scope(dtr_app: DtrApp, path: str, scope: str) -> None:
    _refused(dtr_app.client.get(path), 401)
    _refused(dtr_app.get(path, scope=OTHER_SCOPE), 403)
    _refused(dtr_app.get(path, scope="system/QuestionnaireResponse.rs"), 403)
    reply = dtr_app.get(path, scope=scope)
    assert reply.status_code == 200, reply.get_json()


@pytest.mark.parametrize(
    ("path", "scope"),
    [
        ("/fhir/$log-questionnaire-errors", "system/Questionnaire.rs"),
        ("/fhir/QuestionnaireResponse", "system/QuestionnaireResponse.rs"),
        ("/fhir/QuestionnaireResponse", "system/Questionnaire.cud"),
    ],
)
def test_writes_need_write_access(dtr_app: DtrApp, path: str, scope: str) -> None:
    _refused(dtr_app.post(path, {"resourceType": "Parameters"}, scope=scope), 403)
