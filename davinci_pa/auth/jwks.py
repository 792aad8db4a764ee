"""Fetching JWK Sets published at a URL, with a TTL cache and one forced refresh per kid miss.

SMART App Launch 2.x §Backend Services: a client registered by JWK Set URL may rotate its
keys; the server re-reads the set when a token names an unknown ``kid``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import requests

from davinci_pa.errors import AuthenticationError


class JwksFetcher(Protocol):
    """Returns the JWK Set at a URL."""

    def fetch(self, url: str, *, refresh: bool = False) -> Mapping[str, Any]:
        """Return the set; ``refresh`` bypasses the cache. Raises AuthenticationError."""
        ...


class HttpJwksFetcher:
    """A :class:`JwksFetcher` over ``requests``: no redirects, size limit, TTL cache."""

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        ttl_seconds: float = 300.0,
        min_refresh_seconds: float = 30.0,
        max_bytes: int = 256 * 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session or requests.Session()
        self._ttl = ttl_seconds
        self._min_refresh = min_refresh_seconds
        self._max_bytes = max_bytes
        self._clock = clock
        self._cache: dict[str, tuple[float, Mapping[str, Any]]] = {}
        self._lock = threading.Lock()

    def fetch(self, url: str, *, refresh: bool = False) -> Mapping[str, Any]:
        """Return the (possibly cached) JWK Set at ``url``."""
        now = self._clock()
        with self._lock:
            cached = self._cache.get(url)
        if cached is not None:
            age = now - cached[0]
            if age < self._ttl and (not refresh or age < self._min_refresh):
                return cached[1]
        jwks = self._download(url)
        with self._lock:
            self._cache[url] = (now, jwks)
        return jwks

    def _download(self, url: str) -> Mapping[str, Any]:
        try:
            response = self._session.get(url, timeout=(2.0, 5.0), allow_redirects=False)
        except requests.RequestException as exc:
            raise AuthenticationError(f"cannot fetch the JWK Set at {url}") from exc
        if response.status_code != 200 or len(response.content) > self._max_bytes:
            raise AuthenticationError(f"the JWK Set at {url} is unavailable")
        try:
            jwks = response.json()
        except ValueError as exc:
            raise AuthenticationError(f"the JWK Set at {url} is not JSON") from exc
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise AuthenticationError(f"the document at {url} is not a JWK Set")
        return jwks
