"""Auth fixtures: client keys, a registry and an AuthService on a fixed clock."""

from __future__ import annotations

import json
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from davinci_pa.auth import AuthService, ClientRegistry, SigningKey, TokenIssuer
from davinci_pa.auth.keys import generate_signing_jwk
from davinci_pa.jose.jwks import HttpJwksFetcher

BASE = "https://payer.example.org"
TOKEN_URL = BASE + "/auth/token"
NOW = 1_800_000_000.0


class MemoryReplay:
    """A replay cache for one test."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()

    def add_if_new(self, iss: str, jti: str, expires_at: float) -> bool:
        if (iss, jti) in self.seen:
            return False
        self.seen.add((iss, jti))
        return True


def private_jwk(alg: str, kid: str) -> dict[str, Any]:
    if alg == "ES384":
        key: Any = ec.generate_private_key(ec.SECP384R1())
        jwk = json.loads(pyjwt.algorithms.ECAlgorithm.to_jwk(key))
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(pyjwt.algorithms.RSAAlgorithm.to_jwk(key))
    return {**jwk, "kid": kid, "alg": alg}


def public_of(jwk: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in jwk.items() if k not in {"d", "p", "q", "dp", "dq", "qi", "key_ops"}}


@pytest.fixture(scope="session")
def es_key() -> dict[str, Any]:
    return private_jwk("ES384", "es-1")


@pytest.fixture(scope="session")
def rs_key() -> dict[str, Any]:
    return private_jwk("RS384", "rs-1")


@pytest.fixture(scope="session")
def server_key() -> SigningKey:
    return SigningKey.from_jwk(generate_signing_jwk())


@pytest.fixture
def auth(es_key: dict[str, Any], rs_key: dict[str, Any], server_key: SigningKey) -> AuthService:
    registry = ClientRegistry.from_mapping(
        {
            "ehr-es": {"jwks": {"keys": [public_of(es_key)]}},
            "ehr-rs": {"jwks": {"keys": [public_of(rs_key)]}, "scope": "system/Claim.write"},
            "ehr-url": {"jwks_url": "https://ehr.example.org/jwks.json"},
        }
    )
    issuer = TokenIssuer(
        server_key, issuer=BASE + "/auth", audience=BASE + "/fhir", clock=lambda: NOW
    )
    return AuthService(
        registry=registry,
        issuer=issuer,
        token_url=TOKEN_URL,
        replay=MemoryReplay(),
        fetcher=HttpJwksFetcher(min_refresh_seconds=0),
        clock=lambda: NOW,
    )
