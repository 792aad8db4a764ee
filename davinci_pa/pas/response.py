"""Building the PAS Response Bundle (PAS 2.2.1 §Response Bundle, spec-30…spec-37).

The ClaimResponse comes first; the resources it references (patient, insurer, requestor,
coverage, and what those reference in turn) are echoed with the fullUrl and id they had in
the request (spec-33), so every reference resolves. ``item.itemSequence`` echoes
``Claim.item.sequence`` (spec-34) and the decision travels in
``item.adjudication.extension[reviewAction]``; a modified item (``A6``) carries the
authorized detail in ``addItem`` (spec-36, spec-37); reasons go in ``processNote``, each
item naming its note in ``noteNumber``. The request's transmission identifiers, item trace
numbers, service dates and diagnoses are echoed (must-support, conf-6).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from davinci_pa.fhir.json import obj, objects
from davinci_pa.pas import vocabulary as v
from davinci_pa.pas.decisions import ItemDecision
from davinci_pa.pas.request import PasRequest
from davinci_pa.types import Resource

RESPONSE_IDENTIFIER_SYSTEM = "urn:ietf:rfc:3986"


@dataclass(frozen=True, slots=True)
class ResponseContext:
    """What the response states beyond the item decisions."""

    pre_auth_ref: str
    created: datetime
    authorization_days: int
    new_id: Callable[[], str]
    inquiry: bool = False


def response_bundle(
    request: PasRequest, decisions: Sequence[ItemDecision], ctx: ResponseContext
) -> Resource:
    """Return the PAS (or inquiry) Response Bundle for ``decisions`` on ``request``'s Claim."""
    claim_response = _claim_response(request, decisions, ctx)
    entries = [{"fullUrl": f"urn:uuid:{claim_response['id']}", "resource": claim_response}]
    entries.extend(_echoed(request, claim_response))
    profile = v.INQUIRY_RESPONSE_BUNDLE if ctx.inquiry else v.RESPONSE_BUNDLE
    return {
        "resourceType": "Bundle",
        "id": ctx.new_id(),
        "meta": {"profile": [profile]},
        "identifier": {"system": RESPONSE_IDENTIFIER_SYSTEM, "value": f"urn:uuid:{ctx.new_id()}"},
        "type": "collection",
        "timestamp": _instant(ctx.created),
        "entry": entries,
    }


def _claim_response(
    request: PasRequest, decisions: Sequence[ItemDecision], ctx: ResponseContext
) -> Resource:
    claim = request.claim
    final = all(d.action in v.FINAL_ACTIONS for d in decisions)
    granted = [d for d in decisions if d.action in {v.APPROVED, v.MODIFIED, v.PARTIAL}]
    resource: Resource = {
        "resourceType": "ClaimResponse",
        "id": ctx.new_id(),
        "meta": {"profile": [v.CLAIM_INQUIRY_RESPONSE if ctx.inquiry else v.CLAIM_RESPONSE]},
        "identifier": objects(claim.get("identifier"))[:1] or [_own_identifier(ctx)],
        "status": "active",
        "type": claim.get("type") or {"coding": [{"system": _CLAIM_TYPE, "code": "professional"}]},
        "use": "preauthorization",
        "patient": _ref(request, claim.get("patient")),
        "created": _instant(ctx.created),
        "insurer": _ref(request, claim.get("insurer")),
        "requestor": _ref(request, claim.get("provider")),
        "request": {"reference": request.full_url(claim) or f"Claim/{claim.get('id')}"},
        "outcome": "complete" if final else "partial",
    }
    if granted:
        resource["preAuthRef"] = ctx.pre_auth_ref
        resource["preAuthPeriod"] = _period(ctx)
    echoed = [e for e in objects(claim.get("extension")) if e.get("url") == v.EXT_TRANSMISSION_IDS]
    if echoed:
        resource["extension"] = echoed
    items = {int(i["sequence"]): i for i in objects(claim.get("item"))}
    notes = _notes(decisions)
    note_of = {d.sequence: n for d, n in zip(_noted(decisions), notes, strict=True)}
    resource["item"] = [
        _item(d, items.get(d.sequence, {}), claim, note_of.get(d.sequence), ctx) for d in decisions
    ]
    added = [_add_item(d, ctx) for d in decisions if d.action == v.MODIFIED]
    if added:
        resource["addItem"] = added
    if notes:
        resource["processNote"] = notes
    resource["insurance"] = _insurance(request)
    return {k: val for k, val in resource.items() if val not in (None, [], {})}


_CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"


def _own_identifier(ctx: ResponseContext) -> dict[str, str]:
    return {"system": "urn:davinci-pa:pre-auth-ref", "value": ctx.pre_auth_ref}


def _item(
    decision: ItemDecision,
    claim_item: Resource,
    claim: Resource,
    note: Resource | None,
    ctx: ResponseContext,
) -> Resource:
    """One decided item, echoing the request's trace number, service date and diagnoses.

    All three are must-support in ``profile-claimresponse`` (PAS conf-6).
    """
    extensions = [
        e for e in objects(claim_item.get("extension")) if e.get("url") == v.EXT_ITEM_TRACE
    ]
    if decision.action in {v.APPROVED, v.MODIFIED, v.PARTIAL}:
        extensions.append({"url": v.EXT_PREAUTH_ISSUE, "valueDate": ctx.created.date().isoformat()})
        extensions.append({"url": v.EXT_PREAUTH_PERIOD, "valuePeriod": _period(ctx)})
    extensions.extend(_requested_date(claim_item))
    extensions.extend(_diagnoses(claim_item, claim))
    item: Resource = {"itemSequence": decision.sequence}
    if extensions:
        item["extension"] = extensions
    if note is not None:
        item["noteNumber"] = [note["number"]]
    item["adjudication"] = [_adjudication(decision, ctx)]
    return item


def _requested_date(claim_item: Resource) -> list[Resource]:
    if isinstance(claim_item.get("servicedDate"), str):
        return [{"url": v.EXT_REQUESTED_DATE, "valueDateTime": claim_item["servicedDate"]}]
    if isinstance(claim_item.get("servicedPeriod"), dict):
        return [{"url": v.EXT_REQUESTED_DATE, "valuePeriod": dict(claim_item["servicedPeriod"])}]
    return []


def _diagnoses(claim_item: Resource, claim: Resource) -> list[Resource]:
    """The item's diagnoses (``Claim.item.diagnosisSequence``) as communicatedDiagnosis."""
    coded = {
        d.get("sequence"): d["diagnosisCodeableConcept"]
        for d in objects(claim.get("diagnosis"))
        if isinstance(d.get("diagnosisCodeableConcept"), dict)
    }
    return [
        {"url": v.EXT_COMMUNICATED_DIAGNOSIS, "valueCodeableConcept": coded[n]}
        for n in claim_item.get("diagnosisSequence") or []
        if n in coded
    ]


def _adjudication(decision: ItemDecision, ctx: ResponseContext) -> Resource:
    action_code = {
        "url": v.EXT_REVIEW_ACTION_CODE,
        "valueCodeableConcept": {
            "coding": [
                {
                    "system": v.X12_306,
                    "code": decision.action,
                    "display": v.ACTION_DISPLAY[decision.action],
                }
            ]
        },
    }
    parts: list[Resource] = [action_code]
    if decision.action in v.FINAL_ACTIONS and decision.action != v.DENIED:
        parts.append({"url": "number", "valueString": f"{ctx.pre_auth_ref}-{decision.sequence}"})
    if decision.action in v.NEEDS_REASON:
        concept: Resource = {"text": decision.reason}
        if decision.reason_codes:
            concept["coding"] = [{"system": v.X12_886, "code": c} for c in decision.reason_codes]
        parts.append({"url": "reasonCode", "valueCodeableConcept": concept})
    return {
        "extension": [{"url": v.EXT_REVIEW_ACTION, "extension": parts}],
        "category": {"coding": [{"system": v.ADJUDICATION, "code": "submitted"}]},
    }


def _add_item(decision: ItemDecision, ctx: ResponseContext) -> Resource:
    authorized = dict(decision.authorized)
    approved = ItemDecision(decision.sequence, v.APPROVED, decision.reason)
    item: Resource = {
        "itemSequence": [decision.sequence],
        "productOrService": authorized["productOrService"],
    }
    if authorized.get("quantity"):
        item["quantity"] = _with_unit(authorized["quantity"])
    item["adjudication"] = [_adjudication(approved, ctx)]
    return item


def _with_unit(quantity: Resource) -> Resource:
    """PAS ``prof-2``: a quantity has a value and a unit or code.

    A count given without either is a number of units of the requested service.
    """
    if quantity.get("unit") or quantity.get("code"):
        return dict(quantity)
    return {**quantity, "unit": "unit"}


def _noted(decisions: Sequence[ItemDecision]) -> list[ItemDecision]:
    return [d for d in decisions if d.reason]


def _notes(decisions: Sequence[ItemDecision]) -> list[Resource]:
    return [
        {
            "number": n,
            "type": "display",
            "text": f"Item {d.sequence} ({v.ACTION_DISPLAY[d.action]}): {d.reason}",
        }
        for n, d in enumerate(_noted(decisions), start=1)
    ]


def _insurance(request: PasRequest) -> list[Resource]:
    found = []
    for n, insurance in enumerate(objects(request.claim.get("insurance")), start=1):
        coverage = _ref(request, insurance.get("coverage"))
        if coverage:
            found.append(
                {"sequence": n, "focal": bool(insurance.get("focal")), "coverage": coverage}
            )
    return found


def _ref(request: PasRequest, reference: Any) -> dict[str, str] | None:
    target = request.resolve(reference)
    if target is None:
        return None
    return {"reference": request.full_url(target) or str(obj(reference).get("reference"))}


def _period(ctx: ResponseContext) -> dict[str, str]:
    start: date = ctx.created.date()
    return {
        "start": start.isoformat(),
        "end": (start + timedelta(days=ctx.authorization_days)).isoformat(),
    }


def _instant(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _echoed(request: PasRequest, claim_response: Resource) -> list[Resource]:
    """Entries for the closure of resources the ClaimResponse references (never the Claim)."""
    seen: dict[str, Resource] = {}
    pending = [
        ref for _, ref in _refs(claim_response) if ref != claim_response["request"]["reference"]
    ]
    while pending:
        target = request.resolve(pending.pop())
        url = request.full_url(target) if target is not None else None
        if target is None or url is None or url in seen or target is request.claim:
            continue
        seen[url] = target
        pending.extend(ref for _, ref in _refs(target))
    return [{"fullUrl": url, "resource": resource} for url, resource in seen.items()]


def _refs(value: Any, path: str = "") -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(value, Mapping):
        if isinstance(value.get("reference"), str):
            found.append((path, value["reference"]))
        for key, child in value.items():
            if key != "contained":
                found.extend(_refs(child, f"{path}.{key}"))
    elif isinstance(value, list):
        for child in value:
            found.extend(_refs(child, path))
    return found
