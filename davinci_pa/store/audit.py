"""Audit events: who called what, and with which outcome (no PHI)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from davinci_pa.store.clock import Clock, utc_now
from davinci_pa.store.database import Database
from davinci_pa.store.schema import audit_events


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audited call."""

    action: str
    outcome: str
    status: int
    actor: str | None = None
    target: str | None = None
    request_id: str | None = None


class AuditLog:
    """Append-only log of audited calls."""

    def __init__(self, db: Database, *, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock

    def record(self, event: AuditEvent) -> None:
        """Append one event."""
        with self._db.transaction() as conn:
            conn.execute(INSERT_EVENT, event_row(event, self._clock()))

    def recent(self, *, limit: int = 100) -> list[AuditEvent]:
        """Return the newest events first."""
        columns = [audit_events.c[f] for f in AuditEvent.__dataclass_fields__]
        query = sa.select(*columns).order_by(audit_events.c.id.desc()).limit(limit)
        with self._db.transaction() as conn:
            return [AuditEvent(**row) for row in conn.execute(query).mappings()]


INSERT_EVENT = sa.insert(audit_events)
"""The cached insert statement; bind it with :func:`event_row`."""


def event_row(event: AuditEvent, at: datetime) -> dict[str, Any]:
    """The ``audit_events`` row of one event recorded at ``at``."""
    values = {name: getattr(event, name) for name in AuditEvent.__dataclass_fields__}
    return {"recorded_at": at, **values}
