from __future__ import annotations

from typing import Any

import jwt as pyjwt
import pytest

from davinci_pa.auth import AuthService, ClientRegistry, ExternalIssuer
from davinci_pa.errors import AuthenticationError
from tests.auth.conftest import NOW, MemoryReplay, private_jwk, public_of

AS = "https://as.example.org"
AUD = "https://payer.example.org/fhir"


def _service(key: dict[str, Any]) -> AuthService:
    external = ExternalIssuer(AS, AUD, jwks={"keys": [public_of(key)]})
    return AuthService(
        registry=ClientRegistry(),
        issuer=None,
        token_url=AS + "/token",
        replay=MemoryReplay(),
        external=[external],
        clock=lambda: NOW,
    )


def _token(key: dict[str, Any], **claims: Any) -> str:
    body = {
        "iss": AS,
        "aud": AUD,
        "exp": NOW + 60,
        "client_id": "ehr",
        "scope": "system/Claim.write",
    }
    body.update(claims)
    signer = pyjwt.PyJWK(key, algorithm="ES384").key
    return pyjwt.encode(body, signer, algorithm="ES384", headers={"kid": key["kid"]})


@pytest.mark.parametrize(
    ("claims", "ok"),
    [
        ({}, True),
        ({"scope": None, "scp": ["system/Claim.write"]}, True),
        ({"aud": "https://elsewhere/fhir"}, False),
        ({"exp": NOW - 1}, False),
        ({"iss": "https://rogue.example.org"}, False),
    ],
)
def test_external_issuer_tokens(claims: dict[str, Any], ok: bool) -> None:
    key = private_jwk("ES384", "as-1")
    service = _service(key)
    token = _token(key, **{k: v for k, v in claims.items() if v is not None})
    if claims.get("scope", "x") is None:
        token = _token(key, scope="", scp=claims["scp"])
    if ok:
        assert service.authorize("Bearer " + token, "Claim", "write").client_id == "ehr"
    else:
        with pytest.raises(AuthenticationError):
            service.authorize("Bearer " + token, "Claim", "write")


def test_our_endpoint_is_off_without_an_issuer() -> None:
    from davinci_pa.auth import OAuthError

    with pytest.raises(OAuthError):
        _service(private_jwk("ES384", "k")).token({"grant_type": "client_credentials"})
