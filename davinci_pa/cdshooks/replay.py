"""Replay protection for CDS Client JWTs: each ``jti`` is accepted once per issuer.

CDS Hooks 2.0.1 §Trusting CDS Clients makes ``jti`` REQUIRED "to protect against replay
attacks". A :class:`ReplayCache` remembers ``(iss, jti)`` until the token expires; the
in-memory one serves a single process, a shared (database) one serves a cluster.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable


@runtime_checkable
class ReplayCache(Protocol):
    """Records token ids until they expire."""

    def add_if_new(self, iss: str, jti: str, expires_at: float) -> bool:
        """Record ``(iss, jti)`` until ``expires_at`` (epoch seconds); False if already seen."""
        ...


class InMemoryReplayCache:
    """A thread-safe, bounded :class:`ReplayCache` for one process.

    Entries are forgotten once expired. When ``max_entries`` live entries exist, the one
    expiring soonest is dropped to make room (tokens live minutes, so this only happens
    under a flood).
    """

    def __init__(
        self, *, clock: Callable[[], float] = time.time, max_entries: int = 100_000
    ) -> None:
        self._clock = clock
        self._max = max_entries
        self._seen: dict[tuple[str, str], float] = {}
        self._expiry: list[tuple[float, str, str]] = []
        self._lock = threading.Lock()

    def add_if_new(self, iss: str, jti: str, expires_at: float) -> bool:
        """Record ``(iss, jti)``; return False when it was already recorded and not expired."""
        key = (iss, jti)
        with self._lock:
            self._purge(self._clock())
            if key in self._seen:
                return False
            while len(self._seen) >= self._max and self._expiry:
                _, old_iss, old_jti = heapq.heappop(self._expiry)
                self._seen.pop((old_iss, old_jti), None)
            self._seen[key] = expires_at
            heapq.heappush(self._expiry, (expires_at, iss, jti))
            return True

    def __len__(self) -> int:
        with self._lock:
            self._purge(self._clock())
            return len(self._seen)

    def _purge(self, now: float) -> None:
        while self._expiry and self._expiry[0][0] < now:
            _, iss, jti = heapq.heappop(self._expiry)
            self._seen.pop((iss, jti), None)
