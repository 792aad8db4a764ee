"""Verifying a client's signed authentication JWT (SMART App Launch 2.x §Backend Services).

The client posts ``client_assertion``: a JWS signed with RS384 or ES384 whose header names
``kid`` (and ``typ`` ``JWT``), and whose claims carry ``iss`` = ``sub`` = its ``client_id``,
``aud`` = our token endpoint URL, ``exp`` no more than five minutes ahead, and a ``jti``
that is never reused while the assertion is valid.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import jwt as pyjwt

from davinci_pa.auth.clients import ClientRegistry, RegisteredClient
from davinci_pa.auth.errors import OAuthError, invalid_client
from davinci_pa.auth.keys import ALGORITHMS
from davinci_pa.errors import AuthenticationError
from davinci_pa.jose.jwks import JwksFetcher
from davinci_pa.jose.keys import find_public_key

MAX_ASSERTION_LIFETIME = 300
"""SMART: ``exp`` no more than five minutes in the future."""

_MAX_TOKEN_BYTES = 16 * 1024


class ReplayCache(Protocol):
    """Remembers token ids until they expire (``davinci_pa.store`` has a shared one)."""

    def add_if_new(self, iss: str, jti: str, expires_at: float) -> bool:
        """Record ``(iss, jti)`` until ``expires_at``; False when already seen."""
        ...


class AssertionVerifier:
    """Checks client assertions against the registry and returns the authenticated client."""

    def __init__(
        self,
        registry: ClientRegistry,
        *,
        token_url: str,
        fetcher: JwksFetcher,
        replay: ReplayCache,
        clock: Callable[[], float] = time.time,
        leeway: int = 30,
    ) -> None:
        self._registry = registry
        self._token_url = token_url
        self._fetcher = fetcher
        self._replay = replay
        self._clock = clock
        self._leeway = leeway

    def verify(self, assertion: str) -> RegisteredClient:
        """Return the client the assertion authenticates.

        Raises:
            OAuthError: ``invalid_client`` naming the failed check.
        """
        header = _header(assertion)
        client = self._client(assertion)
        key = self._key(client, header["kid"], header["alg"])
        claims = _decode(assertion, key, header["alg"])
        self._check_claims(claims, client.client_id)
        if not self._replay.add_if_new(client.client_id, claims["jti"], claims["exp"]):
            raise invalid_client("the assertion's 'jti' was already used")
        return client

    def _client(self, assertion: str) -> RegisteredClient:
        try:
            unverified = pyjwt.decode(assertion, options={"verify_signature": False})
        except pyjwt.PyJWTError as exc:
            raise invalid_client("the assertion payload is not a JSON object") from exc
        iss = unverified.get("iss")
        client = self._registry.get(iss) if isinstance(iss, str) else None
        if client is None:
            raise invalid_client("the assertion's 'iss' is not a registered client_id")
        return client

    def _key(self, client: RegisteredClient, kid: str, alg: str) -> Any:
        if client.jwks is not None:
            key = find_public_key(client.jwks, kid, alg)
        else:
            key = self._from_url(str(client.jwks_url), kid, alg)
        if key is None:
            raise invalid_client("no registered key matches the assertion's 'kid' and 'alg'")
        return key

    def _from_url(self, url: str, kid: str, alg: str) -> Any:
        try:
            key = find_public_key(self._fetcher.fetch(url), kid, alg)
            if key is None:  # the client may have rotated its keys: re-read once
                key = find_public_key(self._fetcher.fetch(url, refresh=True), kid, alg)
        except OAuthError:
            raise
        except AuthenticationError as exc:
            raise invalid_client(exc.message) from exc
        return key

    def _check_claims(self, claims: Mapping[str, Any], client_id: str) -> None:
        if claims.get("sub") != client_id:
            raise invalid_client("the assertion's 'sub' must equal its 'iss' (the client_id)")
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if self._token_url not in audiences:
            raise invalid_client("the assertion's 'aud' must be this token endpoint's URL")
        exp, now = claims.get("exp"), self._clock()
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            raise invalid_client("the assertion needs a numeric 'exp'")
        if exp < now - self._leeway:
            raise invalid_client("the assertion has expired")
        if exp > now + MAX_ASSERTION_LIFETIME + self._leeway:
            raise invalid_client("the assertion's 'exp' is more than five minutes ahead")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > 256:
            raise invalid_client("the assertion needs a 'jti'")


def _header(assertion: str) -> dict[str, Any]:
    if not isinstance(assertion, str) or not assertion or len(assertion) > _MAX_TOKEN_BYTES:
        raise invalid_client("missing or oversized client_assertion")
    try:
        header = pyjwt.get_unverified_header(assertion)
    except pyjwt.PyJWTError as exc:
        raise invalid_client("client_assertion is not a compact JWS") from exc
    if header.get("alg") not in ALGORITHMS:
        raise invalid_client(f"the assertion must be signed with one of {', '.join(ALGORITHMS)}")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise invalid_client("the assertion header needs a 'kid'")
    typ = header.get("typ", "JWT")
    if not isinstance(typ, str) or typ.upper() != "JWT":
        raise invalid_client("the assertion header 'typ' must be 'JWT'")
    return header


def _decode(assertion: str, key: Any, alg: str) -> dict[str, Any]:
    options: Any = {"verify_exp": False, "verify_aud": False, "verify_iat": False}
    try:
        claims: dict[str, Any] = pyjwt.decode(assertion, key=key, algorithms=[alg], options=options)
    except pyjwt.InvalidSignatureError as exc:
        raise invalid_client("the assertion's signature does not verify") from exc
    except pyjwt.PyJWTError as exc:
        raise invalid_client(f"the assertion cannot be verified ({type(exc).__name__})") from exc
    return claims
