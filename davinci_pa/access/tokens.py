"""Patient-facing access tokens from the payer's own authorization server (SMART App Launch).

A member's app calls Patient Access with a JWT access token the payer's authorization server
issued. :class:`PatientTokenVerifier` accepts it when:

* ``iss`` is a configured issuer (``DAVINCI_PA_PATIENT_TOKEN_ISSUERS``, the format of
  ``DAVINCI_PA_TRUSTED_ISSUERS``) and the signature verifies with its JWK Set (asymmetric
  algorithms only, ``kid`` required; a JWK Set URL is refreshed once for an unknown ``kid``);
* ``exp`` has not passed and ``aud`` names our FHIR base URL;
* ``patient`` is a non-empty string: the Patient the token speaks for;
* ``scope`` grants the interaction: SMART v2 ``patient/ExplanationOfBenefit.rs`` (``r`` to
  read, ``s`` to search) or v1 ``patient/ExplanationOfBenefit.read``; ``*`` for the type too.

Unlike CDS Hooks JWTs, access tokens are reused for many requests, so ``jti`` is not required
and not checked against replay. A bad token is 401; a good one without the scope is 403.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jwt as pyjwt

from davinci_pa.cdshooks.jwks import JwksFetcher, RequestsJwksFetcher
from davinci_pa.cdshooks.jwt import ASYMMETRIC_ALGORITHMS, TrustedIssuer
from davinci_pa.errors import AuthenticationError, ForbiddenError
from davinci_pa.jose.keys import find_public_key

_MAX_TOKEN_BYTES = 16 * 1024
RESOURCE = "ExplanationOfBenefit"


@dataclass(frozen=True, slots=True)
class PatientGrant:
    """A verified patient-facing token: who it speaks for and what it allows."""

    issuer: str
    patient: str
    scopes: tuple[str, ...]
    subject: str | None

    def require(self, interaction: str) -> None:
        """Check a scope grants ``interaction`` (``read`` or ``search``) on EOBs (else 403)."""
        letter = "r" if interaction == "read" else "s"
        for scope in self.scopes:
            context, _, rest = scope.partition("/")
            kind, _, permissions = rest.partition(".")
            if context != "patient" or kind not in {RESOURCE, "*"}:
                continue
            if permissions in {"read", "*"} or (
                permissions and set(permissions) <= set("cruds") and letter in permissions
            ):
                return
        raise ForbiddenError(
            f"the token's scopes do not allow {interaction} of {RESOURCE}: it needs "
            f"patient/{RESOURCE}.rs (or .read)"
        )


class PatientTokenVerifier:
    """Verifies patient-facing access tokens for one FHIR base URL."""

    def __init__(
        self,
        issuers: Sequence[TrustedIssuer],
        audience: str,
        *,
        fetcher: JwksFetcher | None = None,
        clock: Callable[[], float] = time.time,
        leeway_seconds: int = 60,
    ) -> None:
        self._issuers = {i.iss: i for i in issuers}
        self._audience = audience.rstrip("/")
        self._fetcher = fetcher or RequestsJwksFetcher()
        self._clock = clock
        self._leeway = leeway_seconds

    @property
    def configured(self) -> bool:
        """Whether any issuer is configured (Patient Access is off otherwise)."""
        return bool(self._issuers)

    def verify(self, token: str) -> PatientGrant:
        """Check ``token``; raise :class:`AuthenticationError` (401) saying what failed."""
        if not token or len(token) > _MAX_TOKEN_BYTES:
            raise _reject("missing or oversized bearer token")
        header, unverified = _unverified(token)
        issuer = self._issuers.get(str(unverified.get("iss")))
        if issuer is None:
            raise _reject("the token's issuer is not a configured patient-token issuer")
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ASYMMETRIC_ALGORITHMS or not isinstance(kid, str) or not kid:
            raise _reject("the token must be signed with an asymmetric algorithm and name a kid")
        claims = self._signed(token, self._key(issuer, kid, alg), alg)
        self._check(claims)
        scope = claims.get("scope")
        return PatientGrant(
            issuer.iss,
            claims["patient"],
            tuple(scope.split()) if isinstance(scope, str) else (),
            claims.get("sub") if isinstance(claims.get("sub"), str) else None,
        )

    def _key(self, issuer: TrustedIssuer, kid: str, alg: str) -> Any:
        found = find_public_key(issuer.jwks, kid, alg) if issuer.jwks is not None else None
        if found is None and issuer.jwks_url is not None:
            found = find_public_key(self._fetcher.fetch(issuer.jwks_url), kid, alg)
            if found is None:
                found = find_public_key(
                    self._fetcher.fetch(issuer.jwks_url, refresh=True), kid, alg
                )
        if found is None:
            raise _reject(f"no key '{kid[:40]}' for {alg} in the issuer's JWK Set")
        return found

    def _signed(self, token: str, key: Any, alg: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = pyjwt.decode(
                token, key=key, algorithms=[alg], options={"verify_aud": False, "verify_exp": False}
            )
        except pyjwt.PyJWTError as exc:
            raise _reject(f"the token could not be verified ({type(exc).__name__})") from exc
        return claims

    def _check(self, claims: Mapping[str, Any]) -> None:
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise _reject("the 'exp' claim is required")
        if exp < self._clock() - self._leeway:
            raise _reject("the token has expired")
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if self._audience not in {str(a).rstrip("/") for a in audiences}:
            raise _reject("the 'aud' claim does not name this FHIR server's base URL")
        patient = claims.get("patient")
        if not isinstance(patient, str) or not patient.strip():
            raise _reject("the 'patient' claim is required: the Patient the token speaks for")


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        header = pyjwt.get_unverified_header(token)
        claims = pyjwt.decode(token, options={"verify_signature": False})
    except pyjwt.PyJWTError as exc:
        raise _reject("not a well-formed JWT") from exc
    return header, claims


def _reject(reason: str) -> AuthenticationError:
    return AuthenticationError(f"patient access token refused: {reason}")
