"""What differs between the CRD 2.0.1 and 2.2 response shapes (CRD 2.2 §Changes).

Clients name the version they want in ``davinci-crd.requestedVersion``; a client that sends
none predates the version extension, so it gets the 2.0 shape unless configured otherwise.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from davinci_pa.errors import InvalidHookRequest
from davinci_pa.rules.model import Decision, Reason

TEMP_SYSTEM = "http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp"


@dataclass(frozen=True, slots=True)
class CrdVersion:
    """The response conventions of one CRD version."""

    label: str
    card_type_system: str
    reason_system: str
    contact_is_contact_detail: bool
    has_expiry_date: bool
    has_indeterminate: bool


CRD_2_0 = CrdVersion(
    label="2.0",
    card_type_system=TEMP_SYSTEM,
    reason_system=TEMP_SYSTEM,
    contact_is_contact_detail=False,
    has_expiry_date=False,
    has_indeterminate=False,
)
CRD_2_2 = CrdVersion(
    label="2.2",
    card_type_system="http://terminology.hl7.org/CodeSystem/cdshooks-card-type",
    reason_system=TEMP_SYSTEM,
    contact_is_contact_detail=True,
    has_expiry_date=True,
    has_indeterminate=True,
)
SUPPORTED = {v.label: v for v in (CRD_2_0, CRD_2_2)}


def select_version(requested: object, default: CrdVersion) -> CrdVersion:
    """Return the version named by ``davinci-crd.requestedVersion`` (``dev-3``), or the default.

    Raises:
        InvalidHookRequest: a version was requested that this service does not declare.
    """
    if requested is None:
        return default
    label = requested if isinstance(requested, str) else ""
    major_minor = ".".join(label.split(".")[:2])
    if major_minor not in SUPPORTED:
        raise InvalidHookRequest(
            f"extension.davinci-crd.requestedVersion: {requested!r} is not supported; "
            f"this service supports {', '.join(SUPPORTED)}"
        )
    return SUPPORTED[major_minor]


def in_version(decision: Decision, version: CrdVersion) -> Decision:
    """Express a decision made in CRD 2.2 codes in the codes of ``version``.

    CRD 2.0.1 has no ``indeterminate`` (say ``conditional`` and that more is needed), no
    ``patient`` documentation, one ``doc-needed`` (``both`` for clinical and admin) and no
    ``detail-code`` information need (``OTH``, with a reason).
    """
    if version.has_indeterminate:
        return decision

    def swap(code: str | None) -> str | None:
        return "conditional" if code == "indeterminate" else code

    docs = [c for c in decision.doc_needed if c not in {"patient", "indeterminate"}]
    if {"clinical", "admin"} <= set(docs):
        docs = ["both"]
    info = tuple(dict.fromkeys("OTH" if c == "detail-code" else c for c in decision.info_needed))
    covered = swap(decision.covered) or "conditional"
    pa_needed = swap(decision.pa_needed)
    if "conditional" in {covered, pa_needed, *docs} and not info:
        info = ("OTH",)
    reasons = decision.reasons
    if "OTH" in info and not reasons:
        reasons = (Reason("More detail about the order is needed to decide."),)
    return dataclasses.replace(
        decision,
        covered=covered,
        pa_needed=pa_needed,
        doc_needed=tuple(docs[:1]),
        info_needed=info,
        reasons=reasons,
    )
