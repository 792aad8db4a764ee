"""Choosing the public key that verifies a JWS (RFC 7517 §4, RFC 7518 §3).

A key is usable for ``alg`` when its ``kid`` matches, its ``alg`` (if any) equals ``alg``,
its ``use`` (if any) is ``sig`` and its ``key_ops`` (if any) include ``verify``; EC keys must
be on the curve the algorithm names (ES256 P-256, ES384 P-384, ES512 P-521), RS and PS
algorithms need RSA keys of at least 2048 bits. Only public members are read, so a JWK Set
that carelessly includes private members never yields a private key. Built key objects are
cached: building one costs more than verifying a signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

PUBLIC_MEMBERS = {"EC": ("kty", "crv", "x", "y"), "RSA": ("kty", "n", "e")}
"""The members of a public EC or RSA JWK (RFC 7518 §6.2.1, §6.3.1)."""

CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
MIN_RSA_BITS = 2048


def find_public_key(jwks: Mapping[str, Any], kid: str, alg: str) -> Any | None:
    """Return the verification key with ``kid`` usable for ``alg`` in a JWK Set, or None."""
    keys = jwks.get("keys")
    for jwk in keys if isinstance(keys, list) else ():
        if isinstance(jwk, Mapping) and jwk.get("kid") == kid and _usable(jwk, alg):
            key = public_key(jwk, alg)
            if key is not None:
                return key
    return None


def public_key(jwk: Mapping[str, Any], alg: str) -> Any | None:
    """Build a public key from the public members of ``jwk``; None if unfit for ``alg``."""
    kty = str(jwk.get("kty"))
    members = PUBLIC_MEMBERS.get(kty)
    if members is None or any(not isinstance(jwk.get(m), str) for m in members):
        return None
    if alg.startswith("ES") and (kty != "EC" or jwk.get("crv") != CURVES.get(alg)):
        return None
    if alg.startswith(("RS", "PS")) and kty != "RSA":
        return None
    return _cached_key(tuple((m, str(jwk[m])) for m in members), alg)


def _usable(jwk: Mapping[str, Any], alg: str) -> bool:
    ops = jwk.get("key_ops")
    return (
        jwk.get("alg", alg) == alg
        and jwk.get("use", "sig") == "sig"
        and (ops is None or (isinstance(ops, list) and "verify" in ops))
    )


@lru_cache(maxsize=256)
def _cached_key(members: tuple[tuple[str, str], ...], alg: str) -> Any | None:
    try:
        key = pyjwt.PyJWK(dict(members), algorithm=alg).key
    except (pyjwt.PyJWTError, ValueError, TypeError):
        return None
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        return None
    return key if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey) else None
