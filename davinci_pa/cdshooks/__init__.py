"""CDS Hooks 2.0 protocol layer: hook requests, JWT trust, prefetch, cards, discovery, feedback.

Framework-free; the Flask server and the CRD layer build on it. See CDS Hooks 2.0.1
(cds-hooks.hl7.org) and CRD 2.2 §Foundation / §Hooks / §Cards.
"""

from __future__ import annotations

from davinci_pa.cdshooks.hooks import (
    HOOKS,
    FhirAuthorization,
    HookDefinition,
    HookRequest,
    parse_hook_request,
)
from davinci_pa.cdshooks.jwks import JwksFetcher, JwksUnavailable, RequestsJwksFetcher
from davinci_pa.cdshooks.jwt import (
    JwtVerifier,
    TrustedIssuer,
    VerifiedToken,
    sign_test_token,
)
from davinci_pa.cdshooks.replay import InMemoryReplayCache, ReplayCache

__all__ = [
    "HOOKS",
    "FhirAuthorization",
    "HookDefinition",
    "HookRequest",
    "InMemoryReplayCache",
    "JwksFetcher",
    "JwksUnavailable",
    "JwtVerifier",
    "ReplayCache",
    "RequestsJwksFetcher",
    "TrustedIssuer",
    "VerifiedToken",
    "parse_hook_request",
    "sign_test_token",
]
