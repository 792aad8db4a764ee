"""``PasService``: the framework-free PAS operations a Payer exposes (PAS 2.2.1).

``submit`` ($submit), ``inquire`` ($inquire), ``decide`` (a reviewer's later decision,
through the library or the admin endpoint), ``extend`` (the 14-day extension) and the
Subscription operations in :mod:`davinci_pa.pas.notify`. Each call writes one state change.

Duplicates and resubmissions (a local design choice; PAS defines no idempotency rule,
§4.8 of the requirements digest; docs/pas.md §Duplicates and resubmissions): a Claim
identifier names one authorization per submitter. A Bundle whose content equals an earlier
one of the same submitter (``Bundle.id``, ``Bundle.timestamp`` and ``Bundle.meta`` aside)
gets the stored answer and creates nothing. Any other Bundle from that submitter under the
same Claim identifier without ``Claim.related`` is a resubmission: it replaces that
authorization's request (its items are decided afresh, a pended one starts a new clock).
With ``Claim.related`` it is an update (PAS §Updates). Who may act on whose authorization:
:mod:`davinci_pa.pas.parties`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from davinci_pa.errors import (
    ForbiddenError,
    PayerNotServed,
    RequestError,
    ResourceNotFound,
    ReviewConflict,
)
from davinci_pa.fhir.egress import EgressPolicy
from davinci_pa.fhir.json import objects
from davinci_pa.fhir.validation.structural import validate_structure
from davinci_pa.pas import deadlines
from davinci_pa.pas import vocabulary as v
from davinci_pa.pas.decisions import ItemDecider, ItemDecision, is_urgent, match_payer
from davinci_pa.pas.notify import Notifications
from davinci_pa.pas.options import PasOptions
from davinci_pa.pas.parties import (
    ClientDirectory,
    NoOrganizations,
    Submitter,
    lookup,
    may_act_on,
    require_may_act_on,
    require_submission_rights,
)
from davinci_pa.pas.request import InvalidPasBundle, PasRequest
from davinci_pa.pas.response import ResponseContext, response_bundle
from davinci_pa.pas.submission import (
    decide_items,
    identifier_key,
    member_id,
    previous_decisions,
    provider_ids,
    related_identifier,
    sender_identifier,
)
from davinci_pa.rules.evaluation import RuleBook
from davinci_pa.store import Database
from davinci_pa.store.clock import utc_now
from davinci_pa.store.pas_history import HistoryEvent
from davinci_pa.store.pas_records import (
    Authorization,
    DuplicateSubmission,
    ItemState,
    PasRecords,
    ReviewEntry,
    StateChange,
    Submission,
)
from davinci_pa.types import Resource

_T = TypeVar("_T")


class BundleValidator(Protocol):
    """Profile validation (``davinci_pa.fhir.validation.Validator`` fits).

    The service checks R4 structure itself, so build the validator with ``structural=False``.
    """

    def validate(self, resource: dict[str, Any]) -> list[Any]:
        """Return the issues found (objects with severity, path, message)."""
        ...


class PasService:
    """PAS operations over a rule book and a database."""

    def __init__(
        self,
        *,
        rules: RuleBook,
        database: Database,
        options: PasOptions | None = None,
        validator: BundleValidator | None = None,
        directory: ClientDirectory | None = None,
        clock: Callable[[], datetime] = utc_now,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.options = options or PasOptions()
        self.rules = rules
        self.records = PasRecords(database, clock=clock)
        self.directory: ClientDirectory = directory or NoOrganizations()
        self.notifications = Notifications(
            database,
            parties=self._submitter,
            egress=EgressPolicy(self.options.subscription_endpoints),
            clock=clock,
            new_id=new_id,
        )
        self._decider = ItemDecider(rules, reason_codes=self.options.x12_reason_codes)
        self._validator = validator or _profile_validator(self.options)
        self._clock = clock
        self._new_id = new_id

    # -- $submit -------------------------------------------------------------------------

    def submit(self, body: Any, *, submitter: str | None = None) -> Resource:
        """Answer ``Claim/$submit`` with the PAS Response Bundle.

        ``submitter`` is the calling system's client id (``None``: the payer's own code);
        the ownership rule of :mod:`davinci_pa.pas.parties` applies to it (403 otherwise).
        """
        request = PasRequest.parse(body)
        self._validate(request.bundle)
        key = _dedupe_key(request.bundle, submitter)
        stored = self.records.answer_for(key)
        if stored is not None:
            return stored
        party = self._submitter(submitter)
        require_submission_rights(party, _parties(request))
        now = self._clock()
        payer = match_payer(request, self.rules.pack.payers, self.options.default_payer)
        if payer is None:
            raise PayerNotServed("the Claim's insurer is not a payer this endpoint serves")
        prior, resubmitted = self._prior(request, party)
        previous = previous_decisions(
            [(i.sequence, i.decision) for i in self.records.items(prior.pa_id)]
            if prior and not resubmitted
            else []
        )
        decisions = decide_items(request, self._decider, payer, now, previous)
        auth = self._authorization(request, prior, decisions, submitter, now, payer.id)
        response = self._response(request, decisions, auth, now)
        kept = [] if resubmitted else self.records.items(auth.pa_id)
        change = StateChange(
            authorization=auth,
            response=response,
            items=_item_states(request, decisions, kept),
            review=self._review(auth, decisions, now, fresh=resubmitted),
            submission=Submission(self._new_id(), key, request.bundle, submitter),
            replace_items=resubmitted,
            history=[_submitted(auth, decisions, prior, resubmitted, submitter, now)],
        )
        try:
            self.records.save(change)
        except DuplicateSubmission:
            answer = self.records.answer_for(key)
            if answer is None:  # a different Bundle under the same identifier won the race
                raise
            return answer
        return response

    def _submitter(self, client_id: str | None) -> Submitter | None:
        return lookup(self.directory, client_id)

    def _validate(self, bundle: Resource) -> None:
        """R4 structure first (fhir.resources R4B), then the PAS profiles when configured."""
        structure = [f"{i.path}: {i.message}" for i in validate_structure(bundle)]
        if structure:
            raise InvalidPasBundle(
                "the Bundle is not valid FHIR R4", details={"problems": structure[:50]}
            )
        if self._validator is None:
            return
        ignored = self.options.ignored_validation_systems
        errors = [i for i in self._validator.validate(bundle) if i.severity == "error"]
        kept = [i for i in errors if not any(s in i.message for s in ignored)]
        # a "conforms to none of the profiles" summary only stands when a kept issue is under it
        problems = [
            f"{i.path}: {i.message}"
            for i in kept
            if "does not conform to any of the profiles" not in i.message
            or any(k is not i and k.path.startswith(i.path) for k in kept)
            or len(kept) == len(errors)
        ]
        if problems:
            raise InvalidPasBundle(
                "the Bundle does not conform to its PAS profiles", details={"problems": problems}
            )

    def _prior(
        self, request: PasRequest, submitter: Submitter | None
    ) -> tuple[Authorization | None, bool]:
        """The authorization this submission changes, and whether it is a resubmission.

        An update names it in ``Claim.related``; otherwise the submitter's own authorization
        under the Claim's identifier is resubmitted. A related Claim this endpoint never saw
        (it travels in the Bundle, spec-65) starts a new authorization, not a refusal.
        """
        related = related_identifier(request) if objects(request.claim.get("related")) else None
        updated = self._find(related, submitter) if related else None
        if updated is not None:
            return updated, False
        own = objects(request.claim.get("identifier"))
        client = submitter.client_id if submitter else None
        key = identifier_key(own[0]) if own else None
        resubmitted = self.records.by_claim_identifier(key, client) if key else None
        return resubmitted, resubmitted is not None

    def _find(self, identifier: str, submitter: Submitter | None) -> Authorization | None:
        """The one authorization under ``identifier`` that ``submitter`` may act on.

        Raises:
            ForbiddenError: only authorizations of other systems carry it (403).
            AmbiguousClaimIdentifier: several systems' authorizations qualify (409).
        """
        candidates = self.records.with_claim_identifier(identifier)
        client = submitter.client_id if submitter else None
        own = [a for a in candidates if a.submitter == client]
        if own:
            return own[0]
        allowed = [a for a in candidates if may_act_on(submitter, a)]
        if len(allowed) > 1:
            raise AmbiguousClaimIdentifier(
                f"{len(allowed)} authorizations of different systems carry Claim identifier "
                f"{identifier}; send the update from the system that submitted it"
            )
        if candidates and not allowed:
            require_may_act_on(submitter, candidates[0], "the update")
        return allowed[0] if allowed else None

    def _authorization(
        self,
        request: PasRequest,
        prior: Authorization | None,
        decisions: Sequence[ItemDecision],
        submitter: str | None,
        now: datetime,
        payer_id: str,
    ) -> Authorization:
        identifiers = objects(request.claim.get("identifier"))
        pended = any(d.action == v.PENDED for d in decisions)
        status = _status(decisions)
        changed = now if prior is None or prior.status != status else prior.status_changed_at
        pa_id = prior.pa_id if prior else self._new_id()
        return Authorization(
            pa_id=pa_id,
            pre_auth_ref=prior.pre_auth_ref if prior else f"PA-{pa_id[:8].upper()}",
            claim_identifier=identifier_key(identifiers[0]) if identifiers else f"|{pa_id}",
            member_id=member_id(request),
            provider_ids=",".join(provider_ids(request))[:512],
            sender_org=sender_identifier(request),
            submitter=prior.submitter if prior else submitter,
            status=status,
            urgent=is_urgent(request.claim),
            version=(prior.version + 1) if prior else 1,
            created_at=prior.created_at if prior else now,
            status_changed_at=changed,
            retain_until=deadlines.retain_until(
                changed, objects(request.claim.get("item")), pended=pended, options=self.options
            ),
            payer_id=payer_id,
            **_determined(prior, status, decisions, now),
        )

    def _response(
        self,
        request: PasRequest,
        decisions: Sequence[ItemDecision],
        auth: Authorization,
        now: datetime,
        *,
        inquiry: bool = False,
    ) -> Resource:
        ctx = ResponseContext(
            auth.pre_auth_ref, now, self.options.authorization_days, self._new_id, inquiry
        )
        return response_bundle(request, decisions, ctx)

    def _review(
        self,
        auth: Authorization,
        decisions: Sequence[ItemDecision],
        now: datetime,
        *,
        fresh: bool = False,
    ) -> ReviewEntry | None:
        """The review-queue entry after this change; ``fresh``: a resubmission's new clock."""
        existing = self.records.review(auth.pa_id)
        pended = any(d.action == v.PENDED for d in decisions)
        if existing is None or (fresh and pended):
            if not pended:
                return None
            due = deadlines.due_at(now, urgent=auth.urgent, options=self.options)
            topics = sorted({d.topic for d in decisions if d.action == v.PENDED and d.topic})
            return ReviewEntry(auth.pa_id, auth.urgent, now, due, topics=_delimited(topics))
        if pended or existing.closed_at is not None:
            return existing
        late = deadlines.is_late(now, existing.due_at, existing.extended_due_at)
        return _replace(existing, closed_at=now, late=late)

    # -- $inquire ------------------------------------------------------------------------

    def inquire(self, body: Any, *, submitter: str | None = None) -> Resource:
        """Answer ``Claim/$inquire``: a Parameters with one Bundle per matching authorization.

        Matching (PAS spec-53): the inquiry's Claim identifier, and the member id and a
        provider identifier of the stored authorization must agree. Only authorizations
        ``submitter`` may act on are returned; others are not disclosed (an empty answer).
        """
        request = PasRequest.parse(body, inquiry=True)
        party = self._submitter(submitter)
        found: list[Authorization] = []
        for identifier in objects(request.claim.get("identifier")):
            for auth in self.records.with_claim_identifier(identifier_key(identifier)):
                visible = may_act_on(party, auth) and _same_parties(auth, request)
                if visible and auth not in found:
                    found.append(auth)
        bundles = [self._current_answer(auth, inquiry=True) for auth in found]
        return {
            "resourceType": "Parameters",
            "parameter": [{"name": "return", "resource": b} for b in bundles],
        }

    def _current_answer(self, auth: Authorization, *, inquiry: bool) -> Resource:
        stored = self.records.latest_request(auth.pa_id)
        request = PasRequest.parse(stored)
        items = self.records.items(auth.pa_id)
        decisions = [ItemDecision.from_json(i.sequence, i.decision) for i in items]
        return self._response(request, decisions, auth, self._clock(), inquiry=inquiry)

    # -- decisions after review -------------------------------------------------------------

    def decide(
        self,
        pa_id: str,
        decisions: Mapping[int, ItemDecision],
        *,
        reviewer: str | None = None,
        role: str | None = None,
    ) -> Resource:
        """Record a reviewer's decisions on items; return the new response Bundle.

        The new ClaimResponse version is stored, the review closes once nothing is pended
        (flagged late when past its due time), the history records each item's action before
        and after, and every matching Subscription is notified. Who may take which decision
        is :mod:`davinci_pa.review`'s concern; here only that nobody decides their own.
        """
        auth = self.authorization(pa_id)
        if reviewer is not None and reviewer == auth.submitter:
            raise ForbiddenError("nobody decides a request they submitted")
        now = self._clock()
        items = {i.sequence: i for i in self.records.items(pa_id)}
        unknown = set(decisions) - set(items)
        if unknown:
            raise RequestError(f"no item with sequence {sorted(unknown)} in {pa_id}")
        given = {
            s: _replace(d, reviewer=reviewer, topic=d.topic or items[s].decision.get("topic"))
            for s, d in decisions.items()
        }
        merged = [
            given.get(seq) or ItemDecision.from_json(seq, items[seq].decision)
            for seq in sorted(items)
        ]
        request = PasRequest.parse(self.records.latest_request(pa_id))
        status = _status(merged)
        updated = _replace(
            auth,
            status=status,
            version=auth.version + 1,
            status_changed_at=now if status != auth.status else auth.status_changed_at,
            retain_until=max(auth.retain_until, now + self.options.retain_after_change),
            **_determined(auth, status, merged, now),
        )
        response = self._response(request, merged, updated, now)
        notifications = self.notifications.for_decision(updated, response, reviewer)
        changes = {
            str(seq): {"before": items[seq].action, "after": d.action, "reason": d.reason}
            for seq, d in sorted(given.items())
        }
        self.records.save(
            StateChange(
                authorization=updated,
                response=response,
                items=[_state(items[d.sequence].item, d) for d in merged],
                review=self._review(updated, merged, now),
                notifications=notifications,
                history=[
                    HistoryEvent(
                        pa_id,
                        now,
                        reviewer,
                        role,
                        "decided",
                        {
                            "items": changes,
                            "version": updated.version,
                            "notified": len(notifications),
                        },
                    )
                ],
            )
        )
        return response

    def extend(
        self, pa_id: str, reason: str, *, reviewer: str | None = None, role: str | None = None
    ) -> ReviewEntry:
        """Extend a standard review once, to 14 days, and tell the provider why (CMS-0057-F).

        A new ClaimResponse version (still pended) carries the new due date and the reason
        in a ``processNote`` and goes to every matching Subscription.

        Raises:
            RequestError: no reason given.
            ReviewConflict: no open review, an expedited request, or already extended.
        """
        auth = self.authorization(pa_id)
        review = self.records.review(pa_id)
        if not reason.strip():
            raise RequestError("an extension needs a reason for the provider")
        if review is None or review.closed_at is not None:
            raise ReviewConflict(f"{pa_id} has no open review to extend")
        if review.urgent or review.extended_due_at is not None:
            raise ReviewConflict(f"{pa_id}: only a standard request is extended, and only once")
        now = self._clock()
        extended = _replace(
            review,
            extended_due_at=deadlines.extended_due_at(review.queued_at, self.options),
            extension_reason=reason.strip()[:500],
            flag=None,
        )
        updated = _replace(auth, version=auth.version + 1)
        response = _with_note(
            self._current_answer(updated, inquiry=False),
            f"Review extended to {extended.extended_due_at:%Y-%m-%d %H:%M} UTC: "
            f"{extended.extension_reason}",
        )
        notifications = self.notifications.for_decision(updated, response, reviewer)
        detail = {"due": f"{extended.extended_due_at:%Y-%m-%dT%H:%M:%SZ}", "reason": reason}
        self.records.save(
            StateChange(
                authorization=updated,
                response=response,
                items=(),
                review=extended,
                notifications=notifications,
                history=[HistoryEvent(pa_id, now, reviewer, role, "extended", detail)],
            )
        )
        return extended

    def authorization(self, pa_id: str) -> Authorization:
        """The authorization ``pa_id``.

        Raises:
            ResourceNotFound: there is none (404).
        """
        auth = self.records.authorization(pa_id)
        if auth is None:
            raise ResourceNotFound(f"no prior authorization {pa_id}")
        return auth


def _submitted(
    auth: Authorization,
    decisions: Sequence[ItemDecision],
    prior: Authorization | None,
    resubmitted: bool,
    submitter: str | None,
    now: datetime,
) -> HistoryEvent:
    event = "resubmitted" if resubmitted else "updated" if prior else "submitted"
    if auth.status == "cancelled":
        event = "cancelled"
    detail = {
        "version": auth.version,
        "claim_identifier": auth.claim_identifier,
        "items": {str(d.sequence): d.action for d in decisions},
    }
    return HistoryEvent(auth.pa_id, now, submitter, None, event, detail)


def _delimited(values: Sequence[str]) -> str | None:
    return f",{','.join(values)}," if values else None


def _with_note(bundle: Resource, text: str) -> Resource:
    """``bundle`` with a display ``processNote`` added to its ClaimResponse."""
    claim_response = bundle["entry"][0]["resource"]
    notes = claim_response.setdefault("processNote", [])
    notes.append({"number": len(notes) + 1, "type": "display", "text": text})
    return bundle


def _profile_validator(options: PasOptions) -> BundleValidator | None:
    if not options.profile_packages:
        return None
    from davinci_pa.fhir.validation import Validator  # loading packages is for servers only

    packages = [Path(p) for p in options.profile_packages]
    unverifiable = options.ignored_validation_systems
    return Validator.from_packages(packages, structural=False, unverifiable_systems=unverifiable)


def _dedupe_key(bundle: Resource, submitter: str | None) -> str:
    """Same submitter, same content: ``Bundle.id``, ``timestamp`` and ``meta`` do not count."""
    content = {k: v for k, v in bundle.items() if k not in {"id", "timestamp", "meta"}}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    text = f"{submitter}\n{canonical}"
    return hashlib.sha256(text.encode()).hexdigest()


class AmbiguousClaimIdentifier(RequestError):
    """Several systems' authorizations carry the Claim identifier an update names."""

    code = "ambiguous-claim-identifier"
    http_status = 409
    issue_type = "conflict"


def _parties(request: PasRequest) -> list[str]:
    sender = sender_identifier(request)
    return [*provider_ids(request), *([sender] if sender else [])]


def _status(decisions: Sequence[ItemDecision]) -> str:
    actions = {d.action for d in decisions}
    if v.PENDED in actions:
        return "pended"
    if actions and actions <= {v.CANCELLED}:
        return "cancelled"
    return "decided"


def _determined(
    prior: Authorization | None, status: str, decisions: Sequence[ItemDecision], now: datetime
) -> dict[str, Any]:
    """The first determination (CMS-0057-F metrics): kept once made, else made now if final.

    ``approved``: every live item certified in total; ``denied``: every live item not
    certified; ``partial``: anything between, or a modified or partial certification.
    """
    if prior is not None and prior.determined_at is not None:
        return {"determined_at": prior.determined_at, "determination": prior.determination}
    if status != "decided":
        return {"determined_at": None, "determination": None}
    actions = {d.action for d in decisions} - {v.CANCELLED}
    if actions == {v.APPROVED}:
        determination = "approved"
    elif actions == {v.DENIED}:
        determination = "denied"
    else:
        determination = "partial"
    return {"determined_at": now, "determination": determination}


def _same_parties(auth: Authorization, request: PasRequest) -> bool:
    member = member_id(request)
    providers = set(provider_ids(request))
    same_member = member is None or auth.member_id is None or member == auth.member_id
    return same_member and bool(providers & set(auth.provider_ids.split(",")))


def _item_states(
    request: PasRequest, decisions: Sequence[ItemDecision], stored: Sequence[ItemState]
) -> list[ItemState]:
    items = {i.sequence: i.item for i in stored}
    items.update({int(i["sequence"]): i for i in objects(request.claim.get("item"))})
    return [_state(items.get(d.sequence, {}), d) for d in decisions]


def _state(item: Mapping[str, Any], decision: ItemDecision) -> ItemState:
    return ItemState(decision.sequence, dict(item), decision.action, decision.to_json())


def _replace(value: _T, **changes: Any) -> _T:
    return dataclasses.replace(value, **changes)  # type: ignore[type-var]
