"""The history of each prior-authorization request: who did what, when, before and after."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from davinci_pa.store.database import Database
from davinci_pa.store.schema import pas_history


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """One thing that happened to a request."""

    pa_id: str
    at: datetime
    actor: str | None
    role: str | None
    event: str
    detail: Mapping[str, Any]


_INSERT = sa.insert(pas_history)


def add_history(conn: Connection, events: Sequence[HistoryEvent]) -> None:
    """Append history events inside the caller's transaction."""
    for event in events:
        values = {k: getattr(event, k) for k in event.__dataclass_fields__}
        values["detail"] = dict(event.detail)
        conn.execute(_INSERT, values)


class History:
    """The history of each request."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, *events: HistoryEvent) -> None:
        """Append events in their own transaction."""
        with self._db.transaction() as conn:
            add_history(conn, events)

    def of(self, pa_id: str) -> list[HistoryEvent]:
        """Every event of a request, oldest first."""
        query = (
            sa.select(pas_history)
            .where(pas_history.c.pa_id == pa_id)
            .order_by(pas_history.c.at, pas_history.c.id)
        )
        with self._db.transaction() as conn:
            return [
                HistoryEvent(r["pa_id"], r["at"], r["actor"], r["role"], r["event"], r["detail"])
                for r in conn.execute(query).mappings()
            ]
