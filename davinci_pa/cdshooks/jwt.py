"""Verification of the JWT a CDS Client sends (CDS Hooks 2.0.1 §Trusting CDS Clients).

Rules enforced by :class:`JwtVerifier` (and why):

* ``alg``: asymmetric only. ``none`` and every symmetric (``HS*``) algorithm are refused
  ("SHALL NOT"). By default only the RECOMMENDED ``ES384`` and ``RS384`` are accepted; a
  deployment may widen this to other ES/RS/PS variants, never to HMAC.
* ``typ`` must be ``JWT``; ``kid`` is REQUIRED and selects the key in the issuer's JWK Set.
* The key comes from the trusted issuer's inline JWK Set, its configured JWK Set URL, or the
  token's ``jku`` header **only** if that exact URL is on the issuer's allowlist. An unknown
  ``kid`` triggers one refresh of a URL-served set (key rotation) before failing.
* ``iss`` must be a trusted issuer; ``aud`` (string or array) must contain the URL of the
  service being called; ``exp``, ``iat`` and ``jti`` are required; ``iat`` may not lie in
  the future and the lifetime may not exceed ``max_lifetime_seconds`` (both with leeway);
  each ``jti`` is accepted once per issuer (:class:`ReplayCache`).

Error messages say what was wrong without echoing key material.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import jwt as pyjwt

from davinci_pa.cdshooks.jwks import JwksFetcher, RequestsJwksFetcher
from davinci_pa.cdshooks.replay import InMemoryReplayCache, ReplayCache
from davinci_pa.errors import AuthenticationError, ConfigurationError
from davinci_pa.jose.keys import find_public_key

RECOMMENDED_ALGORITHMS = ("ES384", "RS384")
"""The algorithms CDS Hooks RECOMMENDS and the verifier accepts by default."""

ASYMMETRIC_ALGORITHMS = frozenset(
    {"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
)
"""Every algorithm a deployment may opt into."""

_MAX_TOKEN_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class TrustedIssuer:
    """A CDS Client we trust and where its public keys come from."""

    iss: str
    jwks: Mapping[str, Any] | None = None
    jwks_url: str | None = None
    jku_allowlist: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.jwks is None and self.jwks_url is None and not self.jku_allowlist:
            raise ConfigurationError(
                f"trusted issuer {self.iss!r} needs jwks, jwks_url or a jku allowlist"
            )


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """The claims of a verified CDS Client JWT."""

    iss: str
    sub: str | None
    aud: tuple[str, ...]
    exp: int
    iat: int
    jti: str
    tenant: str | None
    kid: str
    alg: str


def _reject(reason: str) -> AuthenticationError:
    return AuthenticationError(f"Invalid CDS Client JWT: {reason}")


def _clip(text: object, limit: int = 80) -> str:
    value = str(text)
    return repr(value if len(value) <= limit else value[: limit - 3] + "...")


class JwtVerifier:
    """Verifies CDS Client JWTs against a set of trusted issuers."""

    def __init__(
        self,
        issuers: Mapping[str, TrustedIssuer],
        *,
        jwks_fetcher: JwksFetcher | None = None,
        replay_cache: ReplayCache | None = None,
        clock: Callable[[], float] = time.time,
        leeway_seconds: int = 60,
        max_lifetime_seconds: int = 3600,
        algorithms: Collection[str] = RECOMMENDED_ALGORITHMS,
    ) -> None:
        unsupported = set(algorithms) - ASYMMETRIC_ALGORITHMS
        if unsupported or not algorithms:
            raise ConfigurationError(
                f"JWT algorithms must be asymmetric ones from {sorted(ASYMMETRIC_ALGORITHMS)}; "
                f"got {sorted(unsupported) or 'none'}"
            )
        self._issuers = dict(issuers)
        self._fetcher = jwks_fetcher or RequestsJwksFetcher()
        self._replay = replay_cache or InMemoryReplayCache(clock=clock)
        self._clock = clock
        self._leeway = leeway_seconds
        self._max_lifetime = max_lifetime_seconds
        self._algorithms = frozenset(algorithms)

    def verify(self, token: str, *, audience: str | Collection[str]) -> VerifiedToken:
        """Verify ``token`` for the service at ``audience`` (its exact URL, or several).

        Raises:
            AuthenticationError: saying which check failed.
        """
        jws = _parse(token)
        header = self._header(jws.header)
        alg, kid = header["alg"], header["kid"]
        issuer = self._issuer(jws.claims)
        key = self._key(issuer, kid, alg, header.get("jku"))
        _check_signature(jws, key, alg)
        claims = jws.claims
        audiences = self._check_audience(claims, audience)
        exp, iat = self._check_times(claims)
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > 256:
            raise _reject("the 'jti' claim is required (a non-empty string)")
        if not self._replay.add_if_new(issuer.iss, jti, exp + self._leeway):
            raise _reject("this token's 'jti' was already used (replayed token)")
        sub, tenant = claims.get("sub"), claims.get("tenant")
        return VerifiedToken(
            iss=issuer.iss,
            sub=sub if isinstance(sub, str) else None,
            aud=audiences,
            exp=exp,
            iat=iat,
            jti=jti,
            tenant=tenant if isinstance(tenant, str) else None,
            kid=kid,
            alg=alg,
        )

    def _header(self, header: dict[str, Any]) -> dict[str, Any]:
        alg = header.get("alg")
        if not isinstance(alg, str) or alg.lower() == "none":
            raise _reject("unsigned tokens (alg 'none') are not accepted")
        if alg.upper().startswith("HS"):
            raise _reject(f"symmetric algorithm {alg} is not accepted")
        if alg not in self._algorithms:
            raise _reject(
                f"algorithm {_clip(alg)} is not accepted; use one of "
                f"{', '.join(sorted(self._algorithms))}"
            )
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.upper() != "JWT":
            raise _reject("the 'typ' header must be 'JWT'")
        if not isinstance(header.get("kid"), str) or not header["kid"]:
            raise _reject("the 'kid' header is required")
        return header

    def _issuer(self, unverified: Mapping[str, Any]) -> TrustedIssuer:
        iss = unverified.get("iss")
        if not isinstance(iss, str) or not iss:
            raise _reject("the 'iss' claim is required")
        issuer = self._issuers.get(iss)
        if issuer is None:
            raise _reject(f"issuer {_clip(iss)} is not trusted")
        return issuer

    def _key(self, issuer: TrustedIssuer, kid: str, alg: str, jku: object) -> Any:
        if jku is not None:
            if not isinstance(jku, str) or jku not in issuer.jku_allowlist:
                raise _reject(f"jku {_clip(jku)} is not on the allowlist of this issuer")
            return self._key_from_url(jku, kid, alg)
        if issuer.jwks is not None:
            found = find_public_key(issuer.jwks, kid, alg)
            if found is not None or issuer.jwks_url is None:
                return _require(found, kid)
        if issuer.jwks_url is not None:
            return self._key_from_url(issuer.jwks_url, kid, alg)
        raise _reject("the issuer publishes its keys via jku, but the token has no jku header")

    def _key_from_url(self, url: str, kid: str, alg: str) -> Any:
        found = find_public_key(self._fetcher.fetch(url), kid, alg)
        if found is None:  # maybe the client rotated its keys: refresh once
            found = find_public_key(self._fetcher.fetch(url, refresh=True), kid, alg)
        return _require(found, kid)

    def _check_audience(
        self, claims: Mapping[str, Any], audience: str | Collection[str]
    ) -> tuple[str, ...]:
        aud = claims.get("aud")
        values = (aud,) if isinstance(aud, str) else tuple(aud) if isinstance(aud, list) else ()
        if not values or not all(isinstance(v, str) for v in values):
            raise _reject("the 'aud' claim is required (a string or an array of strings)")
        expected = {audience} if isinstance(audience, str) else set(audience)
        if expected.isdisjoint(values):
            raise _reject("the 'aud' claim does not name this CDS Service's URL")
        return values

    def _check_times(self, claims: Mapping[str, Any]) -> tuple[int, int]:
        exp, iat = _number(claims, "exp"), _number(claims, "iat")
        now, leeway = self._clock(), self._leeway
        if exp < now - leeway:
            raise _reject("the token has expired")
        if iat > now + leeway:
            raise _reject("the 'iat' claim lies in the future")
        if exp < iat:
            raise _reject("the token expires before it was issued")
        if exp - iat > self._max_lifetime or exp > now + self._max_lifetime + leeway:
            raise _reject(f"the token lives longer than {self._max_lifetime} seconds")
        nbf = claims.get("nbf")
        if nbf is not None and _number(claims, "nbf") > now + leeway:
            raise _reject("the token is not valid yet ('nbf')")
        return int(exp), int(iat)


@dataclass(frozen=True, slots=True)
class _Jws:
    """A compact JWS taken apart once; ``claims`` are unverified until the signature is."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes


_JWS = pyjwt.PyJWS()


def _parse(token: str) -> _Jws:
    """Split and decode the three parts (RFC 7515 §7.1); refuse what is not a JWT."""
    if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN_BYTES:
        raise _reject("missing or oversized token")
    try:  # PyJWT checks base64url, the header's JSON, kid's type and crit
        parts = _JWS.decode_complete(token, options={"verify_signature": False})
    except pyjwt.PyJWTError as exc:
        raise _reject("not a well-formed JWS compact token") from exc
    try:
        claims = json.loads(parts["payload"])
    except ValueError:
        claims = None
    if not isinstance(claims, dict):
        raise _reject("the payload is not a JSON object")
    signing_input = token.rpartition(".")[0].encode()
    return _Jws(parts["header"], claims, signing_input, parts["signature"])


def _check_signature(jws: _Jws, key: Any, alg: str) -> None:
    """Verify the signature with ``key`` under ``alg`` (already checked as accepted)."""
    algorithm = pyjwt.get_algorithm_by_name(alg)
    try:
        valid = algorithm.verify(jws.signing_input, algorithm.prepare_key(key), jws.signature)
    except (pyjwt.PyJWTError, ValueError, TypeError) as exc:
        raise _reject(f"the token could not be verified ({type(exc).__name__})") from exc
    if not valid:
        raise _reject("signature verification failed")


def _number(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise _reject(f"the {name!r} claim is required (a NumericDate)")
    return float(value)


def _require(key: Any, kid: str) -> Any:
    if key is None:
        raise _reject(f"no usable key with kid {_clip(kid)} in the issuer's JWK Set")
    return key


def sign_test_token(
    private_jwk: Mapping[str, Any],
    *,
    iss: str,
    aud: str | list[str],
    kid: str,
    alg: str,
    lifetime: int = 300,
    jti: str | None = None,
    jku: str | None = None,
    now: float | None = None,
    extra_claims: Mapping[str, Any] | None = None,
) -> str:
    """Sign a CDS Client JWT the way an EHR (or the Inferno CRD kit) does.

    Used by ``davinci-pa hook`` and the tests; ``private_jwk`` holds the private members.
    """
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "iss": iss,
        "aud": aud,
        "iat": issued,
        "exp": issued + lifetime,
        "jti": jti or str(uuid.uuid4()),
        **(extra_claims or {}),
    }
    headers: dict[str, Any] = {"typ": "JWT", "kid": kid}
    if jku is not None:
        headers["jku"] = jku
    key = pyjwt.PyJWK(json.loads(json.dumps(dict(private_jwk))), algorithm=alg).key
    return pyjwt.encode(claims, key, algorithm=alg, headers=headers)
