"""A server with several tenants, as the security review ran it: real HTTP on 127.0.0.1.

Registered SMART clients (``DAVINCI_PA_CLIENTS``):

* ``clinic-a``: submits for the kit's provider organization, NPI ``8189991234``;
* ``clinic-b``: submits for another organization, NPI ``1999999984``;
* ``loner``: lists no organization, so it acts only on what it submitted itself;
* ``reviewer``: the payer's utilization-management system (role ``reviewer``);
* ``writer``: the default scope (``system/*.write`` includes ``ClaimResponse.write``) but
  no role, which must not be enough to decide;
* ``dual``: a submitting system that also holds the ``reviewer`` role (it may decide, but
  never on its own requests).
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from davinci_pa.auth.client import fetch_token
from davinci_pa.payer import Payer
from davinci_pa.server import create_app
from davinci_pa.server.settings import ServerSettings
from davinci_pa.store.audit import AuditEvent, AuditLog
from davinci_pa.store.pas_records import Authorization
from tests.auth.conftest import private_jwk, public_of
from tests.pas.conftest import HCPCS, SCOPE, kit
from tests.pas.conftest import receiver as receiver  # the rest-hook receiver fixture
from tests.server.conftest import ehr_url as ehr_url  # the fake EHR and the CRD kit's keys
from tests.server.conftest import keys as keys
from tests.server.conftest import public_jwks as public_jwks
from tests.support.database import migrated_sqlite

NPI = "http://hl7.org/fhir/sid/us-npi"
CLINIC_A = "8189991234"
CLINIC_B = "1999999984"
CLIENTS: dict[str, dict[str, Any]] = {
    "clinic-a": {"organizations": [f"{NPI}|{CLINIC_A}"]},
    "clinic-b": {"organizations": [CLINIC_B]},
    "loner": {},
    "reviewer": {"scope": "system/ClaimResponse.write", "roles": ["reviewer"]},
    "writer": {},
    "dual": {"roles": ["reviewer"]},
}
SCOPES = {
    "reviewer": "system/ClaimResponse.write",
    "writer": "system/ClaimResponse.write",
    "dual": f"{SCOPE} system/ClaimResponse.write",
}


@dataclass
class Tenants:
    """The running server and a token per client."""

    base: str
    payer: Payer
    keys: dict[str, dict[str, Any]]
    session: requests.Session = field(default_factory=requests.Session)
    tokens: dict[str, str] = field(default_factory=dict)
    scopes: dict[str, str] = field(default_factory=lambda: dict(SCOPES))

    def token(self, client: str) -> str:
        if client not in self.tokens:
            self.tokens[client] = fetch_token(
                self.keys[client],
                client_id=client,
                token_url=self.base + "/auth/token",
                scope=self.scopes.get(client, SCOPE),
            )
        return self.tokens[client]

    def post(self, client: str, path: str, body: Any) -> requests.Response:
        return self.raw(client, path, json.dumps(body).encode())

    def raw(self, client: str, path: str, data: bytes) -> requests.Response:
        headers = {
            "Authorization": f"Bearer {self.token(client)}",
            "Content-Type": "application/fhir+json",
        }
        return self.session.post(self.base + path, data=data, headers=headers, timeout=30)

    def authorization(self, trace: str, submitter: str) -> Authorization:
        found = self.payer.pas.records.by_claim_identifier(f"{TRACE_SYSTEM}|{trace}", submitter)
        assert found is not None, f"no authorization {trace} of {submitter}"
        return found

    def newest_audit(self) -> AuditEvent:
        return AuditLog(self.payer.database).recent(limit=1)[0]


TRACE_SYSTEM = "http://davinci-pas.org/PATIENT_EVENT_TRACE_NUMBER"
CERTIFICATION = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-certificationType"


def claim_bundle(
    trace: str,
    *,
    code: str = "K0800",
    npi: str = CLINIC_A,
    related: str | None = None,
    urgent: bool = True,
) -> dict[str, Any]:
    """The kit's pended referral Bundle as a clinic sends it.

    ``code`` is the HCPCS code ordered (``K0800`` pends, ``E0250`` approves), ``npi`` the
    requesting organization's NPI, ``related`` a Claim identifier this one cancels
    (certification type ``3``) when given; ``urgent=False`` turns the kit's level of
    service ``U`` (expedited review) into ``E`` (elective: a standard review).
    """
    bundle = copy.deepcopy(kit("v2.2.1", "pended_pa_submit_request_payload.json")[0])
    bundle["identifier"]["value"] = f"BUNDLE-{trace}"
    for entry in bundle["entry"]:
        resource = entry["resource"]
        kind = resource["resourceType"]
        if kind in {"ServiceRequest", "DeviceRequest"}:
            key = "code" if "code" in resource else "codeCodeableConcept"
            resource[key] = {"coding": [{"system": HCPCS, "code": code}]}
        if kind == "Organization" and resource["identifier"][0]["value"] == CLINIC_A:
            resource["identifier"][0]["value"] = npi
        if kind == "Claim":
            resource["identifier"][0]["value"] = trace
            if not urgent:
                _elective(resource)
            if related:
                resource["related"] = [
                    {"claim": {"identifier": {"system": TRACE_SYSTEM, "value": related}}}
                ]
                kept = [e for e in resource.get("extension", []) if e["url"] != CERTIFICATION]
                resource["extension"] = [*kept, _cancellation()]
    return bundle


def _elective(claim: dict[str, Any]) -> None:
    for ext in claim.get("extension", []):
        if ext["url"].endswith("extension-levelOfServiceCode"):
            ext["valueCodeableConcept"]["coding"][0].update(code="E", display="Elective")


def _cancellation() -> dict[str, Any]:
    return {
        "url": CERTIFICATION,
        "valueCodeableConcept": {
            "coding": [{"system": "https://codesystem.x12.org/005010/1322", "code": "3"}]
        },
    }


@pytest.fixture(scope="module")
def tenants(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenants]:
    yield from start_tenants(tmp_path_factory.mktemp("tenants"))


def start_tenants(
    folder: Path, clients: dict[str, dict[str, Any]] | None = None, **settings: Any
) -> Iterator[Tenants]:
    """Run the tenants server with its data in ``folder``; ``clients`` (name → registry
    entry, its ``scope`` also what the client asks for) and ``settings`` add to its own."""
    entries = CLIENTS | (clients or {})
    keys = {name: private_jwk("ES384", f"{name}-1") for name in entries}
    registry = {
        name: {"jwks": {"keys": [public_of(keys[name])]}, **entry}
        for name, entry in entries.items()
    }
    (folder / "clients.json").write_text(json.dumps(registry))
    http = make_server("127.0.0.1", 0, _unavailable, threaded=True)
    base = f"http://127.0.0.1:{http.server_port}"
    http.app = create_app(
        ServerSettings(
            database_url=migrated_sqlite(folder / "tenants.sqlite3"),
            clients=str(folder / "clients.json"),
            pas_default_payer="medicare-demo",
            pas_delivery_seconds="0.1",
            public_base_url=base,
            allowed_subscription_endpoints=("http://127.0.0.1:*/notify",),
            **settings,
        )
    )
    threading.Thread(target=http.serve_forever, daemon=True).start()
    running = Tenants(base, http.app.extensions["davinci_pa.payer"], keys)
    running.scopes |= {n: e["scope"] for n, e in (clients or {}).items() if "scope" in e}
    yield running
    running.session.close()
    http.shutdown()
    http.server_close()


def _unavailable(environ: Any, start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [])
    return []
