"""Workbench sessions: a random token in the cookie, its hash and a CSRF token in the store.

A session ends at logout, after :data:`IDLE_TIMEOUT` without activity, or when its account
is disabled; an ended session is never valid again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from davinci_pa.review.accounts import Accounts, Reviewer
from davinci_pa.store.clock import utc_now
from davinci_pa.store.review_records import SessionRow, Sessions

IDLE_TIMEOUT = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Session:
    """A live session: who, and the CSRF token every form of it must carry."""

    token: str
    reviewer: Reviewer
    csrf_token: str


class SessionManager:
    """Opens, resolves and ends workbench sessions."""

    def __init__(
        self,
        store: Sessions,
        accounts: Accounts,
        *,
        idle_timeout: timedelta = IDLE_TIMEOUT,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._accounts = accounts
        self._idle = idle_timeout
        self._clock = clock

    def open(self, reviewer: Reviewer) -> Session:
        """A new session for a reviewer who just logged in."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self._clock()
        self._store.add(SessionRow(_hash(token), reviewer.username, csrf, now, now, None))
        return Session(token, reviewer, csrf)

    def resolve(self, token: str | None) -> Session | None:
        """The live session for a cookie token; None when absent, ended or idle too long."""
        if not token or len(token) > 128:
            return None
        row = self._store.get(_hash(token))
        now = self._clock()
        if row is None or row.ended_at is not None:
            return None
        if now - row.last_seen_at > self._idle:
            self._store.end(row.token_hash, now)
            return None
        reviewer = self._accounts.get(row.username)
        if reviewer is None or reviewer.disabled:
            return None
        self._store.touch(row.token_hash, now)
        return Session(token, reviewer, row.csrf_token)

    def close(self, token: str) -> None:
        """Log out."""
        self._store.end(_hash(token), self._clock())


def csrf_matches(session: Session, sent: str | None) -> bool:
    """Tell whether a form's ``csrf_token`` is this session's (constant time)."""
    return bool(sent) and hmac.compare_digest(session.csrf_token, str(sent))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
