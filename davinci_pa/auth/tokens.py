"""Access tokens: short-lived ES384 JWTs we sign, and tokens from an external issuer.

Design choice: self-contained signed tokens rather than opaque ones stored in the database.
Every worker verifies a bearer token with one signature check and no database round trip;
workers share the signing key (configured, or created once in the shared database), and a
lifetime of five minutes bounds the exposure that revocation would otherwise address.
An external authorization server's tokens are accepted instead (or as well) when its
issuer and JWK Set are configured (:class:`ExternalIssuer`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt as pyjwt

from davinci_pa.auth.keys import SigningKey
from davinci_pa.errors import AuthenticationError
from davinci_pa.jose.jwks import JwksFetcher
from davinci_pa.jose.keys import find_public_key

DEFAULT_LIFETIME = 300
"""Access-token lifetime in seconds (SMART recommends no more than five minutes)."""

_ACCEPTED = ("ES384", "ES256", "RS384", "RS256")


@dataclass(frozen=True, slots=True)
class AccessGrant:
    """Who holds a verified bearer token and what it allows."""

    client_id: str
    scopes: tuple[str, ...]
    expires_at: int
    issuer: str


@dataclass(frozen=True, slots=True)
class ExternalIssuer:
    """An authorization server whose tokens we trust: its ``iss`` and keys, and our ``aud``."""

    issuer: str
    audience: str
    jwks: Mapping[str, Any] | None = None
    jwks_url: str | None = None


def _reject(reason: str) -> AuthenticationError:
    return AuthenticationError(f"invalid access token: {reason}")


class TokenIssuer:
    """Signs access tokens for authenticated clients and verifies them later."""

    def __init__(
        self,
        key: SigningKey,
        *,
        issuer: str,
        audience: str,
        lifetime: int = DEFAULT_LIFETIME,
        clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.key = key
        self.issuer = issuer
        self.audience = audience
        self.lifetime = lifetime
        self._clock = clock
        self._new_id = new_id

    def issue(self, client_id: str, scopes: tuple[str, ...]) -> tuple[str, AccessGrant]:
        """Return a signed token and the grant it carries."""
        now = int(self._clock())
        grant = AccessGrant(client_id, scopes, now + self.lifetime, self.issuer)
        claims = {
            "iss": self.issuer,
            "sub": client_id,
            "client_id": client_id,
            "aud": self.audience,
            "iat": now,
            "exp": grant.expires_at,
            "jti": self._new_id(),
            "scope": " ".join(scopes),
        }
        headers = {"kid": self.key.kid, "typ": "at+jwt"}
        token = pyjwt.encode(claims, self.key.key, algorithm=self.key.alg, headers=headers)
        return token, grant

    def verify(self, token: str) -> AccessGrant:
        """Verify one of our tokens. Raises AuthenticationError."""
        header = _header(token)
        if header.get("kid") != self.key.kid or header.get("alg") != self.key.alg:
            raise _reject("not signed with this server's current key")
        public = find_public_key({"keys": [self.key.public_jwk]}, self.key.kid, self.key.alg)
        claims = _decode(token, public, self.key.alg, self.audience, self.issuer, self._clock)
        return _grant(claims, self.issuer)


def verify_external(
    token: str, issuer: ExternalIssuer, fetcher: JwksFetcher, clock: Callable[[], float]
) -> AccessGrant:
    """Verify a token from a trusted external authorization server."""
    header = _header(token)
    alg, kid = header.get("alg"), header.get("kid")
    if alg not in _ACCEPTED or not isinstance(kid, str):
        raise _reject("unsupported algorithm or missing 'kid'")
    jwks = issuer.jwks if issuer.jwks is not None else fetcher.fetch(str(issuer.jwks_url))
    key = find_public_key(jwks, kid, alg)
    if key is None and issuer.jwks_url is not None:
        key = find_public_key(fetcher.fetch(issuer.jwks_url, refresh=True), kid, alg)
    if key is None:
        raise _reject("no key of the issuer matches its 'kid'")
    claims = _decode(token, key, alg, issuer.audience, issuer.issuer, clock)
    return _grant(claims, issuer.issuer)


def unverified_issuer(token: str) -> str | None:
    """The ``iss`` claim of a token, read without verification (to pick the verifier)."""
    try:
        claims = pyjwt.decode(token, options={"verify_signature": False})
    except pyjwt.PyJWTError:
        return None
    iss = claims.get("iss")
    return iss if isinstance(iss, str) else None


def _header(token: str) -> dict[str, Any]:
    if not token or len(token) > 16 * 1024:
        raise _reject("missing or oversized")
    try:
        return pyjwt.get_unverified_header(token)
    except pyjwt.PyJWTError as exc:
        raise _reject("not a compact JWS") from exc


def _decode(
    token: str, key: Any, alg: str, audience: str, issuer: str, clock: Callable[[], float]
) -> dict[str, Any]:
    if key is None:
        raise _reject("no verification key")
    options: Any = {
        "require": ["exp", "iss", "aud"],
        "verify_exp": False,
        "verify_iat": False,
        "verify_nbf": False,
    }
    try:
        claims: dict[str, Any] = pyjwt.decode(
            token, key=key, algorithms=[alg], audience=audience, issuer=issuer, options=options
        )
    except pyjwt.PyJWTError as exc:
        raise _reject(f"verification failed ({type(exc).__name__})") from exc
    exp = claims["exp"]
    now = clock()
    if isinstance(exp, bool) or not isinstance(exp, int | float) or exp < now:
        raise _reject("expired")
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and nbf > now + 30:
        raise _reject("not valid yet")
    return claims


def _grant(claims: Mapping[str, Any], issuer: str) -> AccessGrant:
    client = claims.get("client_id") or claims.get("azp") or claims.get("sub")
    scope = claims.get("scope") or claims.get("scp") or ""
    scopes = scope.split() if isinstance(scope, str) else scope if isinstance(scope, list) else []
    if not isinstance(client, str) or not client:
        raise _reject("no client identity ('client_id', 'azp' or 'sub')")
    return AccessGrant(client, tuple(str(s) for s in scopes), int(claims["exp"]), issuer)
