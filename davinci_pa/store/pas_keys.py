"""The access-token signing key shared through the database.

When no signing key is configured, the first worker to start stores a new one and every
other worker (and host) reads that same key, so tokens issued by one verify on all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from davinci_pa.errors import StoreError
from davinci_pa.store.clock import Clock, utc_now
from davinci_pa.store.database import Database
from davinci_pa.store.schema import auth_signing_keys


class SharedSigningKey:
    """Load the named private JWK, creating it with ``generate`` the first time."""

    def __init__(self, db: Database, *, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock

    def load_or_create(
        self, generate: Callable[[], dict[str, Any]], *, name: str = "access-token"
    ) -> dict[str, Any]:
        """Return the stored key, storing ``generate()`` if there is none yet."""
        stored = self._load(name)
        if stored is not None:
            return stored
        try:
            with self._db.transaction(conflicts=True) as conn:
                conn.execute(
                    sa.insert(auth_signing_keys).values(
                        name=name, jwk=generate(), created_at=self._clock()
                    )
                )
        except IntegrityError:
            pass  # another worker stored one first: use theirs
        found = self._load(name)
        if found is None:
            raise StoreError("the shared signing key could not be stored")
        return found

    def _load(self, name: str) -> dict[str, Any] | None:
        query = sa.select(auth_signing_keys.c.jwk).where(auth_signing_keys.c.name == name)
        with self._db.transaction() as conn:
            row = conn.execute(query).first()
        return dict(row[0]) if row else None
