"""SMART Backend Services authorization: token endpoint, bearer checks, scopes.

::

    auth = AuthService(registry=ClientRegistry.from_mapping(clients), issuer=TokenIssuer(
        SigningKey.from_jwk(jwk), issuer=base + "/auth", audience=base + "/fhir"),
        token_url=base + "/auth/token", replay=replay_cache)
    auth.token(form)                                  # POST /auth/token
    grant = auth.authorize(header, "Claim", "write")  # every FHIR call
"""

from __future__ import annotations

from davinci_pa.auth.clients import ClientRegistry, RegisteredClient
from davinci_pa.auth.errors import OAuthError
from davinci_pa.auth.keys import SigningKey, generate_signing_jwk
from davinci_pa.auth.scopes import Access, permits
from davinci_pa.auth.service import ASSERTION_TYPE, AuthService
from davinci_pa.auth.tokens import AccessGrant, ExternalIssuer, TokenIssuer

__all__ = [
    "ASSERTION_TYPE",
    "Access",
    "AccessGrant",
    "AuthService",
    "ClientRegistry",
    "ExternalIssuer",
    "OAuthError",
    "RegisteredClient",
    "SigningKey",
    "TokenIssuer",
    "generate_signing_jwk",
    "permits",
]
