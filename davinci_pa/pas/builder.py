"""Building a PAS request Bundle on the provider side (PAS 2.2.1 §Request Bundle; 2.0.1 too).

:func:`build_request_bundle` turns the orders, Coverage, Patient, insurer, requester and the
DTR QuestionnaireResponses into a ``collection`` Bundle with the Claim first (spec-12), every
resource once (spec-14) under a ``urn:uuid`` or EHR ``fullUrl`` (spec-16), and every reference
resolving inside the Bundle (spec-13). Each order becomes one Claim item pointing at it
through ``extension-requestedService``; each QuestionnaireResponse becomes an
``AdditionalInformation`` supportingInfo entry (spec-18…spec-20). In 2.2.1 that entry carries
``extension-documentInformation`` (the X12 PWK attachment segment) whose ``controlNumber`` is
the CRD ``coverage-assertion-id`` (CRD ``resp-31``: claims carry the assertion id as an
attachment); orders keep their CRD ``coverage-information`` extension (PAS ``Request.fsh``).
The result is checked with :class:`~davinci_pa.pas.request.PasRequest` before it is returned.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from davinci_pa.errors import RequestError
from davinci_pa.pas import vocabulary as v
from davinci_pa.pas.builder_items import (
    ItemCodes,
    assertion_ids,
    attachment,
    canonical_order,
    claim_item,
    profile_for,
)
from davinci_pa.pas.request import InvalidPasBundle, PasRequest
from davinci_pa.types import Resource

VERSIONS = ("2.2.1", "2.0.1")
CLAIM_PROFILE = v.SD + "profile-claim"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"


@dataclass(frozen=True, slots=True)
class ClaimOptions:
    """What the Claim states beyond the resources it is built from.

    Attributes:
        trace_number: ``Claim.identifier.value``, the X12 TRN02 patient event trace number
            the payer echoes and ``$inquire`` matches on.
        trace_system: ``Claim.identifier.system`` (PAS: ``urn:trnorg:<TRN03>``).
        version: ``2.2.1`` (default) or ``2.0.1``: which PAS profiles the Bundle targets.
        urgent: expedited review (X12 level of service ``U``, ``priority`` ``stat``).
        claim_type: ``professional``, ``institutional`` or ``oral``.
        codes: the X12/CMS codes every item needs (see :class:`ItemCodes`).
        base_url: the EHR's FHIR base; entries then get ``{base_url}/{type}/{id}`` fullUrls
            and keep their relative references. ``None`` uses ``urn:uuid`` fullUrls and
            rewrites references to them.
    """

    trace_number: str
    trace_system: str = "urn:trnorg:davinci-pa"
    version: str = "2.2.1"
    urgent: bool = False
    claim_type: str = "professional"
    codes: ItemCodes = ItemCodes()
    base_url: str | None = None


@dataclass(frozen=True, slots=True)
class ClaimParties:
    """The resources a PAS Claim is about; copied, never modified in place.

    Attributes:
        patient: the member (``profile-subscriber`` when the Coverage names them as its
            subscriber, else ``profile-beneficiary``).
        coverage: the focal Coverage.
        insurer: the payer Organization (``Claim.insurer``).
        requester: the requesting Organization or PractitionerRole (``Claim.provider``).
        orders: ServiceRequest, DeviceRequest, MedicationRequest or NutritionOrder resources,
            one Claim item each, in order.
        questionnaire_responses: the DTR QuestionnaireResponses to attach.
        supporting: every other resource the others reference (Practitioner, Location, ...).
    """

    patient: Resource
    coverage: Resource
    insurer: Resource
    requester: Resource
    orders: Sequence[Resource]
    questionnaire_responses: Sequence[Resource] = ()
    supporting: Sequence[Resource] = ()


def build_request_bundle(
    parties: ClaimParties,
    options: ClaimOptions,
    *,
    created: datetime,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> Resource:
    """Return the PAS request Bundle for ``parties``.

    Raises:
        RequestError: an unknown version, no orders, or an order type PAS does not take.
        InvalidPasBundle: a reference that resolves to nothing in the Bundle (spec-13).
    """
    if options.version not in VERSIONS:
        raise RequestError(f"PAS version must be one of {', '.join(VERSIONS)}")
    if not parties.orders:
        raise RequestError("a PAS Claim needs at least one order (Claim.item 1..*)")
    entries = _Entries(options, new_id)
    parts = (
        entries.add(parties.patient, _patient_profile(parties)),
        entries.add(parties.coverage, profile_for("Coverage")),
        entries.add(parties.insurer, v.SD + "profile-insurer"),
        entries.add(parties.requester, _requester_profile(parties.requester)),
    )
    orders = [
        entries.add(canonical_order(o), profile_for(str(o.get("resourceType"))))
        for o in parties.orders
    ]
    responses = [entries.add(qr, None) for qr in parties.questionnaire_responses]
    for extra in parties.supporting:
        entries.add(extra, profile_for(str(extra.get("resourceType"))))
    claim = _claim(options, created, new_id(), [entries.reference(url) for url, _ in parts])
    claim["item"] = [
        claim_item(n, entries.reference(url), order, options.codes)
        for n, (url, order) in enumerate(orders, start=1)
    ]
    ids = assertion_ids(order for _, order in orders)
    info = [
        attachment(n, entries.reference(url), qr, ids, options.codes, options.version)
        for n, (url, qr) in enumerate(responses, start=1)
    ]
    if info:
        claim["supportingInfo"] = info
    bundle = entries.bundle(claim, new_id(), created)
    PasRequest.parse(bundle)
    return bundle


class _Entries:
    """The Bundle's entries, their fullUrls, and the reference rewriting between them."""

    def __init__(self, options: ClaimOptions, new_id: Callable[[], str]) -> None:
        self._options = options
        self._new_id = new_id
        self._entries: list[tuple[str, Resource]] = []
        self._urls: dict[str, str] = {}

    def add(self, resource: Resource, profile: str | None) -> tuple[str, Resource]:
        """Copy ``resource`` in (once), stamping ``profile``; return its fullUrl and copy."""
        rtype = str(resource.get("resourceType", ""))
        key = f"{rtype}/{resource.get('id')}"
        if resource.get("id") and key in self._urls:
            url = self._urls[key]
            return url, next(r for u, r in self._entries if u == url)
        copied = copy.deepcopy(resource)
        copied.setdefault("id", self._new_id())
        if profile is not None:
            copied["meta"] = {**copied.get("meta", {}), "profile": [profile]}
        base = self._options.base_url
        url = f"{base.rstrip('/')}/{rtype}/{copied['id']}" if base else f"urn:uuid:{self._new_id()}"
        self._urls[f"{rtype}/{copied['id']}"] = url
        self._entries.append((url, copied))
        return url, copied

    def reference(self, url: str) -> dict[str, str]:
        """A Reference to the entry at ``url`` as it is written in this Bundle."""
        if self._options.base_url is None:
            return {"reference": url}
        return {"reference": "/".join(url.split("/")[-2:])}

    def bundle(self, claim: Resource, bundle_id: str, created: datetime) -> Resource:
        """The finished Bundle, Claim first, with references pointing at entries."""
        claim_url = self._claim_url(claim)
        entries: list[Resource] = [{"fullUrl": claim_url, "resource": claim}]
        entries.extend({"fullUrl": url, "resource": r} for url, r in self._entries)
        problems: list[str] = []
        for entry in entries:
            self._rewrite(entry["resource"], str(entry["resource"]["resourceType"]), problems)
        if problems:
            raise InvalidPasBundle(
                "a referenced resource is missing from the PAS Bundle (spec-13)",
                details={"problems": problems},
            )
        return {
            "resourceType": "Bundle",
            "id": bundle_id,
            "meta": {"profile": [v.REQUEST_BUNDLE]},
            "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{bundle_id}"},
            "type": "collection",
            "timestamp": _instant(created),
            "entry": entries,
        }

    def _claim_url(self, claim: Resource) -> str:
        base = self._options.base_url
        return f"{base.rstrip('/')}/Claim/{claim['id']}" if base else f"urn:uuid:{claim['id']}"

    def _rewrite(self, value: Any, path: str, problems: list[str]) -> None:
        if isinstance(value, list):
            for n, child in enumerate(value):
                self._rewrite(child, f"{path}[{n}]", problems)
        elif isinstance(value, dict):
            ref = value.get("reference")
            if isinstance(ref, str) and not ref.startswith("#"):
                self._resolve(value, ref, path, problems)
            for key, child in value.items():
                if key != "contained":
                    self._rewrite(child, f"{path}.{key}", problems)

    def _resolve(self, value: dict[str, Any], ref: str, path: str, problems: list[str]) -> None:
        if ref in {url for url, _ in self._entries}:
            return
        relative = "/".join(ref.split("/")[-2:])
        target = self._urls.get(relative)
        if target is None:
            problems.append(f"{path}: '{ref}' is not in the Bundle")
        elif self._options.base_url is None:
            value["reference"] = target
        else:
            value["reference"] = relative


def _claim(
    options: ClaimOptions, created: datetime, claim_id: str, refs: list[dict[str, str]]
) -> Resource:
    patient, coverage, insurer, requester = refs
    extensions = [_coded(v.EXT_CERTIFICATION_TYPE, v.X12_1322, options.codes.certification_type)]
    if options.urgent:
        extensions.insert(0, _coded(v.EXT_LEVEL_OF_SERVICE, v.X12_1338, "U"))
    return {
        "resourceType": "Claim",
        "id": claim_id,
        "meta": {"profile": [CLAIM_PROFILE]},
        "extension": extensions,
        "identifier": [{"system": options.trace_system, "value": options.trace_number}],
        "status": "active",
        "type": {"coding": [{"system": CLAIM_TYPE, "code": options.claim_type}]},
        "use": "preauthorization",
        "patient": patient,
        "created": _instant(created),
        "insurer": insurer,
        "provider": requester,
        "priority": {
            "coding": [
                {"system": v.PROCESS_PRIORITY, "code": "stat" if options.urgent else "normal"}
            ]
        },
        "insurance": [{"sequence": 1, "focal": True, "coverage": coverage}],
    }


def _coded(url: str, system: str, code: str) -> Resource:
    return {"url": url, "valueCodeableConcept": {"coding": [{"system": system, "code": code}]}}


def _patient_profile(parties: ClaimParties) -> str:
    subscriber = (parties.coverage.get("subscriber") or {}).get("reference")
    is_subscriber = subscriber == f"Patient/{parties.patient.get('id')}"
    return v.SD + ("profile-subscriber" if is_subscriber else "profile-beneficiary")


def _requester_profile(requester: Resource) -> str:
    if requester.get("resourceType") == "PractitionerRole":
        return v.SD + "profile-practitionerrole"
    if requester.get("resourceType") != "Organization":
        raise RequestError("the requester must be an Organization or a PractitionerRole")
    return v.SD + "profile-requestor"


def _instant(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


__all__ = ["VERSIONS", "ClaimOptions", "ClaimParties", "ItemCodes", "build_request_bundle"]
