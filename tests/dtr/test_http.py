"""The ``/fhir`` DTR routes over Flask's test client: scopes, shapes and never a 5xx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from davinci_pa.server import ServerSettings, create_app
from tests._shared import load_shared_json
from tests.support.database import migrated_sqlite

KIT = ("fixtures", "dtr", "inferno", "initial_static_questionnaire_request.json")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    folder: Path = tmp_path_factory.mktemp("dtr")
    settings = ServerSettings(
        database_url=migrated_sqlite(folder / "dtr.sqlite3"),
        insecure_disable_jwt=True,
        pas_delivery_seconds="0",
    )
    return create_app(settings).test_client()


def test_package_route_answers_the_201_shape(client: FlaskClient) -> None:
    reply = client.post(
        "/fhir/Questionnaire/$questionnaire-package?dtrVersion=2.0.1", json=load_shared_json(*KIT)
    )
    assert reply.status_code == 200
    assert reply.mimetype == "application/fhir+json"
    assert reply.get_json()["parameter"][0]["name"] == "PackageBundle"


def test_reads_by_id_and_canonical(client: FlaskClient) -> None:
    assert client.get("/fhir/Questionnaire/cpap").get_json()["url"].endswith("/cpap")
    found = client.get(
        "/fhir/Library?url=http://davinci-pa.org/fhir/Library/FHIRHelpers&version=4.0.1"
    )
    assert found.get_json()["total"] == 1
    missing = client.get("/fhir/ValueSet/none")
    assert missing.status_code == 404
    assert missing.get_json()["resourceType"] == "OperationOutcome"


def test_log_errors_is_recorded(client: FlaskClient) -> None:
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {
                "name": "questionnaire",
                "valueCanonical": "http://davinci-pa.org/fhir/Questionnaire/cpap|1.0.0",
            },
            {
                "name": "operationOutcome",
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {"severity": "error", "code": "processing", "diagnostics": "CQL failed"}
                    ],
                },
            },
        ],
    }
    assert client.post("/fhir/$log-questionnaire-errors", json=body).status_code == 200


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
NAMES = st.sampled_from(
    ["coverage", "order", "questionnaire", "context", "changedsince", "questionnaire-response", "x"]
)
PARAM = st.fixed_dictionaries(
    {"name": NAMES}, optional={"resource": JSON, "valueString": JSON, "valueCanonical": JSON}
)
BODIES = JSON | st.fixed_dictionaries(
    {
        "resourceType": st.sampled_from(["Parameters", "QuestionnaireResponse"]),
        "parameter": st.lists(PARAM, max_size=3),
        "item": JSON,
        "contained": JSON,
        "questionnaire": st.text(max_size=6),
    }
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=BODIES,
    route=st.sampled_from(
        [
            "Questionnaire/$questionnaire-package",
            "Questionnaire/$next-question",
            "Questionnaire/$populate",
            "$log-questionnaire-errors",
            "QuestionnaireResponse",
        ]
    ),
)
def test_arbitrary_bodies_never_give_a_5xx(client: FlaskClient, body: Any, route: str) -> None:
    reply = client.post(f"/fhir/{route}", json=body)
    assert reply.status_code < 500, reply.get_json()
    if reply.status_code >= 400:
        assert reply.get_json()["resourceType"] == "OperationOutcome"
