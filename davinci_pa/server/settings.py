"""Server settings from ``DAVINCI_PA_*`` environment variables (the only place that reads them).

| variable | meaning |
| --- | --- |
| ``DAVINCI_PA_DATABASE_URL`` | SQLAlchemy URL (default ``sqlite:///davinci-pa.sqlite3``) |
| ``DAVINCI_PA_RULES`` | rule pack folder (default: the shipped pack) |
| ``DAVINCI_PA_TRUSTED_ISSUERS`` | path to a JSON object: ``iss`` → ``{"jwks": {...}}`` or ``{"jwks_url": "..."}`` (optional ``"jku"`` list) |
| ``DAVINCI_PA_PUBLIC_BASE_URL`` | external base URL that a JWT's ``aud`` must match |
| ``DAVINCI_PA_ALLOWED_FHIR_SERVERS`` | comma-separated URL prefixes we may query for missing prefetch |
| ``DAVINCI_PA_CRD_DEFAULT_VERSION`` | CRD shape when a client requests none (``2.0`` or ``2.2``) |
| ``DAVINCI_PA_CORS_ORIGINS`` | comma-separated allowed browser origins (default ``*``) |
| ``DAVINCI_PA_MAX_BODY_BYTES`` | request body limit (default 5 MiB) |
| ``DAVINCI_PA_INSECURE_DISABLE_JWT`` | ``1`` turns JWT checks off: local demos only |
| ``DAVINCI_PA_CLIENTS`` | path to a JSON object: SMART ``client_id`` → ``{"jwks": {...}}`` or ``{"jwks_url": "..."}`` (optional ``"scope"``) |
| ``DAVINCI_PA_AUTH_SIGNING_KEY`` | path to our private EC P-384 JWK for access tokens (default: one shared through the database) |
| ``DAVINCI_PA_AUTH_EXTERNAL_ISSUERS`` | path to a JSON list of ``{"issuer", "jwks"|"jwks_url", "audience"?}`` whose tokens are trusted |
| ``DAVINCI_PA_PAS_DEFAULT_PAYER`` | payer id for Claims whose insurer matches no payer of the rule pack |
| ``DAVINCI_PA_IG_PACKAGES`` | comma-separated PAS IG packages (``.tgz`` or folders) for profile validation at ``$submit`` |
| ``DAVINCI_PA_PAS_DELIVERY_SECONDS`` | how often the job worker delivers queued notifications, in whole seconds (default 2; ``0`` runs no worker in the server) |
| ``DAVINCI_PA_WORKER`` | ``embedded`` (default: a job worker in each server process) or ``external`` (``davinci-pa worker`` processes do the background work) |
| ``DAVINCI_PA_ALLOWED_SUBSCRIPTION_ENDPOINTS`` | comma-separated URL prefixes a Subscription endpoint may use over http or at a private address (``make serve`` sets loopback) |
| ``DAVINCI_PA_DTR_VERSION`` | DTR ``$questionnaire-package`` shape when a client declares none (``2.2`` or ``2.0.1``) |
| ``DAVINCI_PA_PATIENT_TOKEN_ISSUERS`` | path to a JSON object like ``DAVINCI_PA_TRUSTED_ISSUERS``: the authorization servers whose patient access tokens Patient Access accepts (docs/access.md) |
| ``DAVINCI_PA_EXPORT_DIR`` | folder for bulk-export files (default ``davinci-pa-exports``; shared storage when several hosts serve) |
| ``DAVINCI_PA_METRICS_RULES`` | path to a JSON object of prior-authorization metrics counting rules (docs/metrics.md) |
| ``DAVINCI_PA_LOG_LEVEL`` | ``DEBUG``, ``INFO`` (default), ``WARNING`` or ``ERROR`` |

Each value is checked when read (:mod:`davinci_pa.server.setting_checks`): a bad one is a
:class:`ConfigurationError` naming the variable, the value and what is expected.
"""  # noqa: E501

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from davinci_pa.cdshooks.jwt import TrustedIssuer
from davinci_pa.crd.versions import SUPPORTED as CRD_VERSIONS
from davinci_pa.dtr.vocabulary import VERSIONS as DTR_VERSIONS
from davinci_pa.errors import ConfigurationError
from davinci_pa.server import setting_checks as check
from davinci_pa.server.setting_checks import PREFIX, BadSetting

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Everything the server needs, with the defaults ``make serve`` relies on."""

    database_url: str = "sqlite:///davinci-pa.sqlite3"
    rules: Path | None = None
    trusted_issuers: Path | None = None
    public_base_url: str = "http://127.0.0.1:8080"
    allowed_fhir_servers: tuple[str, ...] = ()
    crd_default_version: str = "2.0"
    cors_origins: tuple[str, ...] = ("*",)
    max_body_bytes: int = 5 * 1024 * 1024
    insecure_disable_jwt: bool = False
    # -- SMART Backend Services and PAS (see davinci_pa/server/auth.py and pas.py) --
    clients: str | None = None
    auth_signing_key: str | None = None
    auth_external_issuers: str | None = None
    pas_default_payer: str | None = None
    ig_packages: str | None = None
    pas_delivery_seconds: str | None = None
    allowed_subscription_endpoints: tuple[str, ...] = ()
    worker: str = "embedded"
    # -- DTR (see davinci_pa/server/dtr.py) --
    dtr_version: str = "2.2"
    # -- operations (see docs/deploy.md) --
    log_level: str = "INFO"
    metrics_rules: str | None = None
    patient_token_issuers: Path | None = None
    export_dir: Path = Path("davinci-pa-exports")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], **overrides: Any) -> ServerSettings:
        """Read and check ``DAVINCI_PA_*`` variables; keyword overrides (from CLI flags) win.

        Raises:
            ConfigurationError: a value is unusable (one line: variable, value, expected).
        """
        values: dict[str, Any] = {}
        for name, parse in PARSERS.items():
            variable = PREFIX + name.upper()
            raw = environ.get(variable)
            if raw is not None and raw.strip():
                try:
                    values[name] = parse(raw.strip())
                except BadSetting as expected:
                    raise check.invalid(variable, raw.strip(), str(expected)) from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def shown(self) -> dict[str, str]:
        """Every setting by variable name, as ``davinci-pa config show`` prints it (masked)."""
        shown: dict[str, str] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "database_url":
                value = check.mask_url(value)
            elif isinstance(value, tuple):
                value = ",".join(value)
            shown[PREFIX + f.name.upper()] = "" if value is None else str(value)
        return shown

    def load_trusted_issuers(self) -> list[TrustedIssuer]:
        """Read the trusted-issuer file (empty when none is configured)."""
        return _issuers(self.trusted_issuers, "DAVINCI_PA_TRUSTED_ISSUERS")

    def load_patient_token_issuers(self) -> list[TrustedIssuer]:
        """Read the patient-token issuer file (empty: Patient Access answers 401)."""
        return _issuers(self.patient_token_issuers, "DAVINCI_PA_PATIENT_TOKEN_ISSUERS")


def _issuers(path: Path | None, variable: str) -> list[TrustedIssuer]:
    if path is None:
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read {variable}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"{variable} must hold a JSON object")
    return [_issuer(iss, entry) for iss, entry in data.items()]


def _issuer(iss: str, entry: Any) -> TrustedIssuer:
    if not isinstance(entry, dict):
        raise ConfigurationError(f"trusted issuer {iss!r}: expected an object")
    jku = entry.get("jku", [])
    return TrustedIssuer(
        iss=iss,
        jwks=entry.get("jwks"),
        jwks_url=entry.get("jwks_url"),
        jku_allowlist=tuple(jku) if isinstance(jku, list) else (),
    )


PARSERS: dict[str, check.Parser] = {
    "database_url": check.database_url,
    "rules": check.rule_pack,
    "trusted_issuers": lambda raw: Path(check.existing_file(raw)),
    "public_base_url": check.http_url,
    "allowed_fhir_servers": check.url_list,
    "crd_default_version": check.choice(CRD_VERSIONS),
    "cors_origins": check.origin_list,
    "max_body_bytes": check.positive_int,
    "insecure_disable_jwt": check.boolean,
    "clients": check.existing_file,
    "auth_signing_key": check.existing_file,
    "auth_external_issuers": check.existing_file,
    "pas_default_payer": check.text,
    "ig_packages": check.package_list,
    "pas_delivery_seconds": check.seconds,
    "allowed_subscription_endpoints": check.url_prefixes,
    "worker": check.choice(("embedded", "external")),
    "dtr_version": check.choice(DTR_VERSIONS),
    "log_level": lambda raw: check.choice(LOG_LEVELS)(raw.upper()),
    "metrics_rules": check.existing_file,
    "patient_token_issuers": lambda raw: Path(check.existing_file(raw)),
    "export_dir": Path,
}
"""How each field's ``DAVINCI_PA_<FIELD>`` variable is read and checked."""

KNOWN_VARIABLES = frozenset(PREFIX + name.upper() for name in PARSERS)
