"""A JWT ``jti`` replay cache shared by every worker through the database.

CDS Hooks §Trusting CDS Clients: ``jti`` protects against replay. A token id is accepted
once per issuer until the token expires. One autocommitted statement per token: an insert
that, on an existing id, takes the row over only when it has expired. Expired rows are
pruned once a minute per process, not on every token (a delete on every call costs a round
trip and contends between workers).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from davinci_pa.store.database import Database
from davinci_pa.store.schema import jwt_replay
from davinci_pa.store.upsert import dialect_insert

PRUNE_INTERVAL = 60.0
"""Seconds between deletions of expired token ids."""

_PRUNE = sa.delete(jwt_replay).where(jwt_replay.c.expires_at < sa.bindparam("now"))


def _remember(dialect: str) -> Any:
    """INSERT the id; on a conflict take the row over only if it expired; RETURNING tells."""
    insert = dialect_insert(dialect)(jwt_replay)
    return insert.on_conflict_do_update(
        index_elements=[jwt_replay.c.issuer, jwt_replay.c.jti],
        set_={"expires_at": insert.excluded.expires_at},
        where=jwt_replay.c.expires_at < sa.bindparam("now"),
    ).returning(jwt_replay.c.jti)


class DatabaseReplayCache:
    """Remember each (issuer, jti) until its token expires, across processes and hosts."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock
        self._next_prune = 0.0
        self._remember = _remember(db.dialect)

    def add_if_new(self, issuer: str, jti: str, expires_at: float) -> bool:
        """Record the token id; return False when it was already seen and is unexpired."""
        now = self._clock()
        values = {"issuer": issuer, "jti": jti, "expires_at": expires_at, "now": now}
        with self._db.statements() as conn:
            if now >= self._next_prune:
                conn.execute(_PRUNE, {"now": now})
                self._next_prune = now + PRUNE_INTERVAL
            return conn.execute(self._remember, values).first() is not None
