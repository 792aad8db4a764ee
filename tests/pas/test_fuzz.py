"""Hypothesis fuzzing of the PAS and token endpoints: whatever arrives, never a 5xx.

``Claim/$submit``, ``Claim/$inquire`` and ``Subscription`` get arbitrary JSON and real kit
Bundles with one node replaced, deleted or duplicated; ``/auth/token`` gets arbitrary form
bodies. Every answer is JSON: an OperationOutcome for a refused FHIR call (PAS spec-35), an
RFC 6749 error object from the token endpoint.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from davinci_pa.auth.client import sign_client_assertion, token_form
from davinci_pa.server import create_app
from davinci_pa.server.settings import ServerSettings
from tests._shared import load_shared_json, shared_path
from tests.auth.conftest import private_jwk, public_of
from tests.pas.conftest import SCOPE
from tests.support.database import migrated_sqlite

BASE = "http://pas.fuzz.test"
FUZZ = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
FHIR_PATHS = ["/fhir/Claim/$submit", "/fhir/Claim/$inquire", "/fhir/Subscription"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


class Client:
    """The Flask test client with a bearer token from our own token endpoint."""

    def __init__(self, flask: FlaskClient, key: dict[str, Any]) -> None:
        self.flask = flask
        assertion = sign_client_assertion(key, client_id="ehr", token_url=BASE + "/auth/token")
        answer = flask.post("/auth/token", data=token_form(assertion, SCOPE))
        assert answer.status_code == 200, answer.get_data(as_text=True)
        self.headers = {"Authorization": f"Bearer {answer.json['access_token']}"}  # type: ignore[index]

    def post(self, path: str, body: Any) -> Any:
        return self.flask.post(
            path,
            data=json.dumps(body),
            headers={**self.headers, "Content-Type": "application/fhir+json"},
        )


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    folder: Path = tmp_path_factory.mktemp("pas-fuzz")
    key = private_jwk("ES384", "fuzz-1")
    (folder / "clients.json").write_text(json.dumps({"ehr": {"jwks": {"keys": [public_of(key)]}}}))
    settings_ = ServerSettings(
        database_url=migrated_sqlite(folder / "fuzz.sqlite3"),
        clients=str(folder / "clients.json"),
        pas_default_payer="medicare-demo",
        pas_delivery_seconds="0",
        public_base_url=BASE,
        ig_packages=str(shared_path("igs", "davinci_pas_2.2.1.tgz")),
    )
    app = create_app(settings_)
    yield Client(app.test_client(), key)
    app.extensions["davinci_pa.payer"].database.dispose()


def _assert_answered(response: Any) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)
    body = response.get_json(force=True, silent=True)
    assert isinstance(body, dict), response.get_data(as_text=True)
    if response.status_code >= 400:
        assert body["resourceType"] == "OperationOutcome"
        assert body["issue"]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict | list):
        children = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in children:
            found.extend(_paths(child, (*prefix, key)))
    return found


def _mutate(bundle: dict[str, Any], path: tuple[Any, ...], op: str, value: Any) -> Any:
    body = copy.deepcopy(bundle)
    parent = body
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if op == "replace":
        parent[last] = value
    elif op == "delete":
        del parent[last]
    elif isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))
    else:
        parent[last] = [parent[last], parent[last]]
    return body


@functools.cache
def _mutated(name: str) -> st.SearchStrategy[Any]:
    bundle = load_shared_json("fixtures", "pas", "v2.2.1", name)
    bundle = bundle[0] if isinstance(bundle, list) else bundle
    return st.tuples(
        st.sampled_from(_paths(bundle)),
        st.sampled_from(["replace", "delete", "duplicate"]),
        json_values,
    ).map(lambda choice: _mutate(bundle, *choice))


@FUZZ
@given(body=json_values, path=st.sampled_from(FHIR_PATHS))
def test_arbitrary_json_gets_an_operation_outcome(client: Client, body: Any, path: str) -> None:
    _assert_answered(client.post(path, body))


@FUZZ
@given(data=st.data(), path=st.sampled_from(FHIR_PATHS[:2]))
def test_mutated_kit_bundles_never_fail_the_server(
    client: Client, data: st.DataObject, path: str
) -> None:
    body = data.draw(_mutated("pended_pa_submit_request_payload.json"))
    _assert_answered(client.post(path, body))


@FUZZ
@given(data=st.data())
def test_mutated_subscriptions_never_fail_the_server(client: Client, data: st.DataObject) -> None:
    body = data.draw(_mutated("subscription_resource.json"))
    _assert_answered(client.post("/fhir/Subscription", body))


form_values = st.text(max_size=40) | st.sampled_from(
    [
        "client_credentials",
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "ehr",
        "system/*.read",
        "eyJhbGciOiJFUzM4NCIsImtpZCI6ImZ1enotMSJ9.e30.AAAA",
    ]
)


@FUZZ
@given(
    form=st.dictionaries(
        st.sampled_from(
            ["grant_type", "client_assertion_type", "client_assertion", "scope", "client_id"]
        )
        | st.text(max_size=10),
        form_values,
        max_size=6,
    )
)
def test_arbitrary_token_forms_get_an_oauth_error(client: Client, form: dict[str, str]) -> None:
    response = client.flask.post("/auth/token", data=form)
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    body = response.get_json()
    assert isinstance(body, dict)
    assert isinstance(body["error"], str)
    assert response.headers["Cache-Control"] == "no-store"


@FUZZ
@given(raw=st.binary(max_size=300), path=st.sampled_from([*FHIR_PATHS, "/auth/token"]))
def test_arbitrary_bytes_never_fail_the_server(client: Client, raw: bytes, path: str) -> None:
    headers = {**client.headers, "Content-Type": "application/x-www-form-urlencoded"}
    response = client.flask.post(path, data=raw, headers=headers)
    assert response.status_code < 500, response.get_data(as_text=True)
    assert isinstance(response.get_json(force=True, silent=True), dict)
