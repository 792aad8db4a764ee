"""A stored prior authorization as a PDex Prior Authorization (PDex 2.1.0 §Prior Authorization).

The ExplanationOfBenefit (``use`` = ``preauthorization``, profile ``pdex-priorauthorization``)
is made from the current state on every read, so it changes with every decision, extension or
cancellation the moment it is stored. What it carries:

* ``patient`` = ``Patient/{member id}`` (the Coverage identifier typed ``MB``, else
  ``subscriberId``, of the PAS request); insurer, provider and coverage by identifier;
* per item: the trace number, the ordered code, quantity and dates of the Claim item, and one
  adjudication of category ``allowedunits`` (the units authorized: all requested ones when
  certified in total, the granted ones when modified, 0 while pended or when denied) carrying
  the PDex ``reviewAction`` (X12 306 action, the authorization number, X12 886 reasons);
* the preAuthRef, its period, the item issue date and period, and the reasons as notes.

PDex binds ``item.productOrService`` to CPT, HCPCS (as ``https://www.cms.gov/...``) and HIPPS
and ``item.category`` to X12 service types (``https://x12.org/codes/service-type-codes``); PAS
writes HCPCS with ``http://`` and the service types as X12 code list 1365, so both are written
with the PDex system URIs here. Items ordered with other codes say ``not-applicable``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from davinci_pa.fhir.codes import CPT, HCPCS
from davinci_pa.fhir.json import obj, objects
from davinci_pa.pas import vocabulary as v
from davinci_pa.pas.request import PasRequest
from davinci_pa.rules.model import Payer
from davinci_pa.store.pa_access import Exchange
from davinci_pa.store.pas_records import Authorization, ItemState
from davinci_pa.types import Resource

PDEX = "http://hl7.org/fhir/us/davinci-pdex"
PRIOR_AUTHORIZATION = PDEX + "/StructureDefinition/pdex-priorauthorization"
EXT_LEVEL_OF_SERVICE = PDEX + "/StructureDefinition/extension-levelOfServiceCode"
EXT_REVIEW_ACTION = PDEX + "/StructureDefinition/extension-reviewAction"
EXT_REVIEW_ACTION_CODE = PDEX + "/StructureDefinition/extension-reviewActionCode"
ADJUDICATION_DISCRIMINATOR = PDEX + "/CodeSystem/PDexAdjudicationDiscriminator"
PDEX_HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
HIPPS = "https://www.cms.gov/Medicare/Medicare-Fee-for-Service-Payment/ProspMedicareFeeSvcPmtGen/HIPPSCodes"
SERVICE_TYPES = "https://x12.org/codes/service-type-codes"
X12_1365 = "https://codesystem.x12.org/005010/1365"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
PRE_AUTH_REF = "https://davinci-pa.dev/fhir/sid/pre-auth-ref"
"""The system of our ``preAuthRef`` values in ``ExplanationOfBenefit.identifier``."""

_ORDER_CODES = {CPT: CPT, HCPCS: PDEX_HCPCS, PDEX_HCPCS: PDEX_HCPCS, HIPPS: HIPPS}
_COPIED_ITEM_EXTENSIONS = (v.EXT_ITEM_TRACE, v.EXT_AUTHORIZATION_NUMBER)
_ADMINISTRATIVE = (v.EXT_PREAUTH_ISSUE, v.EXT_PREAUTH_PERIOD)


def explanation_of_benefit(exchange: Exchange, payer: Payer | None) -> Resource:
    """The PDex Prior Authorization of one stored authorization (``payer``: its plan)."""
    auth = exchange.authorization
    request = PasRequest.stored(exchange.request)
    claim = request.claim
    claim_response = obj(objects(exchange.response.get("entry"))[0].get("resource"))
    responses = {i.get("itemSequence"): i for i in objects(claim_response.get("item"))}
    notes: list[dict[str, Any]] = []
    eob: dict[str, Any] = {
        "resourceType": "ExplanationOfBenefit",
        "id": auth.pa_id,
        "meta": {
            "lastUpdated": _instant(auth.updated_at or auth.status_changed_at),
            "profile": [PRIOR_AUTHORIZATION],
        },
        "extension": _level_of_service(claim),
        "identifier": [
            {"system": PRE_AUTH_REF, "value": auth.pre_auth_ref},
            *_claim_identifiers(claim),
        ],
        "status": "cancelled" if auth.status == "cancelled" else "active",
        "type": claim.get("type") or _claim_type(),
        "use": "preauthorization",
        "patient": {"reference": f"Patient/{auth.member_id}"}
        if auth.member_id
        else {"display": "member not identified in the request"},
        "created": _instant(auth.created_at),
        "insurer": _insurer(payer, request),
        "provider": _party(request, claim.get("provider")),
        "outcome": _outcome(auth),
        "preAuthRef": [auth.pre_auth_ref],
        "insurance": [{"focal": True, "coverage": _coverage(request)}],
        "item": [
            _item(request, state, responses.get(state.sequence), notes) for state in exchange.items
        ],
    }
    for key in ("billablePeriod", "priority"):
        if key in claim:
            eob[key] = claim[key]
    period = _pre_auth_period(claim_response)
    if period:
        eob["preAuthRefPeriod"] = [period]
    if notes:
        eob["processNote"] = notes
    return {k: val for k, val in eob.items() if val not in ([], None)}


def _item(
    request: PasRequest, state: ItemState, answer: Resource | None, notes: list[dict[str, Any]]
) -> Resource:
    claim_item = next(
        (i for i in objects(request.claim.get("item")) if i.get("sequence") == state.sequence),
        obj(state.item),
    )
    extensions = [
        e for e in objects(claim_item.get("extension")) if e.get("url") in _COPIED_ITEM_EXTENSIONS
    ]
    extensions += [
        e for e in objects(obj(answer).get("extension")) if e.get("url") in _ADMINISTRATIVE
    ]
    item: dict[str, Any] = {
        "extension": extensions,
        "sequence": state.sequence,
        "productOrService": _ordered_code(request, claim_item),
        "adjudication": [_adjudication(state, claim_item)],
    }
    category = _service_type(claim_item.get("category"))
    if category:
        item["category"] = category
    for key in ("servicedDate", "servicedPeriod", "quantity"):
        if key in claim_item:
            item[key] = claim_item[key]
    reason = state.decision.get("reason")
    if isinstance(reason, str) and reason.strip():
        notes.append({"number": len(notes) + 1, "type": "display", "text": reason.strip()})
        item["noteNumber"] = [len(notes)]
    return {k: val for k, val in item.items() if val != []}


def _adjudication(state: ItemState, claim_item: Resource) -> Resource:
    """One ``allowedunits`` adjudication with the PDex review action."""
    action = [
        {
            "url": EXT_REVIEW_ACTION_CODE,
            "valueCodeableConcept": {
                "coding": [
                    {
                        "system": v.X12_306,
                        "code": state.action,
                        "display": v.ACTION_DISPLAY.get(state.action, state.action),
                    }
                ]
            },
        }
    ]
    for code in state.decision.get("reasonCodes") or ():
        action.append(
            {
                "url": "reasonCode",
                "valueCodeableConcept": {"coding": [{"system": v.X12_886, "code": code}]},
            }
        )
    return {
        "extension": [{"url": EXT_REVIEW_ACTION, "extension": action}],
        "category": {"coding": [{"system": ADJUDICATION_DISCRIMINATOR, "code": "allowedunits"}]},
        "value": _allowed_units(state, claim_item),
    }


def _allowed_units(state: ItemState, claim_item: Resource) -> float:
    requested = obj(claim_item.get("quantity")).get("value", 1)
    if state.action == v.APPROVED:
        return float(requested)
    if state.action in {v.MODIFIED, v.PARTIAL}:
        granted = obj(obj(state.decision.get("authorized")).get("quantity")).get("value")
        return float(granted if isinstance(granted, int | float) else requested)
    return 0.0


def _ordered_code(request: PasRequest, claim_item: Resource) -> Resource:
    """The CPT/HCPCS/HIPPS code ordered (the requested service, else the item's own)."""
    candidates = []
    for ext in objects(claim_item.get("extension")):
        if ext.get("url") == v.EXT_REQUESTED_SERVICE:
            ordered = request.resolve(ext.get("valueReference")) or {}
            candidates.append(ordered.get("code") or ordered.get("codeCodeableConcept"))
    candidates.append(claim_item.get("productOrService"))
    for concept in candidates:
        for coding in objects(obj(concept).get("coding")):
            system = _ORDER_CODES.get(str(coding.get("system")))
            if system and isinstance(coding.get("code"), str):
                return {"coding": [{**coding, "system": system}]}
    text = obj(claim_item.get("productOrService")).get("text")
    absent: dict[str, Any] = {"coding": [{"system": DATA_ABSENT, "code": "not-applicable"}]}
    return absent | ({"text": text} if isinstance(text, str) else {})


def _service_type(concept: Any) -> Resource | None:
    codings = [
        {**c, "system": SERVICE_TYPES}
        for c in objects(obj(concept).get("coding"))
        if c.get("system") in {X12_1365, SERVICE_TYPES}
    ]
    return {"coding": codings} if codings else None


def _level_of_service(claim: Resource) -> list[Resource]:
    for ext in objects(claim.get("extension")):
        if ext.get("url") == v.EXT_LEVEL_OF_SERVICE and "valueCodeableConcept" in ext:
            return [
                {"url": EXT_LEVEL_OF_SERVICE, "valueCodeableConcept": ext["valueCodeableConcept"]}
            ]
    return []


def _claim_identifiers(claim: Resource) -> list[Resource]:
    return [
        {k: i[k] for k in ("system", "value") if k in i}
        for i in objects(claim.get("identifier"))
        if isinstance(i.get("value"), str)
    ]


def _insurer(payer: Payer | None, request: PasRequest) -> Resource:
    if payer is None:
        return _party(request, request.claim.get("insurer"))
    found: dict[str, Any] = {"display": payer.name}
    for system, value in sorted(payer.identifiers):
        found["identifier"] = {"system": system, "value": value}
        break
    return found


def _party(request: PasRequest, reference: Any) -> Resource:
    """A logical reference: the first identifier of the resource and its name."""
    target = request.resolve(reference) or {}
    found: dict[str, Any] = {}
    identifiers = [i for i in objects(target.get("identifier")) if isinstance(i.get("value"), str)]
    if identifiers:
        found["identifier"] = {
            k: identifiers[0][k] for k in ("system", "value") if k in identifiers[0]
        }
    name = target.get("name")
    if isinstance(name, str):
        found["display"] = name
    return found or {"display": str(obj(reference).get("display") or "not identified")}


def _coverage(request: PasRequest) -> Resource:
    for insurance in objects(request.claim.get("insurance")):
        coverage = request.resolve(insurance.get("coverage")) or {}
        for ident in objects(coverage.get("identifier")):
            if isinstance(ident.get("value"), str):
                return {
                    "identifier": {k: ident[k] for k in ("type", "system", "value") if k in ident}
                }
        if isinstance(coverage.get("subscriberId"), str):
            return {"display": f"subscriber {coverage['subscriberId']}"}
    return {"display": "coverage not identified in the request"}


def _outcome(auth: Authorization) -> str:
    return "queued" if auth.status == "pended" else "complete"


def _pre_auth_period(claim_response: Resource) -> Resource | None:
    if isinstance(claim_response.get("preAuthPeriod"), dict):
        return dict(claim_response["preAuthPeriod"])
    for item in objects(claim_response.get("item")):
        for ext in objects(item.get("extension")):
            if ext.get("url") == v.EXT_PREAUTH_PERIOD and isinstance(ext.get("valuePeriod"), dict):
                return dict(ext["valuePeriod"])
    return None


def _claim_type() -> Resource:
    return {
        "coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}
        ]
    }


def _instant(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
