"""Access fixtures: the tenants server with a patient-token issuer, and member tokens."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt as pyjwt
import pytest
import requests

from tests.auth.conftest import private_jwk, public_of
from tests.security.conftest import Tenants, claim_bundle, start_tenants

ISSUER = "https://login.payer.example"
MEMBER = "MEM-1234567"  # the kit Coverage's member id (identifier typed MB)
OTHER = "MEM-7654321"
READ_SCOPE = "patient/ExplanationOfBenefit.rs"
ISSUER_KEY = private_jwk("ES384", "members-1")
PROVIDER_CLIENTS: dict[str, dict[str, Any]] = {
    "attribution": {"scope": "system/Group.write system/Group.read"},
    "provider-a": {"scope": "system/ExplanationOfBenefit.read", "roles": ["provider"]},
    "provider-b": {"scope": "system/ExplanationOfBenefit.read", "roles": ["provider"]},
    "no-role": {"scope": "system/ExplanationOfBenefit.read"},
    "new-plan": {
        "scope": "system/Patient.read system/ExplanationOfBenefit.read",
        "roles": ["payer"],
    },
    "other-plan": {
        "scope": "system/Patient.read system/ExplanationOfBenefit.read",
        "roles": ["payer"],
    },
}


@pytest.fixture(scope="module")
def members(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenants]:
    folder = tmp_path_factory.mktemp("members")
    issuers = folder / "patient-issuers.json"
    issuers.write_text(json.dumps({ISSUER: {"jwks": {"keys": [public_of(ISSUER_KEY)]}}}))
    yield from start_tenants(
        folder, PROVIDER_CLIENTS, patient_token_issuers=issuers, export_dir=folder / "exports"
    )


def patient_token(
    tenants: Tenants,
    patient: str = MEMBER,
    *,
    scope: str = READ_SCOPE,
    key: dict[str, Any] = ISSUER_KEY,
    **claims: Any,
) -> str:
    """A patient access token as the payer's authorization server issues it."""
    now = int(time.time())
    body = {
        "iss": ISSUER, "sub": f"user-{patient}", "aud": tenants.base + "/fhir",
        "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex, "scope": scope,
        "patient": patient, **claims,
    }  # fmt: skip
    private = pyjwt.PyJWK(key).key
    return pyjwt.encode(
        body, private, algorithm="ES384", headers={"kid": key["kid"], "typ": "at+jwt"}
    )


def get(tenants: Tenants, path: str, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(tenants.base + path, headers=headers, timeout=30)


def submit_for(tenants: Tenants, trace: str, member: str = MEMBER, **options: Any) -> str:
    """Clinic A submits a (pended) request for ``member``; its authorization id."""
    bundle = claim_bundle(trace, **options)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Coverage":
            for ident in resource.get("identifier", []):
                if any(c.get("code") == "MB" for c in ident.get("type", {}).get("coding", [])):
                    ident["value"] = member
    answer = tenants.post("clinic-a", "/fhir/Claim/$submit", bundle)
    assert answer.status_code == 200, answer.text
    return tenants.authorization(trace, "clinic-a").pa_id
