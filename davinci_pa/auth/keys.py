"""Our own token-signing key, and the client-assertion algorithms we accept.

SMART Backend Services (SMART App Launch 2.x §Backend Services) has clients sign their
assertions with RS384 or ES384 keys published as a JWK Set (picked with
:func:`davinci_pa.jose.keys.find_public_key`); our access tokens are ES384 JWTs signed with a
key of our own whose public half we publish the same way.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import ec

from davinci_pa.errors import ConfigurationError
from davinci_pa.jose.keys import PUBLIC_MEMBERS

ALGORITHMS = ("RS384", "ES384")
"""The client-assertion algorithms SMART Backend Services requires servers to support."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    """Our ES384 private key, its ``kid`` (RFC 7638 thumbprint) and public JWK."""

    private_jwk: Mapping[str, Any]
    kid: str
    alg: str = "ES384"

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any]) -> SigningKey:
        """Load a private EC P-384 JWK (as written by :func:`generate_signing_jwk`)."""
        if jwk.get("kty") != "EC" or jwk.get("crv") != "P-384" or not jwk.get("d"):
            raise ConfigurationError("the token signing key must be a private EC P-384 JWK")
        try:
            pyjwt.PyJWK(dict(jwk), algorithm="ES384")
        except (pyjwt.PyJWTError, ValueError) as exc:
            raise ConfigurationError(f"the token signing key is unusable: {exc}") from exc
        return cls(dict(jwk), thumbprint(jwk))

    @property
    def key(self) -> Any:
        """The private key object."""
        return _private(json.dumps(dict(self.private_jwk), sort_keys=True))

    @property
    def public_jwk(self) -> dict[str, Any]:
        """The public half, as published in our JWK Set."""
        public = {m: self.private_jwk[m] for m in PUBLIC_MEMBERS["EC"]}
        return {**public, "kid": self.kid, "alg": self.alg, "use": "sig"}


@lru_cache(maxsize=8)
def _private(serialised: str) -> Any:
    return pyjwt.PyJWK(json.loads(serialised), algorithm="ES384").key


def generate_signing_jwk() -> dict[str, Any]:
    """Create a new private EC P-384 JWK."""
    key = ec.generate_private_key(ec.SECP384R1())
    jwk: dict[str, Any] = json.loads(pyjwt.algorithms.ECAlgorithm.to_jwk(key))
    return jwk


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url) of an EC or RSA key."""
    members = PUBLIC_MEMBERS.get(str(jwk.get("kty")), ())
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
