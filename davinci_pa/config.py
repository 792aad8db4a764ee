"""Options of the framework-free core, as frozen dataclasses with documented defaults.

The core never reads the environment; ``davinci_pa.server.settings`` turns ``DAVINCI_PA_*``
variables into these objects in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class CrdOptions:
    """How the CRD service answers.

    Attributes:
        default_version: CRD response shape for clients that send no
            ``davinci-crd.requestedVersion``: such clients predate CRD 2.2, so "2.0".
        allowed_fhir_servers: URL prefixes of EHR FHIR servers we may query for data the
            EHR did not prefetch; anything else is never contacted (no SSRF).
        fhir_timeout_seconds: time allowed for each query to an EHR FHIR server.
    """

    default_version: str = "2.0"
    allowed_fhir_servers: tuple[str, ...] = ()
    fhir_timeout_seconds: float = 3.0


@dataclass(frozen=True, slots=True)
class SecurityOptions:
    """Who may call us.

    The EHRs whose JWTs we accept are passed to the Payer as ``trusted_issuers``; with none,
    every hook call gets 401.

    Attributes:
        verify_jwt: turn JWT checks off for a local demo only (the server warns loudly).
        public_base_url: our external base URL; a JWT's ``aud`` must be the service URL
            under it.
    """

    verify_jwt: bool = True
    public_base_url: str = "http://127.0.0.1:8080"


@dataclass(frozen=True, slots=True)
class PayerOptions:
    """Everything configurable about a :class:`davinci_pa.payer.Payer`."""

    crd: CrdOptions = field(default_factory=CrdOptions)
    security: SecurityOptions = field(default_factory=SecurityOptions)
