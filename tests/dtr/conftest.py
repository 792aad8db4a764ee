"""DTR HTTP fixtures: the Flask app with a registered SMART client, tokens from ``/auth/token``.

Store fixtures come from ``tests/store/conftest.py``: ``database`` runs a test on SQLite and,
when reachable, PostgreSQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from davinci_pa.auth.client import sign_client_assertion, token_form
from davinci_pa.payer import Payer
from davinci_pa.server import ServerSettings, create_app
from tests.auth.conftest import private_jwk, public_of
from tests.store.conftest import database
from tests.support.database import migrated_sqlite

__all__ = ["DTR_SCOPE", "DtrApp", "database", "make_app"]

BASE = "https://payer.example.org"
DTR_SCOPE = (
    "system/Questionnaire.rs system/Questionnaire.cud system/Library.rs system/ValueSet.rs "
    "system/QuestionnaireResponse.cud"
)


@dataclass
class DtrApp:
    """The app under test, its payer and a SMART client that obtains real tokens."""

    client: FlaskClient
    payer: Payer
    key: dict[str, Any]
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, scope: str = DTR_SCOPE) -> str:
        """An access token for ``scope`` from ``/auth/token`` (cached per scope)."""
        if scope not in self.tokens:
            assertion = sign_client_assertion(
                self.key, client_id="dtr-app", token_url=BASE + "/auth/token"
            )
            reply = self.client.post("/auth/token", data=token_form(assertion, scope))
            assert reply.status_code == 200, reply.get_json()
            self.tokens[scope] = reply.get_json()["access_token"]
        return self.tokens[scope]

    def post(self, path: str, body: Any, *, scope: str = DTR_SCOPE) -> TestResponse:
        """POST FHIR JSON with a bearer token."""
        headers = {"Authorization": f"Bearer {self.token(scope)}"}
        return self.client.post(
            path, data=json.dumps(body), headers=headers, content_type="application/fhir+json"
        )

    def get(self, path: str, *, scope: str = DTR_SCOPE) -> TestResponse:
        """GET with a bearer token."""
        return self.client.get(path, headers={"Authorization": f"Bearer {self.token(scope)}"})


def make_app(folder: Path, **settings: Any) -> DtrApp:
    """An app whose client registry holds one ES384 client, ``dtr-app`` (``settings`` add)."""
    key = private_jwk("ES384", "dtr-1")
    clients = folder / "clients.json"
    clients.write_text(json.dumps({"dtr-app": {"jwks": {"keys": [public_of(key)]}}}))
    app = create_app(
        ServerSettings(
            database_url=migrated_sqlite(folder / "dtr.sqlite3"),
            clients=str(clients),
            public_base_url=BASE,
            pas_delivery_seconds="0",
            **settings,
        )
    )
    return DtrApp(app.test_client(), app.extensions["davinci_pa.payer"], key)


@pytest.fixture(scope="module")
def dtr_app(tmp_path_factory: pytest.TempPathFactory) -> DtrApp:
    """One app per test module, on SQLite."""
    return make_app(tmp_path_factory.mktemp("dtr-http"))
