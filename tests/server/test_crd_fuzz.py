"""Hypothesis fuzzing of the CDS Hooks endpoints: whatever arrives, never a 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from davinci_pa.config import PayerOptions, SecurityOptions
from davinci_pa.payer import Payer
from davinci_pa.server import create_app
from davinci_pa.server.settings import ServerSettings
from davinci_pa.store import Database
from tests._shared import REPO, load_shared_json

SERVICES = [
    "order-sign-crd",
    "order-select-crd",
    "order-dispatch-crd",
    "appointment-book-crd",
    "encounter-start-crd",
    "encounter-discharge-crd",
]
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.sqlite3'}")
    database.migrate()
    payer = Payer.from_rule_pack(
        REPO / "cql_rules",
        database=database,
        options=PayerOptions(security=SecurityOptions(verify_jwt=False)),
    )
    yield create_app(ServerSettings(), payer=payer).test_client()
    database.dispose()


def _mutations(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Valid requests with one path replaced by arbitrary JSON."""
    paths = [
        ("context",),
        ("context", "draftOrders"),
        ("context", "patientId"),
        ("prefetch",),
        ("prefetch", "coverage"),
        ("prefetch", "patient"),
        ("extension",),
        ("hookInstance",),
        ("fhirAuthorization",),
        ("context", "draftOrders", "entry"),
    ]

    def mutate(choice: tuple[tuple[str, ...], Any]) -> dict[str, Any]:
        path, value = choice
        body = json.loads(json.dumps(base))
        target = body
        for key in path[:-1]:
            target = target.setdefault(key, {}) if isinstance(target, dict) else {}
        if isinstance(target, dict):
            target[path[-1]] = value
        return body

    return st.tuples(st.sampled_from(paths), json_values).map(mutate)


@FUZZ
@given(body=json_values, service_id=st.sampled_from(SERVICES))
def test_arbitrary_json_never_fails_the_server(
    client: FlaskClient, body: Any, service_id: str
) -> None:
    response = client.post(f"/cds-services/{service_id}", json=body)
    assert response.status_code < 500, response.get_data(as_text=True)


@FUZZ
@given(data=st.data())
def test_mutated_real_requests_never_fail_the_server(
    client: FlaskClient, data: st.DataObject
) -> None:
    base = load_shared_json("specs", "crd-2.2", "CRDServiceRequest.json")
    body = data.draw(_mutations(base))
    response = client.post("/cds-services/order-sign-crd", json=body)
    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.is_json


@FUZZ
@given(
    raw=st.binary(max_size=200),
    header=st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
)
def test_arbitrary_bytes_and_headers_never_fail_the_server(
    client: FlaskClient, raw: bytes, header: str
) -> None:
    response = client.post(
        "/cds-services/order-sign-crd/feedback",
        data=raw,
        headers={"Authorization": header.encode("ascii", "ignore").decode()},
    )
    assert response.status_code < 500
