"""The fault suite: ``davinci-pa serve --workers 4`` (gunicorn) on PostgreSQL, over real HTTP.

Each test gets a fresh PostgreSQL schema migrated by ``davinci-pa db upgrade``, the demo
keys of ``examples/keys`` (the EHR that signs hook calls, the SMART client that submits
claims) and a :class:`Caller` that speaks to the server as they do.
"""

from __future__ import annotations

import copy
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from davinci_pa import shipped
from davinci_pa.auth.client import fetch_token
from tests._shared import load_shared_json
from tests.pas.conftest import SCOPE
from tests.store.conftest import postgres_schema_url
from tests.support.demo_keys import KEYS, demo_ehr_token
from tests.support.gunicorn import davinci_pa

TIMEOUT = 30.0
"""Client timeout of every call (gunicorn's worker timeout is 30 s too)."""


def server_env(database_url: str) -> dict[str, str]:
    """The environment of a production-like server on ``database_url`` (already migrated)."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("DAVINCI_PA_")},
        "DAVINCI_PA_DATABASE_URL": database_url,
        "DAVINCI_PA_TRUSTED_ISSUERS": str(KEYS / "trusted-issuers.json"),
        "DAVINCI_PA_CLIENTS": str(KEYS / "demo-clients.json"),
        "DAVINCI_PA_PAS_DEFAULT_PAYER": "medicare-demo",
        "DAVINCI_PA_PAS_DELIVERY_SECONDS": "1",
        "DAVINCI_PA_ALLOWED_SUBSCRIPTION_ENDPOINTS": "http://127.0.0.1:*",
    }


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema, migrated by ``davinci-pa db upgrade`` (skip if unreachable)."""
    for url in postgres_schema_url():
        davinci_pa("db", "upgrade", env=server_env(url))
        yield url


@dataclass
class Caller:
    """The demo EHR (signed hook calls) and the demo SMART client (claims) of one server."""

    base: str
    _token: str | None = None
    _local: threading.local = field(default_factory=threading.local)

    @property
    def session(self) -> requests.Session:
        """A session per thread (requests sessions are not thread-safe)."""
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session  # type: ignore[no-any-return]

    def token(self) -> str:
        """A SMART access token of the demo client (fetched once)."""
        if self._token is None:
            key = json.loads((KEYS / "demo-client.private.json").read_text())
            self._token = fetch_token(
                key, client_id="demo-client", token_url=f"{self.base}/auth/token", scope=SCOPE
            )
        return self._token

    def fhir(self, method: str, path: str, body: Any = None) -> requests.Response:
        """A FHIR call with the demo client's token."""
        headers = {
            "Authorization": f"Bearer {self.token()}",
            "Content-Type": "application/fhir+json",
        }
        data = None if body is None else json.dumps(body)
        return self.session.request(
            method, f"{self.base}/fhir/{path}", data=data, headers=headers, timeout=TIMEOUT
        )

    def submit(self, bundle: dict[str, Any]) -> requests.Response:
        """``Claim/$submit`` of a PAS request Bundle."""
        return self.fhir("POST", "Claim/$submit", bundle)

    def hook(self, service: str = "order-sign-crd") -> requests.Response:
        """An order-sign CDS hook call signed by the demo EHR (a fresh JWT each time)."""
        token = demo_ehr_token(f"{self.base}/cds-services/{service}")
        return self.session.post(
            f"{self.base}/cds-services/{service}",
            json=shipped.example_request("order-sign-power-wheelchair"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT,
        )


def count(url: str, query: str) -> int:
    """One integer from the database (counts and the like)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(query)).scalar_one())
    finally:
        engine.dispose()


def subscription(endpoint: str) -> dict[str, Any]:
    """The PAS kit's Subscription for the claims' organization, notifying ``endpoint``."""
    resource = copy.deepcopy(
        load_shared_json("fixtures", "pas", "v2.2.1", "subscription_resource.json")
    )
    resource["channel"]["endpoint"] = endpoint
    return dict(resource)
