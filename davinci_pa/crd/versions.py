"""What differs between the CRD 2.0.1 and 2.2 response shapes (CRD 2.2 §Changes).

Clients name the version they want in ``davinci-crd.requestedVersion``; a client that sends
none predates the version extension, so it gets the 2.0 shape unless configured otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from davinci_pa.errors import InvalidHookRequest

TEMP_SYSTEM = "http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp"


@dataclass(frozen=True, slots=True)
class CrdVersion:
    """The response conventions of one CRD version."""

    label: str
    card_type_system: str
    reason_system: str
    multiple_doc_needed: bool
    contact_is_contact_detail: bool
    has_expiry_date: bool
    has_indeterminate: bool


CRD_2_0 = CrdVersion(
    label="2.0",
    card_type_system=TEMP_SYSTEM,
    reason_system=TEMP_SYSTEM,
    multiple_doc_needed=False,
    contact_is_contact_detail=False,
    has_expiry_date=False,
    has_indeterminate=False,
)
CRD_2_2 = CrdVersion(
    label="2.2",
    card_type_system="http://terminology.hl7.org/CodeSystem/cdshooks-card-type",
    reason_system=TEMP_SYSTEM,
    multiple_doc_needed=True,
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
