"""davinci_pa.jose.keys: which JWK verifies which algorithm (shared by CDS Hooks and SMART)."""

from __future__ import annotations

import json
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from davinci_pa.jose import find_public_key

_KEYS: dict[str, Any] = {
    "p384": ec.generate_private_key(ec.SECP384R1()),
    "p256": ec.generate_private_key(ec.SECP256R1()),
    "rsa2048": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "rsa1024": rsa.generate_private_key(public_exponent=65537, key_size=1024),
}


def _jwk(name: str, **extra: Any) -> dict[str, Any]:
    key = _KEYS[name]
    algorithm = (
        pyjwt.algorithms.ECAlgorithm if name.startswith("p") else pyjwt.algorithms.RSAAlgorithm
    )
    jwk: dict[str, Any] = json.loads(algorithm.to_jwk(key))  # private members included
    jwk.pop("key_ops", None)  # PyJWT marks exported private RSA keys "sign"
    return {**jwk, "kid": "k1", **extra}


@pytest.mark.parametrize(
    ("key", "alg", "extra", "usable"),
    [
        ("p384", "ES384", {}, True),
        ("p384", "ES256", {}, False),  # wrong curve for the algorithm
        ("p256", "ES256", {}, True),
        ("p256", "ES384", {}, False),
        ("rsa2048", "RS384", {}, True),
        ("rsa2048", "PS384", {}, True),
        ("rsa2048", "ES384", {}, False),  # RSA key, EC algorithm
        ("p384", "RS384", {}, False),  # EC key, RSA algorithm
        ("rsa1024", "RS384", {}, False),  # below 2048 bits
        ("p384", "ES384", {"alg": "ES256"}, False),  # the key declares another algorithm
        ("p384", "ES384", {"use": "enc"}, False),
        ("p384", "ES384", {"key_ops": ["sign"]}, False),
        ("p384", "ES384", {"key_ops": ["verify"]}, True),
        ("p384", "ES384", {"kid": "other"}, False),
    ],
)
def test_key_selection(key: str, alg: str, extra: dict[str, Any], usable: bool) -> None:
    found = find_public_key({"keys": [_jwk(key, **extra)]}, "k1", alg)
    assert (found is not None) == usable


def test_only_public_members_are_used() -> None:
    found = find_public_key({"keys": [_jwk("p384")]}, "k1", "ES384")
    assert isinstance(found, ec.EllipticCurvePublicKey)


@pytest.mark.parametrize("jwks", [{}, {"keys": "x"}, {"keys": [None, 3, {"kid": "k1"}]}])
def test_malformed_sets_yield_no_key(jwks: dict[str, Any]) -> None:
    assert find_public_key(jwks, "k1", "ES384") is None
