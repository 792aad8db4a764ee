"""End-to-end fixtures: our app and a fake EHR FHIR server, both on 127.0.0.1 over real HTTP.

JWTs are signed with the Inferno CRD kit's published test keys, exactly as the kit does.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from davinci_pa.cdshooks.jwt import TrustedIssuer, sign_test_token
from davinci_pa.config import CrdOptions, PayerOptions, SecurityOptions
from davinci_pa.payer import Payer
from davinci_pa.server import create_app
from davinci_pa.server.settings import ServerSettings
from davinci_pa.store import Database
from tests._shared import REPO, load_shared_json
from tests.support.ehr_server import FakeEhr, serve_wsgi

ISSUER = "https://inferno.example.org/custom/crd_server"


@dataclass
class Keys:
    """The kit's private signing keys, by algorithm."""

    by_alg: dict[str, dict[str, Any]]

    def token(self, audience: str, *, alg: str = "ES384", **kwargs: Any) -> str:
        key = self.by_alg[alg]
        return sign_test_token(key, iss=ISSUER, aud=audience, kid=key["kid"], alg=alg, **kwargs)


@pytest.fixture(scope="session")
def keys() -> Keys:
    jwks = load_shared_json("fixtures", "crd", "inferno", "crd_jwks.json")
    return Keys({k["alg"]: k for k in jwks["keys"] if "d" in k})


@pytest.fixture(scope="session")
def public_jwks() -> dict[str, Any]:
    jwks = load_shared_json("fixtures", "crd", "inferno", "crd_jwks.json")
    public = [
        {
            k: v
            for k, v in key.items()
            if k in {"kty", "crv", "x", "y", "n", "e", "kid", "alg", "use"}
        }
        for key in jwks["keys"]
        if "d" not in key
    ]
    return {"keys": public}


@pytest.fixture(scope="session")
def ehr_url() -> Iterator[str]:
    bundle = load_shared_json("fixtures", "crd", "inferno", "crd_transaction_bundle.json")
    ehr = FakeEhr(entry["resource"] for entry in bundle["entry"])
    with serve_wsgi(lambda _url: ehr) as url:
        yield f"{url}/r4"


@dataclass
class Service:
    """Our app running over HTTP, plus helpers to call it as an EHR would."""

    base_url: str
    payer: Payer
    keys: Keys
    ehr_url: str

    def url(self, service_id: str) -> str:
        return f"{self.base_url}/cds-services/{service_id}"

    def call(
        self,
        body: Any,
        service_id: str | None = None,
        *,
        alg: str = "ES384",
        token: str | None = None,
    ) -> requests.Response:
        service_id = service_id or f"{body['hook']}-crd"
        url = self.url(service_id)
        bearer = token if token is not None else self.keys.token(url, alg=alg)
        return requests.post(
            url, json=body, headers={"Authorization": f"Bearer {bearer}"}, timeout=30
        )

    def at_ehr(self, body: dict[str, Any]) -> dict[str, Any]:
        """A copy of a hook request whose fhirServer is our fake EHR."""
        moved = copy.deepcopy(body)
        if "fhirServer" in moved:
            moved["fhirServer"] = self.ehr_url
        return moved


def make_payer(
    database: Database, public_jwks: dict[str, Any], base_url: str, ehr_url: str, **kwargs: Any
) -> Payer:
    """The shipped rule pack trusting the kit's issuer; ``kwargs`` go to :class:`Payer`."""
    options = PayerOptions(
        crd=CrdOptions(allowed_fhir_servers=(ehr_url,)),
        security=SecurityOptions(public_base_url=base_url),
    )
    return Payer.from_rule_pack(
        REPO / "cql_rules",
        database=database,
        trusted_issuers=[TrustedIssuer(ISSUER, jwks=public_jwks)],
        options=options,
        **kwargs,
    )


@pytest.fixture
def service(
    tmp_path: Path, keys: Keys, public_jwks: dict[str, Any], ehr_url: str
) -> Iterator[Service]:
    database = Database(f"sqlite:///{tmp_path / 'crd.sqlite3'}")
    database.migrate()
    holder: dict[str, Payer] = {}

    def factory(base_url: str) -> Any:
        holder["payer"] = make_payer(database, public_jwks, base_url, ehr_url)
        return create_app(ServerSettings(), payer=holder["payer"])

    with serve_wsgi(factory) as url:
        yield Service(url, holder["payer"], keys, ehr_url)
    database.dispose()


def fresh_instance(body: dict[str, Any]) -> dict[str, Any]:
    """A copy of a hook request with a new hookInstance."""
    return {**body, "hookInstance": str(uuid.uuid4())}
