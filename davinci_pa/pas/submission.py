"""Deciding a PAS submission: new requests, updates and cancellations (PAS §Updates).

A Claim with ``related`` updates the authorization its related Claim created (spec-65):
cancelled items (``infoCancelled`` or item certification type ``3``) become ``C``; items
without ``infoChanged`` keep a final decision already given; the others are decided again.
A root certification type ``3`` cancels every item. An authorization whose items were all
denied cannot be updated (spec-64). Every submitted sequence comes back (spec-46).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from davinci_pa.errors import RequestError
from davinci_pa.fhir.codes import codings
from davinci_pa.fhir.json import obj, objects
from davinci_pa.pas import vocabulary as v
from davinci_pa.pas.decisions import ItemDecider, ItemDecision
from davinci_pa.pas.request import PasRequest
from davinci_pa.rules.model import Payer
from davinci_pa.types import Resource

EXT_INFO_CHANGED = v.SD + "extension-infoChanged"


class UpdateNotAllowed(RequestError):
    """An update of a denied authorization (PAS spec-64) or of an unknown one."""

    code = "pas-update-not-allowed"
    http_status = 422
    issue_type = "business-rule"


def related_identifier(request: PasRequest) -> str | None:
    """The identifier (``system|value``) of the prior Claim an update points at."""
    for related in objects(request.claim.get("related")):
        claim = request.resolve(related.get("claim"))
        ident = objects((claim or {}).get("identifier")) or objects(
            [obj(related.get("claim")).get("identifier")]
        )
        if ident:
            return identifier_key(ident[0])
    return None


def identifier_key(identifier: Mapping[str, object]) -> str:
    """``system|value`` of an Identifier."""
    return f"{identifier.get('system', '')}|{identifier.get('value', '')}"


def cancels_all(claim: Resource) -> bool:
    """Root ``certificationType`` ``3``: cancel the whole authorization."""
    return _certification(claim) == v.CANCEL


def decide_items(
    request: PasRequest,
    decider: ItemDecider,
    payer: Payer,
    now: datetime,
    previous: Mapping[int, ItemDecision],
) -> list[ItemDecision]:
    """Decide every item of the submission, keeping what an update does not change."""
    if previous and all(d.action == v.DENIED for d in previous.values()):
        raise UpdateNotAllowed("a denied prior authorization cannot be updated (PAS spec-64)")
    if cancels_all(request.claim):
        return [_cancelled(seq) for seq in sorted(previous)]
    decisions = {}
    for item in objects(request.claim.get("item")):
        seq = int(item["sequence"])
        prior = previous.get(seq)
        if _item_cancelled(item):
            decisions[seq] = _cancelled(seq)
        elif prior is not None and prior.action in v.FINAL_ACTIONS and not _changed(item):
            decisions[seq] = prior
        else:
            decisions[seq] = decider.decide(request, item, payer, now)
    for seq, prior in previous.items():
        decisions.setdefault(seq, prior)
    return [decisions[seq] for seq in sorted(decisions)]


def _cancelled(sequence: int) -> ItemDecision:
    return ItemDecision(sequence, v.CANCELLED, None, (), "cancelled by the submitter")


def _item_cancelled(item: Resource) -> bool:
    cancelled = any(
        e.get("url") == v.EXT_INFO_CANCELLED and e.get("valueBoolean") is True
        for e in objects(item.get("modifierExtension"))
    )
    return cancelled or _certification(item) == v.CANCEL


def _changed(item: Resource) -> bool:
    return any(e.get("url") == EXT_INFO_CHANGED for e in objects(item.get("extension")))


def _certification(element: Resource) -> str | None:
    for ext in objects(element.get("extension")):
        if ext.get("url") == v.EXT_CERTIFICATION_TYPE:
            found = [c.code for c in codings(ext.get("valueCodeableConcept"))]
            return found[0] if found else None
    return None


def member_id(request: PasRequest) -> str | None:
    """The member id (Coverage identifier typed ``MB``, else ``subscriberId``)."""
    for insurance in objects(request.claim.get("insurance")):
        coverage = request.resolve(insurance.get("coverage")) or {}
        for ident in objects(coverage.get("identifier")):
            if any(c.code == "MB" for c in codings(ident.get("type"))):
                return str(ident.get("value"))
        if isinstance(coverage.get("subscriberId"), str):
            return str(coverage["subscriberId"])
    return None


def provider_ids(request: PasRequest) -> list[str]:
    """Identifiers of the requesting provider and care-team members (NPIs first)."""
    refs = [request.claim.get("provider")]
    refs.extend(team.get("provider") for team in objects(request.claim.get("careTeam")))
    found: list[str] = []
    for ref in refs:
        target = request.resolve(ref) or {}
        if target.get("resourceType") == "PractitionerRole":
            target = request.resolve(target.get("practitioner")) or target
        for ident in objects(target.get("identifier")):
            key = identifier_key(ident)
            if key not in found:
                found.append(key)
    return found


def sender_identifier(request: PasRequest) -> str | None:
    """The submitting organization's identifier (the Subscription ``orgIdentifier``)."""
    provider = request.resolve(request.claim.get("provider")) or {}
    if provider.get("resourceType") == "PractitionerRole":
        provider = request.resolve(provider.get("organization")) or provider
    values = [str(i.get("value")) for i in objects(provider.get("identifier")) if i.get("value")]
    return values[0] if values else None


def previous_decisions(
    items: Sequence[tuple[int, Mapping[str, object]]],
) -> dict[int, ItemDecision]:
    """Rebuild stored decisions."""
    return {seq: ItemDecision.from_json(seq, data) for seq, data in items}
