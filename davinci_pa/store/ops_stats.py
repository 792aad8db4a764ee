"""Operational counts read at scrape time: review queue depth, overdue work, notifications.

Read from the shared database, so every worker reports the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from davinci_pa.store.database import Database
from davinci_pa.store.schema import pas_outbox, pas_review_queue


@dataclass(frozen=True, slots=True)
class QueueStats:
    """What ``/metrics`` reports about pended work and notifications.

    Attributes:
        queue_depth: pended authorizations awaiting a decision.
        overdue: of those, how many are past their (extended) CMS-0057-F due time.
        notifications: outbox notifications by status (``pending``, ``delivered``, ``failed``).
        retrying: pending notifications that failed at least once and wait for a retry.
    """

    queue_depth: int
    overdue: int
    notifications: dict[str, int]
    retrying: int


def queue_stats(database: Database, now: datetime) -> QueueStats:
    """Count the open review queue, overdue items and the outbox in one transaction."""
    open_ = pas_review_queue.c.closed_at.is_(None)
    due = sa.func.coalesce(pas_review_queue.c.extended_due_at, pas_review_queue.c.due_at)
    queue = sa.select(
        sa.func.count().filter(open_),
        sa.func.count().filter(open_, due < now),
    ).select_from(pas_review_queue)
    outbox = sa.select(
        pas_outbox.c.status,
        sa.func.count(),
        sa.func.count().filter(pas_outbox.c.attempts > 0),
    ).group_by(pas_outbox.c.status)
    with database.transaction() as conn:
        depth, overdue = conn.execute(queue).one()
        rows = conn.execute(outbox).all()
    return QueueStats(
        queue_depth=int(depth),
        overdue=int(overdue),
        notifications={str(status): int(count) for status, count, _ in rows},
        retrying=sum(int(tried) for status, _, tried in rows if status == "pending"),
    )
