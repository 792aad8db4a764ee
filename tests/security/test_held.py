"""What held in the security review, kept holding: CDS Hooks JWT checks and ``fhirServer``.

Over real HTTP against the CDS service: each forged token is a 401 with a CDS Hooks error
body; a ``fhirServer`` that is not on the operator's allowlist is never contacted, whatever
form the URL takes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from davinci_pa.cdshooks.jwt import sign_test_token
from tests._shared import load_shared_json
from tests.server.conftest import ISSUER, Service
from tests.server.conftest import service as service  # the CRD service on real HTTP
from tests.support.ehr_server import FakeEhr, serve_wsgi


def _order_sign() -> dict[str, Any]:
    body: dict[str, Any] = load_shared_json("specs", "crd-2.2", "CRDServiceRequest.json")
    return body


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    head, body = _b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode())
    return f"{head}.{body}.{_b64(signature)}"


def _claims(audience: str) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "aud": audience, "iat": now, "exp": now + 300, "jti": str(now)}


def _forgeries(service: Service) -> dict[str, str]:
    aud = service.url("order-sign-crd")
    key = service.keys.by_alg["ES384"]
    kid = key["kid"]

    def signed(**kwargs: Any) -> str:
        kwargs.setdefault("iss", ISSUER)
        kwargs.setdefault("aud", aud)
        return sign_test_token(key, kid=kid, alg="ES384", **kwargs)

    public = json.dumps({k: key[k] for k in ("kty", "crv", "x", "y")}).encode()
    hs_head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    hs_body = _b64(json.dumps(_claims(aud)).encode())
    hs_mac = hmac.new(public, f"{hs_head}.{hs_body}".encode(), hashlib.sha256).digest()
    return {
        "alg none": _unsigned({"alg": "none", "typ": "JWT", "kid": kid}, _claims(aud)),
        "HS256 keyed with the public key": f"{hs_head}.{hs_body}.{_b64(hs_mac)}",
        "expired": signed(now=time.time() - 3600),
        "wrong aud": signed(aud=service.url("order-select-crd")),
        "unknown iss": signed(iss="https://evil.example/ehr"),
        "untrusted jku": signed(jku="https://evil.example/jwks.json"),
    }


FORGERIES = [
    "alg none",
    "HS256 keyed with the public key",
    "expired",
    "wrong aud",
    "unknown iss",
    "untrusted jku",
]


@pytest.mark.parametrize("name", FORGERIES)
def test_forged_hook_tokens_are_401(service: Service, name: str) -> None:
    answer = service.call(_order_sign(), token=_forgeries(service)[name])
    assert answer.status_code == 401, answer.text
    assert answer.json()["operationOutcome"]["resourceType"] == "OperationOutcome"


def test_a_replayed_hook_token_is_401(service: Service) -> None:
    token = service.keys.token(service.url("order-sign-crd"))
    assert service.call(_order_sign(), token=token).status_code == 200
    assert service.call(_order_sign(), token=token).status_code == 401


@pytest.fixture
def trap() -> Iterator[tuple[str, FakeEhr]]:
    """A FHIR server nobody allowlisted, recording every request it gets."""
    ehr = FakeEhr([])
    with serve_wsgi(lambda _url: ehr) as url:
        yield url, ehr


@pytest.mark.parametrize(
    "template",
    [
        "{trap}/r4",
        "{trap}/r4/../r4",
        "http://user:secret@{host}/r4",
        "http://169.254.169.254/latest/meta-data",
        "file:///etc/passwd",
    ],
)
def test_a_fhir_server_off_the_allowlist_is_never_contacted(
    service: Service, trap: tuple[str, FakeEhr], template: str
) -> None:
    url, ehr = trap
    body = _order_sign()
    body["prefetch"] = {"patient": body["prefetch"]["patient"]}  # the rest must be fetched
    body["fhirServer"] = template.format(trap=url, host=url.removeprefix("http://"))
    answer = service.call(body)
    assert answer.status_code < 500, answer.text
    assert ehr.requests == []
