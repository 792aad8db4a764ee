"""``ReviewService``: what reviewers do with pended work (CMS-0057-F; docs/review.md).

Every decision path, the workbench and ``POST /admin/pas/{pa_id}/decision`` alike, comes
here with an :class:`~davinci_pa.review.roles.Actor`. The rules on top of
:meth:`PasService.decide`:

* the actor's role must allow the action (:mod:`davinci_pa.review.roles`);
* a final item (approved, denied, modified, cancelled) is decided again only as the outcome
  of an open appeal of it, by a physician other than the one who denied it;
* a denial carries a reason code (X12 886, from the payer's list when one is configured)
  and free text; a pend for more information says what is needed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from davinci_pa.errors import ForbiddenError, RequestError, ReviewConflict
from davinci_pa.pas import vocabulary as v
from davinci_pa.pas.decisions import ItemDecision
from davinci_pa.pas.service import PasService
from davinci_pa.review.accounts import Accounts
from davinci_pa.review.detail import RequestView, request_view
from davinci_pa.review.roles import (
    PHYSICIAN,
    SYSTEM,
    Actor,
    ReviewPolicy,
    require_action,
    require_extension,
)
from davinci_pa.review.sessions import SessionManager
from davinci_pa.store import Database
from davinci_pa.store.clock import utc_now
from davinci_pa.store.crd_records import CrdRecords
from davinci_pa.store.pas_history import History, HistoryEvent
from davinci_pa.store.pas_records import ItemState, ReviewEntry
from davinci_pa.store.review_queue import QueueFilter, QueueRow, ReviewQueue
from davinci_pa.store.review_records import AppealRow, Appeals, Reviewers, Sessions
from davinci_pa.types import Resource

X12_CODE = re.compile(r"[A-Z0-9]{1,3}")
MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class ReviewOptions:
    """Options of review (docs/review.md §Options).

    Args:
        policy: who may decide what.
        reason_codes: the payer's X12 886 denial reason codes (code → label); when empty,
            any code of X12's shape (1-3 letters or digits) is accepted.
        due_soon: how long before its due time a request is flagged ``due-soon``.
    """

    policy: ReviewPolicy = field(default_factory=ReviewPolicy)
    reason_codes: Mapping[str, str] = field(default_factory=dict)
    due_soon: timedelta = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class QueuePage:
    """One page of the queue."""

    rows: list[QueueRow]
    total: int
    page: int
    per_page: int
    now: datetime

    @property
    def pages(self) -> int:
        """How many pages there are."""
        return max(1, -(-self.total // self.per_page))


class ReviewService:
    """The queue, decisions by role, extensions, appeals and the deadline sweep."""

    def __init__(
        self,
        pas: PasService,
        database: Database,
        *,
        assertions: CrdRecords,
        options: ReviewOptions | None = None,
        clock: Callable[[], datetime] = utc_now,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.pas = pas
        self.options = options or ReviewOptions()
        self.history = History(database)
        self.appeals = Appeals(database)
        self.accounts = Accounts(Reviewers(database), Sessions(database), clock=clock)
        self.sessions = SessionManager(Sessions(database), self.accounts, clock=clock)
        self._queue = ReviewQueue(database)
        self._assertions = assertions
        self._clock = clock
        self._new_id = new_id

    # -- the queue ------------------------------------------------------------------------

    def queue(self, wanted: QueueFilter, *, page: int = 1, per_page: int = 50) -> QueuePage:
        """Open requests, soonest due first (overdue ones lead)."""
        per_page = min(max(per_page, 1), MAX_PAGE)
        page = max(page, 1)
        rows, total = self._queue.page(wanted, limit=per_page, offset=(page - 1) * per_page)
        return QueuePage(rows, total, page, per_page, self._clock())

    def overdue(self) -> list[QueueRow]:
        """Every open request past its due time, most overdue first."""
        rows, _ = self._queue.page(QueueFilter(overdue_at=self._clock()), limit=10_000, offset=0)
        return rows

    def request(self, pa_id: str) -> RequestView:
        """Everything the request page shows (404 for an unknown request)."""
        auth = self.pas.authorization(pa_id)
        records = self.pas.records
        return request_view(
            auth,
            records.latest_request(auth.pa_id) or {},
            records.items(auth.pa_id),
            review=records.review(auth.pa_id),
            assertions=self._assertions,
            history=self.history.of(auth.pa_id),
            appeals=self.appeals.of(auth.pa_id),
        )

    def sweep(self) -> dict[str, list[str]]:
        """Flag requests due soon and overdue (the recurring deadline job)."""
        now = self._clock()
        return self._queue.flag_deadlines(now, now + self.options.due_soon)

    # -- decisions ------------------------------------------------------------------------

    def decide(self, pa_id: str, decisions: Sequence[ItemDecision], actor: Actor) -> Resource:
        """Record decisions on items of ``pa_id``; the new PAS response Bundle.

        Raises:
            ForbiddenError: the role may not take an action, or an appeal goes to its denier.
            ReviewConflict: an item is already final and under no open appeal (409).
            RequestError: a missing reason code or reason, an unknown item.
        """
        if not decisions:
            raise RequestError("no item decisions given")
        current = {i.sequence: i for i in self.pas.records.items(self.pas_id(pa_id))}
        appeal = self._open_appeal(pa_id)
        for decision in decisions:
            self._check(decision, actor, current.get(decision.sequence), appeal)
        response = self.pas.decide(
            pa_id, {d.sequence: d for d in decisions}, reviewer=actor.name, role=actor.role
        )
        if appeal is not None:
            self._settle(appeal, decisions, actor)
        return response

    def partial_approval(self, pa_id: str, sequence: int, quantity: float) -> dict[str, Any]:
        """What an ``A6`` decision grants: the item's own service in a smaller ``quantity``.

        Raises:
            RequestError: no such item, or a quantity that is not a positive number.
        """
        if not 0 < quantity < 1_000_000:
            raise RequestError("quantity: a positive number")
        items = {i.sequence: i for i in self.pas.records.items(self.pas_id(pa_id))}
        if sequence not in items:
            raise RequestError(f"sequence: no item {sequence}")
        value: int | float = int(quantity) if quantity.is_integer() else quantity
        product = items[sequence].item.get("productOrService")
        return {"productOrService": product, "quantity": {"value": value}}

    def pas_id(self, pa_id: str) -> str:
        """``pa_id`` when such a request exists (404 otherwise)."""
        return self.pas.authorization(pa_id).pa_id

    def _check(
        self,
        decision: ItemDecision,
        actor: Actor,
        item: ItemState | None,
        appeal: AppealRow | None,
    ) -> None:
        sequence, action = decision.sequence, decision.action
        if item is None:
            raise RequestError(f"item {sequence}: no such item in this request")
        require_action(actor, action, sequence, self.options.policy)
        current = item.action
        if current in v.FINAL_ACTIONS:
            if appeal is None or sequence not in appeal.items:
                raise ReviewConflict(
                    f"item {sequence} is already final ({v.ACTION_DISPLAY[current]}); "
                    "only an appeal reopens it"
                )
            self._check_appeal_reviewer(appeal, sequence, actor)
        if action == v.DENIED:
            self._check_reason_code(decision)
        if action == v.PENDED and not (decision.reason or "").strip():
            raise RequestError(f"item {sequence}: say what additional information is needed")

    def _check_reason_code(self, decision: ItemDecision) -> None:
        codes = decision.reason_codes
        known = self.options.reason_codes
        valid = bool(codes) and all(
            (c in known) if known else bool(X12_CODE.fullmatch(c)) for c in codes
        )
        if not valid:
            expected = f"one of {sorted(known)}" if known else "an X12 886 code"
            raise RequestError(f"item {decision.sequence}: reason_code must be {expected}")

    def _check_appeal_reviewer(self, appeal: AppealRow, sequence: int, actor: Actor) -> None:
        if actor.role not in (PHYSICIAN, SYSTEM):
            raise ForbiddenError(f"item {sequence}: an appeal is decided by a physician")
        denier = appeal.deniers.get(str(sequence))
        if self.options.policy.appeal_by_other_physician and denier == actor.name:
            raise ForbiddenError(
                f"item {sequence}: the appeal goes to a physician other than its denier"
            )

    def _settle(self, appeal: AppealRow, decisions: Sequence[ItemDecision], actor: Actor) -> None:
        outcome = dict(appeal.outcome or {})
        outcome.update({str(d.sequence): d.action for d in decisions if d.sequence in appeal.items})
        if all(str(s) in outcome for s in appeal.items):
            approved = any(action in v.APPROVALS for action in outcome.values())
            self.appeals.decide(appeal.id, actor.name, self._clock(), outcome, approved=approved)

    # -- extensions and appeals -----------------------------------------------------------

    def extend(self, pa_id: str, reason: str, actor: Actor) -> ReviewEntry:
        """Extend a standard review once, to at most 14 days; the provider is notified."""
        require_extension(actor)
        return self.pas.extend(pa_id, reason, reviewer=actor.name, role=actor.role)

    def appeal(
        self,
        pa_id: str,
        items: Sequence[int],
        *,
        received: datetime,
        received_from: str | None,
        note: str | None,
        actor: Actor,
    ) -> AppealRow:
        """Record an appeal of denied items; a later decision on them is its outcome.

        Raises:
            ReviewConflict: an item is not denied, or the request has an open appeal.
            RequestError: no items, or an unknown one.
        """
        pa_id = self.pas_id(pa_id)
        current = {i.sequence: i for i in self.pas.records.items(pa_id)}
        wanted = sorted(set(items))
        if not wanted:
            raise RequestError("an appeal names the denied items it appeals")
        if self._open_appeal(pa_id) is not None:
            raise ReviewConflict(f"{pa_id} has an open appeal; decide it before another")
        for sequence in wanted:
            item = current.get(sequence)
            if item is None:
                raise RequestError(f"item {sequence}: no such item in this request")
            if item.action not in (v.DENIED, v.MODIFIED):
                raise ReviewConflict(f"item {sequence} was not denied; there is nothing to appeal")
        now = self._clock()
        row = AppealRow(
            self._new_id(),
            pa_id,
            tuple(wanted),
            received,
            received_from,
            note,
            {str(s): current[s].decision.get("reviewer") for s in wanted},
            actor.name,
            now,
        )
        detail = {"appeal": row.id, "items": wanted, "received": received.isoformat()}
        self.appeals.add(row, HistoryEvent(pa_id, now, actor.name, actor.role, "appealed", detail))
        return row

    def _open_appeal(self, pa_id: str) -> AppealRow | None:
        """The request's undecided appeal (there is at most one at a time)."""
        return next((a for a in self.appeals.of(pa_id) if a.decided_at is None), None)
