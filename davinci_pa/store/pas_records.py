"""PAS records: authorizations, every request and response version, items, review queue.

PAS 2.2.1 §Pended responses keeps pended work decided later; CMS-0057-F sets the review
deadlines and retention. Each state change is written in one transaction together with the
notifications it causes (the outbox, :mod:`davinci_pa.store.pas_outbox`), so a crash never
leaves a decision without its notification or the reverse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from davinci_pa.errors import StoreError
from davinci_pa.store.clock import Clock, aware_row, utc_now
from davinci_pa.store.database import Database
from davinci_pa.store.pas_history import HistoryEvent, add_history
from davinci_pa.store.pas_outbox import OutboxMessage, enqueue
from davinci_pa.store.schema import (
    pa_resources,
    pas_authorizations,
    pas_items,
    pas_responses,
    pas_review_queue,
    pas_submissions,
)
from davinci_pa.store.upsert import upsert


@dataclass(frozen=True, slots=True)
class Authorization:
    """One prior authorization and the identifiers $inquire matches on."""

    pa_id: str
    pre_auth_ref: str
    claim_identifier: str
    member_id: str | None
    provider_ids: str
    sender_org: str | None
    submitter: str | None
    status: str
    urgent: bool
    version: int
    created_at: datetime
    status_changed_at: datetime
    retain_until: datetime
    payer_id: str | None = None
    """The rule-pack payer (the plan) the request was decided for."""
    determined_at: datetime | None = None
    """When the request first had no pended item left: the payer's determination."""
    determination: str | None = None
    """What that determination was: ``approved``, ``partial`` or ``denied``."""
    updated_at: datetime | None = None
    """The last change of any kind (set by every write)."""


@dataclass(frozen=True, slots=True)
class ItemState:
    """A submitted item, its current review action (X12 306) and decision details."""

    sequence: int
    item: dict[str, Any]
    action: str
    decision: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ReviewEntry:
    """A pended authorization in the review queue."""

    pa_id: str
    urgent: bool
    queued_at: datetime
    due_at: datetime
    extended_due_at: datetime | None = None
    extension_reason: str | None = None
    closed_at: datetime | None = None
    late: bool | None = None
    flag: str | None = None
    """Set by the deadline sweep: ``due-soon`` or ``overdue``."""
    topics: str | None = None
    """The rule topics that pended items, comma-delimited on both ends (``,a,b,``)."""


@dataclass(frozen=True, slots=True)
class Submission:
    """One request Bundle as received: its id, duplicate key and the system that sent it."""

    id: str
    dedupe_key: str
    request: dict[str, Any]
    submitter: str | None


@dataclass(frozen=True, slots=True)
class StateChange:
    """Everything one submission or decision writes."""

    authorization: Authorization
    response: dict[str, Any]
    items: Sequence[ItemState]
    review: ReviewEntry | None = None
    submission: Submission | None = None
    notifications: Sequence[OutboxMessage] = field(default_factory=tuple)
    replace_items: bool = False
    """A resubmission: items not in ``items`` are removed."""
    history: Sequence[HistoryEvent] = field(default_factory=tuple)
    """What the request's history records about this change (who, what, before/after)."""


ChangeListener = Callable[[Connection, StateChange], None]
"""Told of each saved change, inside the transaction that wrote it."""


class DuplicateSubmission(StoreError):
    """The same submission was stored concurrently; read the stored answer instead."""

    code = "duplicate-submission"
    http_status = 409


class PasRecords:
    """Repository of PAS state."""

    def __init__(self, db: Database, *, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock
        self._listeners: list[ChangeListener] = []

    def add_listener(self, listener: ChangeListener) -> None:
        """Call ``listener(conn, change)`` inside the transaction of every saved change."""
        self._listeners.append(listener)

    def answer_for(self, dedupe_key: str) -> dict[str, Any] | None:
        """The response Bundle given to the submission with this key, if it was seen."""
        join = pas_submissions.join(
            pas_responses, pas_responses.c.submission_id == pas_submissions.c.id
        )
        query = (
            sa.select(pas_responses.c.bundle)
            .select_from(join)
            .where(pas_submissions.c.dedupe_key == dedupe_key)
            .order_by(pas_responses.c.id)
            .limit(1)
        )
        with self._db.transaction() as conn:
            row = conn.execute(query).first()
        return dict(row[0]) if row else None

    def save(self, change: StateChange) -> None:
        """Write a state change and its notifications atomically."""
        try:
            with self._db.transaction(conflicts=True) as conn:
                _write(conn, change, self._clock())
                for listener in self._listeners:
                    listener(conn, change)
        except IntegrityError as exc:
            raise DuplicateSubmission("this submission was already recorded") from exc

    def authorization(self, pa_id: str) -> Authorization | None:
        """The authorization with this id."""
        return self._first(pas_authorizations.c.pa_id == pa_id)

    def by_claim_identifier(self, identifier: str, submitter: str | None) -> Authorization | None:
        """The authorization ``submitter`` created under this Claim identifier (``system|value``).

        A Claim identifier names at most one authorization per submitter (migration 0004).
        """
        return self._first(
            pas_authorizations.c.claim_identifier == identifier,
            sa.func.coalesce(pas_authorizations.c.submitter, "") == (submitter or ""),
        )

    def with_claim_identifier(self, identifier: str) -> list[Authorization]:
        """Every authorization under this Claim identifier, whoever submitted it, newest first."""
        query = (
            sa.select(pas_authorizations)
            .where(pas_authorizations.c.claim_identifier == identifier)
            .order_by(pas_authorizations.c.created_at.desc())
        )
        with self._db.transaction() as conn:
            return [Authorization(**aware_row(r)) for r in conn.execute(query).mappings()]

    def by_pre_auth_ref(self, ref: str) -> Authorization | None:
        """The authorization with this payer-assigned reference."""
        return self._first(pas_authorizations.c.pre_auth_ref == ref)

    def items(self, pa_id: str) -> list[ItemState]:
        """The items of an authorization in sequence order."""
        query = sa.select(pas_items).where(pas_items.c.pa_id == pa_id).order_by("sequence")
        with self._db.transaction() as conn:
            rows = conn.execute(query).mappings().all()
        return [ItemState(r["sequence"], r["item"], r["action"], r["decision"]) for r in rows]

    def responses(self, pa_id: str) -> list[dict[str, Any]]:
        """Every response Bundle of an authorization, oldest first."""
        query = sa.select(pas_responses.c.bundle).where(pas_responses.c.pa_id == pa_id)
        with self._db.transaction() as conn:
            rows = conn.execute(query.order_by(pas_responses.c.id)).all()
        return [dict(r[0]) for r in rows]

    def latest_response(self, pa_id: str) -> dict[str, Any] | None:
        """The newest response Bundle of an authorization."""
        query = (
            sa.select(pas_responses.c.bundle)
            .where(pas_responses.c.pa_id == pa_id)
            .order_by(pas_responses.c.id.desc())
            .limit(1)
        )
        with self._db.transaction() as conn:
            row = conn.execute(query).first()
        return dict(row[0]) if row else None

    def latest_request(self, pa_id: str) -> dict[str, Any] | None:
        """The newest request Bundle of an authorization."""
        query = (
            sa.select(pas_submissions.c.request)
            .where(pas_submissions.c.pa_id == pa_id)
            .order_by(pas_submissions.c.version.desc())
            .limit(1)
        )
        with self._db.transaction() as conn:
            row = conn.execute(query).first()
        return dict(row[0]) if row else None

    def review(self, pa_id: str) -> ReviewEntry | None:
        """The review-queue entry of an authorization."""
        query = sa.select(pas_review_queue).where(pas_review_queue.c.pa_id == pa_id)
        with self._db.transaction() as conn:
            row = conn.execute(query).mappings().first()
        return ReviewEntry(**aware_row(row)) if row else None

    def open_reviews(self) -> list[ReviewEntry]:
        """Open review entries, soonest due first."""
        query = (
            sa.select(pas_review_queue)
            .where(pas_review_queue.c.closed_at.is_(None))
            .order_by(pas_review_queue.c.due_at)
        )
        with self._db.transaction() as conn:
            return [ReviewEntry(**aware_row(r)) for r in conn.execute(query).mappings()]

    def purge_expired(self) -> int:
        """Delete authorizations whose retention period has passed; return how many."""
        now = self._clock()
        with self._db.transaction() as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    sa.select(pas_authorizations.c.pa_id).where(
                        pas_authorizations.c.retain_until < now
                    )
                )
            ]
            for table in (
                pas_items,
                pas_responses,
                pas_submissions,
                pas_review_queue,
                pa_resources,
            ):
                conn.execute(sa.delete(table).where(table.c.pa_id.in_(ids)))
            conn.execute(sa.delete(pas_authorizations).where(pas_authorizations.c.pa_id.in_(ids)))
        return len(ids)

    def _first(self, *conditions: Any) -> Authorization | None:
        query = (
            sa.select(pas_authorizations)
            .where(*conditions)
            .order_by(pas_authorizations.c.created_at.desc(), pas_authorizations.c.version.desc())
            .limit(1)
        )
        with self._db.transaction() as conn:
            row = conn.execute(query).mappings().first()
        return Authorization(**aware_row(row)) if row else None


_INSERT_SUBMISSION = sa.insert(pas_submissions)
_INSERT_RESPONSE = sa.insert(pas_responses)


def _write(conn: Connection, change: StateChange, now: datetime) -> None:
    auth = asdict(change.authorization) | {"updated_at": now}
    pa_id = auth.pop("pa_id")
    upsert(conn, pas_authorizations, {"pa_id": pa_id}, auth, insert_only={"created_at"})
    submission_id = None
    if change.submission is not None:
        submission_id = change.submission.id
        submission = {
            "id": submission_id,
            "pa_id": pa_id,
            "version": auth["version"],
            "dedupe_key": change.submission.dedupe_key,
            "received_at": now,
            "request": change.submission.request,
            "submitter": change.submission.submitter,
        }
        conn.execute(_INSERT_SUBMISSION, submission)
    response = {
        "pa_id": pa_id,
        "version": auth["version"],
        "submission_id": submission_id,
        "created_at": now,
        "bundle": change.response,
    }
    conn.execute(_INSERT_RESPONSE, response)
    if change.replace_items:
        kept = [item.sequence for item in change.items]
        conn.execute(
            sa.delete(pas_items).where(
                pas_items.c.pa_id == pa_id, pas_items.c.sequence.not_in(kept)
            )
        )
    _write_items(conn, pa_id, change.items, now)
    if change.review is not None:
        _write_review(conn, change.review)
    enqueue(conn, change.notifications, now)
    add_history(conn, change.history)


def _write_items(conn: Connection, pa_id: str, items: Iterable[ItemState], now: datetime) -> None:
    for item in items:
        values = {"item": item.item, "action": item.action, "decision": item.decision}
        key = {"pa_id": pa_id, "sequence": item.sequence}
        upsert(conn, pas_items, key, values | {"decided_at": now})


def _write_review(conn: Connection, review: ReviewEntry) -> None:
    values = asdict(review)
    upsert(conn, pas_review_queue, {"pa_id": values.pop("pa_id")}, values)
