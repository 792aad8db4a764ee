"""A JWT ``jti`` replay cache shared by every worker through the database.

CDS Hooks §Trusting CDS Clients: ``jti`` protects against replay. A token id is accepted
once per issuer until the token expires; expired rows are pruned as new ones arrive.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from davinci_pa.store.database import Database
from davinci_pa.store.schema import jwt_replay


class DatabaseReplayCache:
    """Remember each (issuer, jti) until its token expires, across processes and hosts."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    def add_if_new(self, issuer: str, jti: str, expires_at: float) -> bool:
        """Record the token id; return False when it was already seen and is unexpired."""
        now = self._clock()
        try:
            with self._db.transaction(conflicts=True) as conn:
                conn.execute(sa.delete(jwt_replay).where(jwt_replay.c.expires_at < now))
                conn.execute(
                    sa.insert(jwt_replay).values(issuer=issuer, jti=jti, expires_at=expires_at)
                )
        except IntegrityError:
            return False
        return True
