"""The authorization service: token endpoint, bearer checks and SMART discovery.

SMART App Launch 2.x §Backend Services: ``POST /auth/token`` with
``grant_type=client_credentials``, ``client_assertion_type=
urn:ietf:params:oauth:client-assertion-type:jwt-bearer``, ``client_assertion`` and
``scope``; the answer is ``{"access_token", "token_type": "bearer", "expires_in",
"scope"}``. FHIR routes then call :meth:`AuthService.authorize` with the
``Authorization`` header, the resource type and the kind of access (401 without a valid
token, 403 when no granted scope allows the call).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from davinci_pa.auth.assertion import AssertionVerifier, ReplayCache
from davinci_pa.auth.clients import ClientRegistry
from davinci_pa.auth.errors import OAuthError, invalid_request
from davinci_pa.auth.scopes import Access, grantable, permits
from davinci_pa.auth.tokens import (
    AccessGrant,
    ExternalIssuer,
    TokenIssuer,
    unverified_issuer,
    verify_external,
)
from davinci_pa.errors import AuthenticationError, ForbiddenError
from davinci_pa.jose.jwks import HttpJwksFetcher, JwksFetcher

GRANT_TYPE = "client_credentials"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class AuthService:
    """Issues and checks SMART Backend Services access tokens.

    Args:
        registry: clients allowed to use our token endpoint.
        issuer: signs our tokens; ``None`` runs without a token endpoint (external only).
        token_url: our token endpoint's URL (a client assertion's ``aud``).
        replay: remembers assertion ``jti`` values across workers.
        external: authorization servers whose tokens are also accepted.
        fetcher: fetches JWK Sets given by URL.
        clock: epoch seconds.
    """

    def __init__(
        self,
        *,
        registry: ClientRegistry,
        issuer: TokenIssuer | None,
        token_url: str,
        replay: ReplayCache,
        external: Sequence[ExternalIssuer] = (),
        fetcher: JwksFetcher | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.registry = registry
        self.issuer = issuer
        self.token_url = token_url
        self._external = {e.issuer: e for e in external}
        self._fetcher = fetcher or HttpJwksFetcher()
        self._clock = clock
        self._assertions = AssertionVerifier(
            registry, token_url=token_url, fetcher=self._fetcher, replay=replay, clock=clock
        )

    def token(self, form: Mapping[str, str]) -> dict[str, Any]:
        """Answer a token request (form fields). Raises :class:`OAuthError`."""
        if self.issuer is None:
            raise OAuthError("unsupported_grant_type", "this server issues no tokens")
        if form.get("grant_type") != GRANT_TYPE:
            raise OAuthError("unsupported_grant_type", "grant_type must be client_credentials")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise invalid_request(f"client_assertion_type must be {ASSERTION_TYPE}")
        if not form.get("client_assertion"):
            raise invalid_request("client_assertion is required")
        if not form.get("scope", "").strip():
            raise invalid_request("scope is required")
        client = self._assertions.verify(form["client_assertion"])
        scopes = tuple(grantable(form["scope"], client.scope))
        if not scopes:
            raise OAuthError("invalid_scope", "none of the requested scopes may be granted")
        token, grant = self.issuer.issue(client.client_id, scopes)
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": self.issuer.lifetime,
            "scope": " ".join(grant.scopes),
        }

    def authenticate(self, authorization: str | None) -> AccessGrant:
        """Verify ``Authorization: Bearer <token>``. Raises AuthenticationError (401)."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationError("missing 'Authorization: Bearer <access token>' header")
        iss = unverified_issuer(token)
        if self.issuer is not None and iss == self.issuer.issuer:
            return self.issuer.verify(token)
        external = self._external.get(iss or "")
        if external is None:
            raise AuthenticationError("invalid access token: unknown issuer")
        return verify_external(token, external, self._fetcher, self._clock)

    def authorize(
        self, authorization: str | None, resource_type: str, access: Access
    ) -> AccessGrant:
        """Authenticate, then require a scope allowing ``access`` to ``resource_type``.

        Raises:
            AuthenticationError: no valid token (401).
            ForbiddenError: the token's scopes do not allow the call (403).
        """
        grant = self.authenticate(authorization)
        self.require(grant, resource_type, access)
        return grant

    @staticmethod
    def require(grant: AccessGrant, resource_type: str, access: Access) -> None:
        """Raise ForbiddenError (403) unless a scope of ``grant`` allows the call."""
        if not permits(grant.scopes, resource_type, access):
            raise ForbiddenError(
                f"the access token's scopes do not allow {access} access to {resource_type}"
                f" (needs e.g. system/{resource_type}.{access})"
            )

    def jwks(self) -> dict[str, Any]:
        """Our public JWK Set (for resource servers that verify our tokens themselves)."""
        return {"keys": [self.issuer.key.public_jwk] if self.issuer else []}

    def smart_configuration(self) -> dict[str, Any]:
        """The ``.well-known/smart-configuration`` document (SMART App Launch 2.x §2.3)."""
        document: dict[str, Any] = {
            "token_endpoint": self.token_url,
            "grant_types_supported": [GRANT_TYPE],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
            "scopes_supported": ["system/*.read", "system/*.write", "system/*.rs", "system/*.cud"],
            "capabilities": ["client-confidential-asymmetric", "permission-v1", "permission-v2"],
            "code_challenge_methods_supported": ["S256"],
        }
        if self.issuer is not None:
            document["issuer"] = self.issuer.issuer
            document["jwks_uri"] = self.token_url.rsplit("/", 1)[0] + "/jwks"
        return document
