"""Finding 6: while the database is unreachable every route answers 503, then recovers.

PostgreSQL is reached through a TCP proxy on 127.0.0.1 that the test cuts (every open
connection dropped, new ones closed at once) and restores, as a failover or a network cut
would. The CDS hook's JWT replay-cache write was the unwrapped ``OperationalError`` (a 500).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from davinci_pa.auth.client import fetch_token
from davinci_pa.pas.options import PasOptions
from davinci_pa.server import create_app
from davinci_pa.server.settings import ServerSettings
from davinci_pa.store import Database
from tests._shared import load_shared_json
from tests.auth.conftest import private_jwk, public_of
from tests.pas.conftest import SCOPE
from tests.security.conftest import claim_bundle
from tests.server.conftest import Keys, Service, make_payer
from tests.support.ehr_server import serve_wsgi
from tests.support.tcp_proxy import TcpProxy, proxied_postgres_url

PAS_OPTIONS = PasOptions(default_payer="medicare-demo")


@pytest.fixture
def proxied_url() -> Iterator[tuple[str, TcpProxy]]:
    yield from proxied_postgres_url()


@pytest.fixture
def outage(
    proxied_url: tuple[str, TcpProxy],
    tmp_path: Path,
    keys: Keys,
    public_jwks: dict[str, Any],
    ehr_url: str,
) -> Iterator[tuple[Service, TcpProxy, str]]:
    url, proxy = proxied_url
    database = Database(url)
    database.migrate()
    smart_key = private_jwk("ES384", "ehr-outage")
    clients = tmp_path / "clients.json"
    clients.write_text(json.dumps({"ehr": {"jwks": {"keys": [public_of(smart_key)]}}}))
    holder: dict[str, Any] = {}

    def factory(base_url: str) -> Any:
        holder["payer"] = make_payer(
            database, public_jwks, base_url, ehr_url, pas_options=PAS_OPTIONS
        )
        settings = ServerSettings(
            clients=str(clients), pas_delivery_seconds="0", public_base_url=base_url
        )
        return create_app(settings, payer=holder["payer"])

    with serve_wsgi(factory) as base:
        token = fetch_token(smart_key, client_id="ehr", token_url=base + "/auth/token", scope=SCOPE)
        yield Service(base, holder["payer"], keys, ehr_url), proxy, token
    database.dispose()


def _order_sign() -> dict[str, Any]:
    body: dict[str, Any] = load_shared_json("specs", "crd-2.2", "CRDServiceRequest.json")
    return body


def _submit(service: Service, token: str, trace: str) -> requests.Response:
    return requests.post(
        service.base_url + "/fhir/Claim/$submit",
        json=claim_bundle(trace),
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def test_every_route_is_503_while_the_database_is_cut_and_recovers(
    outage: tuple[Service, TcpProxy, str],
) -> None:
    service, proxy, token = outage
    assert service.call(_order_sign()).status_code == 200
    assert _submit(service, token, "before-cut").status_code == 200

    proxy.cut()
    hook = service.call(_order_sign())
    assert hook.status_code == 503, hook.text
    assert hook.json()["operationOutcome"]["resourceType"] == "OperationOutcome"
    assert "store-error" in hook.text
    submitted = _submit(service, token, "during-cut")
    assert submitted.status_code == 503, submitted.text
    assert submitted.json()["resourceType"] == "OperationOutcome"
    assert submitted.headers["Retry-After"] == "5"
    assert requests.get(service.base_url + "/readyz", timeout=30).status_code == 503

    proxy.restore()
    assert service.call(_order_sign()).status_code == 200
    assert _submit(service, token, "during-cut").status_code == 200  # nothing half-written
    assert requests.get(service.base_url + "/readyz", timeout=30).status_code == 200
