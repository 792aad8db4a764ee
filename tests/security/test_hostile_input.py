"""Findings 6 and 7: hostile bodies are 4xx on every route; a resubmission stays one record.

The route sweep runs the app with authentication disabled (so every body reaches the code
that reads it) and walks the URL map, so a route added later is swept too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from davinci_pa.server import create_app
from davinci_pa.server.json_input import MAX_DEPTH
from davinci_pa.server.settings import ServerSettings
from tests.security.conftest import Tenants, claim_bundle
from tests.support.database import migrated_sqlite

BODY_LIMIT = 64 * 1024
PARAMETERS = {"resourceType": "Parameters"}


@pytest.fixture(scope="module")
def open_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    folder: Path = tmp_path_factory.mktemp("hostile")
    app = create_app(
        ServerSettings(
            database_url=migrated_sqlite(folder / "hostile.sqlite3"),
            insecure_disable_jwt=True,
            pas_delivery_seconds="0",
            max_body_bytes=BODY_LIMIT,
        )
    )
    yield app
    app.extensions["davinci_pa.payer"].database.dispose()


def _body_routes(app: Flask) -> list[str]:
    """Every route taking a JSON body, its path arguments filled in.

    The token endpoint and the workbench's pages take forms, not JSON.
    """
    paths = []
    for rule in app.url_map.iter_rules():
        form = rule.rule.startswith("/auth/") or rule.endpoint.startswith("review.")
        if "POST" in (rule.methods or ()) and not form:
            path = rule.rule.replace("<service_id>", "order-sign-crd")
            paths.append(path.replace("<pa_id>", "no-such-pa"))
    return paths


def _deep(levels: int) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("1,000 levels of arrays", b"[" * 1000 + b"]" * 1000),
        ("100,000 levels of arrays", b"[" * 100_000 + b"]" * 100_000),
        ("objects just past the limit", _deep(MAX_DEPTH + 1)),
        ("a lone surrogate", b'{"resourceType": "Bundle", "id": "\\udc00"}'),
        ("not UTF-8", b'{"resourceType": "\xff"}'),
        ("truncated", b'{"resourceType": "Bundle", "entry": ['),
    ],
)
def test_hostile_json_is_a_4xx_on_every_body_route(open_app: Flask, name: str, body: bytes) -> None:
    """Finding 6: deep nesting was a RecursionError 500 on every JSON route but the token's."""
    client = open_app.test_client()
    routes = _body_routes(open_app)
    assert len(routes) >= 10
    for path in routes:
        answer = client.post(path, data=body, content_type="application/json")
        assert 400 <= answer.status_code < 500, (path, answer.status_code)
        assert isinstance(answer.get_json(silent=True), dict), path


def test_bodies_over_the_size_limit_are_413(open_app: Flask) -> None:
    client = open_app.test_client()
    big = json.dumps({"resourceType": "Bundle", "id": "x" * BODY_LIMIT}).encode()
    for path in _body_routes(open_app):
        assert client.post(path, data=big, content_type="application/json").status_code == 413


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/fhir/Questionnaire/$populate", {**PARAMETERS, "parameter": 1}),
        ("/fhir/Questionnaire/$populate", {**PARAMETERS, "parameter": [1]}),
        ("/fhir/Questionnaire/$next-question", {**PARAMETERS, "parameter": {}}),
        ("/fhir/Questionnaire/$questionnaire-package", {**PARAMETERS, "parameter": "x"}),
        ("/fhir/QuestionnaireResponse", {"resourceType": "QuestionnaireResponse", "item": 3}),
        ("/fhir/Claim/$submit", {"resourceType": "Bundle", "entry": {"resource": {}}}),
        ("/fhir/Claim/$inquire", {"resourceType": "Bundle", "entry": [1, "x"]}),
        ("/fhir/Subscription", {"resourceType": "Subscription", "channel": []}),
        ("/admin/pas/no-such-pa/decision", {"action": {}}),
        ("/cds-services/order-sign-crd", {"hook": "order-sign", "context": 1}),
        ("/cds-services/order-sign-crd/feedback", {"feedback": 1}),
    ],
)
def test_wrongly_typed_fields_are_4xx(open_app: Flask, path: str, body: Any) -> None:
    """Finding 6: ``"parameter": 1`` on ``$populate`` and ``{"action": {}}`` were 500s."""
    answer = open_app.test_client().post(path, json=body)
    assert 400 <= answer.status_code < 500, answer.get_data(as_text=True)
    assert isinstance(answer.get_json(), dict)


def test_resubmitting_with_only_the_timestamp_changed_is_one_authorization(
    tenants: Tenants,
) -> None:
    """Finding 7: the same Claim from the same submitter is the same request (docs/pas.md)."""
    first = claim_bundle("resubmitted")
    second = {**first, "timestamp": "2030-01-01T00:00:00Z", "id": "another-bundle-id"}
    answers = [tenants.post("clinic-a", "/fhir/Claim/$submit", b) for b in (first, second)]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json() == answers[1].json()
    matches = tenants.payer.pas.records.with_claim_identifier(
        "http://davinci-pas.org/PATIENT_EVENT_TRACE_NUMBER|resubmitted"
    )
    assert len(matches) == 1
