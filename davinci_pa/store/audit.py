"""Audit events: who called what, and with which outcome (no PHI)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

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
            write_event(conn, event, self._clock())

    def recent(self, *, limit: int = 100) -> list[AuditEvent]:
        """Return the newest events first."""
        columns = [audit_events.c[f] for f in AuditEvent.__dataclass_fields__]
        query = sa.select(*columns).order_by(audit_events.c.id.desc()).limit(limit)
        with self._db.transaction() as conn:
            return [AuditEvent(**row) for row in conn.execute(query).mappings()]


_INSERT = sa.insert(audit_events)


def write_event(conn: Connection, event: AuditEvent, at: datetime) -> None:
    """Insert one event in the caller's transaction (one cached statement, bound values)."""
    values = {name: getattr(event, name) for name in AuditEvent.__dataclass_fields__}
    conn.execute(_INSERT, {"recorded_at": at, **values})
