"""Workbench accounts: Argon2id password hashes, roles, lockout after failed logins.

Passwords are hashed with ``argon2-cffi`` (Argon2id, its default parameters, rehashed on
login when those change). Five failed logins lock an account for 15 minutes; a disabled
account cannot log in and its sessions end.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from davinci_pa.errors import AuthenticationError, RequestError
from davinci_pa.review.roles import ACCOUNT_ROLES
from davinci_pa.store.clock import utc_now
from davinci_pa.store.review_records import ReviewerRow, Reviewers, Sessions

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)


class AccountError(RequestError):
    """An account command that cannot be carried out (bad name, role, password, unknown)."""

    code = "invalid-account"


class LoginRefused(AuthenticationError):
    """Wrong username or password, a locked or a disabled account (one message for all)."""

    code = "login-refused"


@dataclass(frozen=True, slots=True)
class Reviewer:
    """A workbench account as the application sees it (no hash)."""

    username: str
    role: str
    disabled: bool


class Accounts:
    """Create, list, disable and authenticate reviewer accounts."""

    def __init__(
        self,
        reviewers: Reviewers,
        sessions: Sessions,
        *,
        clock: Callable[[], datetime] = utc_now,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self._reviewers = reviewers
        self._sessions = sessions
        self._clock = clock
        self._hasher = hasher or PasswordHasher()

    def add(self, username: str, role: str, password: str) -> Reviewer:
        """Create an account.

        Raises:
            AccountError: a malformed username, an unknown role, a short password or a
                username already taken.
        """
        if not USERNAME.fullmatch(username):
            raise AccountError(
                "a username is 2-64 characters: lower-case letters, digits, '.', '_', '-'"
            )
        if role not in ACCOUNT_ROLES:
            raise AccountError(f"unknown role {role!r}; expected one of {list(ACCOUNT_ROLES)}")
        _check_password(password)
        row = ReviewerRow(username, self._hasher.hash(password), role)
        if not self._reviewers.add(row):
            raise AccountError(f"a reviewer named {username!r} already exists")
        return Reviewer(username, role, False)

    def all(self) -> list[Reviewer]:
        """Every account."""
        return [Reviewer(r.username, r.role, r.disabled) for r in self._reviewers.all()]

    def get(self, username: str) -> Reviewer | None:
        """One account."""
        row = self._reviewers.get(username)
        return Reviewer(row.username, row.role, row.disabled) if row else None

    def disable(self, username: str) -> None:
        """Disable an account and end its sessions."""
        if not self._reviewers.update(username, disabled=True):
            raise AccountError(f"no reviewer named {username!r}")
        self._sessions.end_all(username, self._clock())

    def authenticate(self, username: str, password: str) -> Reviewer:
        """The account when the password is right.

        Raises:
            LoginRefused: unknown user, wrong password, locked or disabled account.
        """
        row = self._reviewers.get(username) if len(password) <= MAX_PASSWORD else None
        now = self._clock()
        if row is None or row.disabled or (row.locked_until and row.locked_until > now):
            raise LoginRefused("wrong username or password, or the account is locked")
        try:
            self._hasher.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            self._failed(row, now)
            raise LoginRefused("wrong username or password, or the account is locked") from None
        changes: dict[str, object] = {"failed_logins": 0, "locked_until": None}
        if self._hasher.check_needs_rehash(row.password_hash):
            changes["password_hash"] = self._hasher.hash(password)
        self._reviewers.update(username, **changes)
        return Reviewer(row.username, row.role, row.disabled)

    def _failed(self, row: ReviewerRow, now: datetime) -> None:
        failures = row.failed_logins + 1
        locked = now + LOCKOUT if failures >= MAX_FAILURES else None
        self._reviewers.update(
            row.username, failed_logins=0 if locked else failures, locked_until=locked
        )


def _check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(
            f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters; this one has "
            f"{len(password)}"
        )
