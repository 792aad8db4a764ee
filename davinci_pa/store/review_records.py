"""Storage for utilization review: reviewer accounts, sessions and appeals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from davinci_pa.store.clock import Clock, aware_row, utc_now
from davinci_pa.store.database import Database
from davinci_pa.store.pas_history import HistoryEvent, add_history
from davinci_pa.store.schema import pas_appeals, review_sessions, reviewers


@dataclass(frozen=True, slots=True)
class ReviewerRow:
    """A stored workbench account."""

    username: str
    password_hash: str
    role: str
    disabled: bool = False
    failed_logins: int = 0
    locked_until: datetime | None = None
    created_at: datetime | None = None


class Reviewers:
    """Reviewer accounts."""

    def __init__(self, db: Database, *, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock

    def add(self, row: ReviewerRow) -> bool:
        """Store a new account; False when the username is taken."""
        now = self._clock()
        values = {
            "username": row.username,
            "password_hash": row.password_hash,
            "role": row.role,
            "disabled": row.disabled,
            "failed_logins": 0,
            "created_at": now,
            "updated_at": now,
        }
        try:
            with self._db.transaction(conflicts=True) as conn:
                conn.execute(sa.insert(reviewers).values(**values))
        except sa.exc.IntegrityError:
            return False
        return True

    def get(self, username: str) -> ReviewerRow | None:
        """The account, or None."""
        query = sa.select(reviewers).where(reviewers.c.username == username)
        with self._db.transaction() as conn:
            row = conn.execute(query).mappings().first()
        return _reviewer(row) if row else None

    def all(self) -> list[ReviewerRow]:
        """Every account, by username."""
        with self._db.transaction() as conn:
            rows = conn.execute(sa.select(reviewers).order_by(reviewers.c.username)).mappings()
            return [_reviewer(r) for r in rows]

    def update(self, username: str, **values: Any) -> bool:
        """Change stored fields; False when there is no such account."""
        query = (
            sa.update(reviewers)
            .where(reviewers.c.username == username)
            .values(updated_at=self._clock(), **values)
        )
        with self._db.transaction() as conn:
            return conn.execute(query).rowcount == 1


def _reviewer(raw: Any) -> ReviewerRow:
    row = aware_row(raw)
    return ReviewerRow(
        row["username"],
        row["password_hash"],
        row["role"],
        bool(row["disabled"]),
        int(row["failed_logins"]),
        row["locked_until"],
        row["created_at"],
    )


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A workbench session (the cookie's token is stored only as its hash)."""

    token_hash: str
    username: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None


class Sessions:
    """Workbench sessions."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, row: SessionRow) -> None:
        """Store a new session."""
        with self._db.transaction() as conn:
            conn.execute(sa.insert(review_sessions).values(**_fields(row)))

    def get(self, token_hash: str) -> SessionRow | None:
        """The session with this token hash, ended or not."""
        query = sa.select(review_sessions).where(review_sessions.c.token_hash == token_hash)
        with self._db.transaction() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return SessionRow(**aware_row(row))

    def touch(self, token_hash: str, now: datetime) -> None:
        """Record activity (the idle timeout counts from here)."""
        self._set(token_hash, last_seen_at=now)

    def end(self, token_hash: str, now: datetime) -> None:
        """End one session (logout, idle timeout)."""
        self._set(token_hash, ended_at=now)

    def end_all(self, username: str, now: datetime) -> None:
        """End every session of an account (disabled)."""
        query = (
            sa.update(review_sessions)
            .where(review_sessions.c.username == username, review_sessions.c.ended_at.is_(None))
            .values(ended_at=now)
        )
        with self._db.transaction() as conn:
            conn.execute(query)

    def _set(self, token_hash: str, **values: Any) -> None:
        query = (
            sa.update(review_sessions)
            .where(review_sessions.c.token_hash == token_hash)
            .values(**values)
        )
        with self._db.transaction() as conn:
            conn.execute(query)


def _fields(row: Any) -> dict[str, Any]:
    return {k: getattr(row, k) for k in row.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class AppealRow:
    """An appeal of denied items and, once decided, its outcome per item."""

    id: str
    pa_id: str
    items: tuple[int, ...]
    received_at: datetime
    received_from: str | None
    note: str | None
    deniers: Mapping[str, str | None]
    recorded_by: str
    recorded_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    outcome: Mapping[str, str] | None = None
    approved: bool | None = None
    """Whether the outcome approved any appealed item (set when decided)."""


class Appeals:
    """Stored appeals."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, row: AppealRow, history: HistoryEvent) -> None:
        """Store an appeal with its history event."""
        values = _fields(row)
        values["items"] = list(row.items)
        values["deniers"] = dict(row.deniers)
        with self._db.transaction() as conn:
            conn.execute(sa.insert(pas_appeals).values(**values))
            add_history(conn, [history])

    def of(self, pa_id: str) -> list[AppealRow]:
        """Every appeal of a request, oldest first."""
        query = (
            sa.select(pas_appeals)
            .where(pas_appeals.c.pa_id == pa_id)
            .order_by(pas_appeals.c.recorded_at)
        )
        with self._db.transaction() as conn:
            return [_appeal(r) for r in conn.execute(query).mappings()]

    def decide(
        self, appeal_id: str, by: str, at: datetime, outcome: Mapping[str, str], *, approved: bool
    ) -> None:
        """Record an appeal's outcome (item sequence → review action) and if it approved any."""
        query = (
            sa.update(pas_appeals)
            .where(pas_appeals.c.id == appeal_id)
            .values(decided_at=at, decided_by=by, outcome=dict(outcome), approved=approved)
        )
        with self._db.transaction() as conn:
            conn.execute(query)


def _appeal(raw: Any) -> AppealRow:
    row = aware_row(raw)
    return AppealRow(
        row["id"],
        row["pa_id"],
        tuple(row["items"]),
        row["received_at"],
        row["received_from"],
        row["note"],
        dict(row["deniers"]),
        row["recorded_by"],
        row["recorded_at"],
        row["decided_at"],
        row["decided_by"],
        dict(row["outcome"]) if row["outcome"] is not None else None,
        row["approved"],
    )
