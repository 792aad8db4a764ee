"""CDS Hooks 2.0 protocol layer: hook requests, JWT trust, prefetch, cards, discovery, feedback.

Framework-free; the Flask server and the CRD layer build on it. See CDS Hooks 2.0.1
(cds-hooks.hl7.org) and CRD 2.2 §Foundation / §Hooks / §Cards / §Deviations.
"""

from __future__ import annotations

from davinci_pa.cdshooks.cards import (
    InvalidCard,
    action,
    card,
    coding,
    link,
    source,
    suggestion,
)
from davinci_pa.cdshooks.context import ORDER_TYPES, ContextField, FieldKind
from davinci_pa.cdshooks.discovery import (
    ConfigurationOption,
    ServiceDefinition,
    discovery_document,
    parse_configuration,
)
from davinci_pa.cdshooks.feedback import Feedback, parse_feedback
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
from davinci_pa.cdshooks.prefetch import (
    PrefetchResolver,
    PrefetchResult,
    index_request,
)
from davinci_pa.cdshooks.replay import InMemoryReplayCache, ReplayCache
from davinci_pa.cdshooks.response import (
    COVERAGE_INFORMATION_URL,
    coverage_information,
    validate_response,
)

__all__ = [
    "COVERAGE_INFORMATION_URL",
    "ConfigurationOption",
    "ContextField",
    "Feedback",
    "FhirAuthorization",
    "FieldKind",
    "HOOKS",
    "HookDefinition",
    "HookRequest",
    "InMemoryReplayCache",
    "InvalidCard",
    "JwksFetcher",
    "JwksUnavailable",
    "JwtVerifier",
    "ORDER_TYPES",
    "PrefetchResolver",
    "PrefetchResult",
    "ReplayCache",
    "RequestsJwksFetcher",
    "ServiceDefinition",
    "TrustedIssuer",
    "VerifiedToken",
    "action",
    "card",
    "coding",
    "coverage_information",
    "discovery_document",
    "index_request",
    "link",
    "parse_configuration",
    "parse_feedback",
    "parse_hook_request",
    "sign_test_token",
    "source",
    "suggestion",
    "validate_response",
]
