"""Fuzz every operation of ``/openapi.json`` with schemathesis: no input gets a 5xx.

Bounded (a few examples per operation) so ``make test`` stays fast; the app runs on a
migrated SQLite file with the demo trust files, as ``make serve`` does (issue 15, item 8),
once without credentials and once signed in as every kind of caller.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from davinci_pa.auth.client import sign_client_assertion, token_form
from davinci_pa.auth.clients import DEFAULT_CLIENT_SCOPE
from davinci_pa.review.accounts import Accounts
from davinci_pa.review.roles import PHYSICIAN
from davinci_pa.server import create_app
from davinci_pa.server.openapi import document
from davinci_pa.server.review.session import COOKIE, PATH
from davinci_pa.store.review_records import Reviewers, Sessions
from tests.ops.conftest import BASE, settings_for
from tests.review.conftest import PASSWORD
from tests.security.conftest import CLINIC_A, claim_bundle
from tests.support.demo_keys import KEYS, demo_ehr_token


@pytest.fixture
def flask_app(tmp_path: Path) -> Iterator[Flask]:
    app = create_app(settings_for(tmp_path))
    yield app
    app.extensions["davinci_pa.payer"].database.dispose()


def test_no_server_error(flask_app: Flask) -> None:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", flask_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    described = sum(len(item) for item in document()["paths"].values())
    assert len(operations) == described - 1  # schemathesis leaves out GET /openapi.json itself
    for operation in operations:
        _fuzz(operation)


def _fuzz(operation: Any) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=[not_a_server_error])

    run()


@dataclass
class Credentials:
    """What a signed-in caller of each kind sends, and a real pended authorization's id."""

    bearer: str
    cookie: str
    csrf: str
    pa_id: str | None


@pytest.fixture
def signed_in(tmp_path: Path) -> Iterator[tuple[Flask, Credentials]]:
    """The app with a clinic, a utilization-management client and a physician reviewer."""
    key = json.loads((KEYS / "demo-client.private.json").read_text())
    public = json.loads((KEYS / "demo-clients.json").read_text())["demo-client"]["jwks"]
    clients = {
        "clinic": {"jwks": public, "organizations": [CLINIC_A]},
        "um-system": {"jwks": public, "roles": ["reviewer", "provider", "payer", "auditor"]},
    }
    (tmp_path / "clients.json").write_text(json.dumps(clients))
    clients_file = str(tmp_path / "clients.json")
    app = create_app(
        settings_for(tmp_path, clients=clients_file, pas_default_payer="medicare-demo")
    )
    payer = app.extensions["davinci_pa.payer"]
    Accounts(Reviewers(payer.database), Sessions(payer.database)).add(
        "fuzz-md", PHYSICIAN, PASSWORD
    )
    client = app.test_client()
    reviewer = _token(client, key, "um-system")
    pa_id = _pended(client, _token(client, key, "clinic"), reviewer)
    cookie, csrf = _log_in(client)
    yield app, Credentials(reviewer, cookie, csrf, pa_id)
    payer.database.dispose()


def test_no_server_error_when_signed_in(signed_in: tuple[Flask, Credentials]) -> None:
    """The same fuzzing with valid credentials, so the handlers behind the checks run too.

    Every CDS Hooks case carries a fresh JWT for its own URL, every other case the
    reviewer client's bearer token and the workbench session; forms carry the session's
    CSRF token, and an authorization id is, in every other case, a real pended one.
    """
    flask_app, credentials = signed_in
    schema = schemathesis.openapi.from_wsgi("/openapi.json", flask_app)
    refused: dict[str, set[int]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        statuses = _fuzz_signed_in(operation, credentials)
        if operation.definition.raw.get("security") and statuses <= {401, 403}:
            refused[operation.label] = statuses
    assert not refused, f"never let in: {refused}"


def _fuzz_signed_in(operation: Any, credentials: Credentials) -> set[int]:
    """Run the cases; the statuses they got."""
    statuses: set[int] = set()

    @given(case=operation.as_strategy(), real_id=st.booleans())
    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case: schemathesis.Case, real_id: bool) -> None:
        if real_id and credentials.pa_id and "pa_id" in (case.path_parameters or {}):
            case.path_parameters["pa_id"] = credentials.pa_id
        if isinstance(case.body, dict) and "csrf_token" in case.body:
            case.body["csrf_token"] = credentials.csrf
        bearer = credentials.bearer
        if case.path.startswith("/cds-services/"):
            bearer = demo_ehr_token(BASE + case.formatted_path)
        headers = {"Authorization": f"Bearer {bearer}", "Cookie": credentials.cookie}
        statuses.add(
            case.call_and_validate(headers=headers, checks=[not_a_server_error]).status_code
        )

    run()
    return statuses


def _token(client: FlaskClient, key: dict[str, Any], client_id: str) -> str:
    token_url = f"{BASE}/auth/token"
    assertion = sign_client_assertion(key, client_id=client_id, token_url=token_url)
    answer = client.post("/auth/token", data=token_form(assertion, DEFAULT_CLIENT_SCOPE))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return str(answer.get_json()["access_token"])


def _pended(client: FlaskClient, clinic: str, reviewer: str) -> str | None:
    """Submit the kit's pended request, when ../shared is there; the authorization's id."""
    try:
        bundle = claim_bundle("fuzz-signed-in", urgent=False)
    except pytest.skip.Exception:
        return None
    answer = client.post(
        "/fhir/Claim/$submit", json=bundle, headers={"Authorization": f"Bearer {clinic}"}
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    queue = client.get("/review/api/queue", headers={"Authorization": f"Bearer {reviewer}"})
    assert queue.status_code == 200, queue.get_data(as_text=True)
    (entry,) = queue.get_json()
    return str(entry["pa_id"])


def _log_in(client: FlaskClient) -> tuple[str, str]:
    page = client.get("/review/login").get_data(as_text=True)
    form = {"username": "fuzz-md", "password": PASSWORD, "csrf_token": _csrf(page)}
    answer = client.post("/review/login", data=form, follow_redirects=True)
    cookie = client.get_cookie(COOKIE, path=PATH)
    assert cookie is not None, answer.get_data(as_text=True)
    return f"{COOKIE}={cookie.value}", _csrf(answer.get_data(as_text=True))


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)
