"""Login attempts per client address and username, in a sliding window (docs/review.md).

Each web worker counts its own; together with the account lockout in the store (five
failures lock an account for 15 minutes) this slows password guessing. Counting by address
and name keeps a clinic whose staff share one address from locking each other out.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class LoginThrottle:
    """At most ``limit`` attempts per key (address and username) in ``window`` seconds."""

    def __init__(
        self, limit: int = 20, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Count an attempt under ``key``; False when it is over the limit."""
        now = self._clock()
        with self._lock:
            attempts = self._seen.setdefault(key, deque())
            while attempts and attempts[0] <= now - self._window:
                attempts.popleft()
            if len(attempts) >= self._limit:
                return False
            attempts.append(now)
            if len(self._seen) > 10_000:  # forget the oldest addresses, bounded memory
                for stale in list(self._seen)[:5_000]:
                    del self._seen[stale]
            return True
