"""PAS service options (CMS-0057-F deadlines and retention, PAS 2.2.1 behaviour)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class PasOptions:
    """How the PAS service decides, times and keeps prior authorizations.

    Attributes:
        default_payer: payer id used when the Claim's insurer matches no payer of the rule
            pack (a single-payer endpoint); ``None`` refuses such Claims with 400.
        urgent_due: CMS-0057-F expedited decision time (72 hours).
        standard_due: CMS-0057-F standard decision time (7 calendar days).
        extended_due: the standard time with the allowed extension (14 days).
        authorization_days: validity of an approval (``preAuthPeriod``).
        retain_after_change: every authorization stays queryable this long after its last
            status change.
        retain_pended_after_service: PAS spec-73, pended ones this long after service.
        x12_reason_codes: topic id (or ``*``) → X12 886 review decision reason code for
            denials; X12 code lists are licensed, so each payer supplies its own mapping.
        ignored_validation_systems: code systems whose binding errors are not reported
            (X12 and NUBC content is licensed; the conformance kit suppresses them too).
        profile_packages: IG packages (``.tgz`` files or folders, e.g. the PAS 2.2.1
            package) whose profiles every ``$submit`` Bundle is validated against; empty
            checks R4 structure and the PAS Bundle rules only.
        subscription_endpoints: URL prefixes a Subscription endpoint may use without
            https and the public-address check (``http://127.0.0.1:9000/`` for a demo);
            see :mod:`davinci_pa.fhir.egress`.
    """

    default_payer: str | None = None
    urgent_due: timedelta = timedelta(hours=72)
    standard_due: timedelta = timedelta(days=7)
    extended_due: timedelta = timedelta(days=14)
    authorization_days: int = 90
    retain_after_change: timedelta = timedelta(days=366)
    retain_pended_after_service: timedelta = timedelta(days=184)
    x12_reason_codes: Mapping[str, str] = field(default_factory=dict)
    ignored_validation_systems: tuple[str, ...] = (
        "x12.org",
        "nubc.org",
        "davinci-pas/CodeSystem/PASTempCodes",
    )
    profile_packages: tuple[str, ...] = ()
    subscription_endpoints: tuple[str, ...] = ()
