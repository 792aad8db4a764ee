"""The open-review queue as SQL: filtered, ordered by effective due time, one page at a time.

The effective due time is the extended one when a review was extended. Items are fetched for
the page only, so the page costs the same with ten or ten thousand open requests (the
``ix_pas_review_queue_open`` index serves the order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from davinci_pa.store.clock import aware_row
from davinci_pa.store.database import Database
from davinci_pa.store.pas_history import HistoryEvent, add_history
from davinci_pa.store.schema import pas_authorizations, pas_items, pas_review_queue

DUE = sa.func.coalesce(pas_review_queue.c.extended_due_at, pas_review_queue.c.due_at)
OVERDUE, DUE_SOON = "overdue", "due-soon"


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """Which open requests to list.

    Args:
        urgent: only expedited (True) or standard (False) requests; None for both.
        flag: ``overdue`` or ``due-soon`` (as last set by the deadline sweep); None for all.
        topic: a rule topic that pended an item.
        overdue_at: list only requests due before this time (``review overdue``).
    """

    urgent: bool | None = None
    flag: str | None = None
    topic: str | None = None
    overdue_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One open request with what the queue shows."""

    pa_id: str
    claim_identifier: str
    urgent: bool
    received: datetime
    due: datetime
    extended: bool
    flag: str | None
    topics: tuple[str, ...]
    status: str
    items: tuple[dict[str, Any], ...]


class ReviewQueue:
    """Reads the open-review queue."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def page(self, wanted: QueueFilter, *, limit: int, offset: int) -> tuple[list[QueueRow], int]:
        """One page of open requests, soonest due first, and how many match in all."""
        where = _conditions(wanted)
        query = (
            sa.select(
                pas_review_queue,
                DUE.label("due"),
                pas_authorizations.c.claim_identifier,
                pas_authorizations.c.status,
            )
            .join(pas_authorizations, pas_authorizations.c.pa_id == pas_review_queue.c.pa_id)
            .where(*where)
            .order_by(DUE, pas_review_queue.c.queued_at, pas_review_queue.c.pa_id)
            .limit(limit)
            .offset(offset)
        )
        count = sa.select(sa.func.count()).select_from(pas_review_queue).where(*where)
        with self._db.transaction() as conn:
            rows = [aware_row(r) for r in conn.execute(query).mappings()]
            total = int(conn.execute(count).scalar_one())
            items = _items(conn, [r["pa_id"] for r in rows])
        return [_row(r, items.get(r["pa_id"], ())) for r in rows], total

    def flag_deadlines(self, now: datetime, soon: datetime) -> dict[str, list[str]]:
        """Flag open requests ``overdue`` (due before ``now``) or ``due-soon`` (before ``soon``).

        Returns the requests newly flagged, by flag; each gets a history event.
        """
        changed: dict[str, list[str]] = {OVERDUE: [], DUE_SOON: []}
        with self._db.transaction() as conn:
            for flag, due_before, after in ((OVERDUE, now, None), (DUE_SOON, soon, now)):
                changed[flag] = _flag(conn, flag, due_before, after)
            events = [
                HistoryEvent(pa_id, now, None, None, flag, {})
                for flag, pa_ids in changed.items()
                for pa_id in pa_ids
            ]
            add_history(conn, events)
        return changed


def _flag(
    conn: sa.Connection, flag: str, due_before: datetime, after: datetime | None
) -> list[str]:
    where = [
        pas_review_queue.c.closed_at.is_(None),
        due_before > DUE,
        sa.or_(pas_review_queue.c.flag.is_(None), pas_review_queue.c.flag != flag),
    ]
    if after is not None:
        where.append(after <= DUE)
    pa_ids = [r[0] for r in conn.execute(sa.select(pas_review_queue.c.pa_id).where(*where))]
    if pa_ids:
        conn.execute(
            sa.update(pas_review_queue)
            .where(pas_review_queue.c.pa_id.in_(pa_ids))
            .values(flag=flag)
        )
    return pa_ids


def _conditions(wanted: QueueFilter) -> list[Any]:
    where: list[Any] = [pas_review_queue.c.closed_at.is_(None)]
    if wanted.urgent is not None:
        where.append(pas_review_queue.c.urgent.is_(wanted.urgent))
    if wanted.flag is not None:
        where.append(pas_review_queue.c.flag == wanted.flag)
    if wanted.topic:
        where.append(pas_review_queue.c.topics.contains(f",{wanted.topic},", autoescape=True))
    if wanted.overdue_at is not None:
        where.append(wanted.overdue_at > DUE)
    return where


def _items(conn: sa.Connection, pa_ids: Sequence[str]) -> dict[str, tuple[dict[str, Any], ...]]:
    if not pa_ids:
        return {}
    query = (
        sa.select(pas_items.c.pa_id, pas_items.c.sequence, pas_items.c.item, pas_items.c.action)
        .where(pas_items.c.pa_id.in_(pa_ids))
        .order_by(pas_items.c.pa_id, pas_items.c.sequence)
    )
    found: dict[str, list[dict[str, Any]]] = {}
    for row in conn.execute(query).mappings():
        entry = {"sequence": row["sequence"], "action": row["action"], "codes": _codes(row["item"])}
        found.setdefault(row["pa_id"], []).append(entry)
    return {k: tuple(v) for k, v in found.items()}


def _codes(item: Any) -> list[str]:
    product = item.get("productOrService") if isinstance(item, dict) else None
    codings = product.get("coding") if isinstance(product, dict) else None
    return [str(c.get("code")) for c in codings or [] if isinstance(c, dict) and c.get("code")]


def _row(row: dict[str, Any], items: tuple[dict[str, Any], ...]) -> QueueRow:
    topics = tuple(t for t in (row["topics"] or "").split(",") if t)
    return QueueRow(
        row["pa_id"],
        row["claim_identifier"],
        bool(row["urgent"]),
        row["queued_at"],
        row["due"],
        row["extended_due_at"] is not None,
        row["flag"],
        topics,
        row["status"],
        items,
    )
