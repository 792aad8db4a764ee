"""Fetching the JWK Sets that signers publish at a URL (RFC 7517 §5).

Used for CDS Hooks 2.0.1 §Trusting CDS Clients and SMART App Launch 2.x §Backend Services.

:class:`HttpJwksFetcher` downloads a set with timeouts, a size limit and no redirects,
caches it for a TTL, lets the verifier force one refresh when a ``kid`` is unknown (key
rotation) while rate-limiting such refreshes, and keeps serving the last good set through
an outage of the signer's server.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

import requests

from davinci_pa.errors import AuthenticationError


class JwksUnavailable(AuthenticationError):
    """The issuer's JWK Set could not be fetched or is not a JWK Set."""

    code = "jwks-unavailable"


@runtime_checkable
class JwksFetcher(Protocol):
    """Returns the JWK Set published at a URL."""

    def fetch(self, url: str, *, refresh: bool = False) -> Mapping[str, Any]:
        """Return the JWK Set at ``url``; ``refresh`` asks to bypass the cache.

        Raises:
            JwksUnavailable: the set cannot be obtained.
        """
        ...


class HttpJwksFetcher:
    """A :class:`JwksFetcher` over ``requests`` with a TTL cache.

    Args:
        session: the HTTP session to use (a new one by default).
        ttl_seconds: how long a fetched set is reused.
        min_refresh_seconds: forced refreshes of one URL happen at most this often, so a
            flood of tokens with made-up ``kid`` values cannot hammer the issuer.
        timeout: ``(connect, read)`` seconds.
        max_bytes: larger bodies are refused.
        clock: monotonic seconds.
    """

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        ttl_seconds: float = 300.0,
        min_refresh_seconds: float = 30.0,
        timeout: tuple[float, float] = (2.0, 5.0),
        max_bytes: int = 256 * 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session or requests.Session()
        self._ttl = ttl_seconds
        self._min_refresh = min_refresh_seconds
        self._timeout = timeout
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
        try:
            jwks = self._download(url)
        except JwksUnavailable:
            if cached is not None:  # keep serving the last good set through an outage
                return cached[1]
            raise
        with self._lock:
            self._cache[url] = (now, jwks)
        return jwks

    def _download(self, url: str) -> Mapping[str, Any]:
        if not url.startswith(("https://", "http://")):
            raise JwksUnavailable("the JWK Set URL must be an http(s) URL")
        try:
            with self._session.get(
                url,
                timeout=self._timeout,
                allow_redirects=False,
                stream=True,
                headers={"Accept": "application/jwk-set+json, application/json"},
            ) as response:
                if response.status_code != 200:
                    raise JwksUnavailable(
                        f"fetching the JWK Set at {url} answered HTTP {response.status_code}"
                    )
                body = _read_limited(response, self._max_bytes)
        except requests.RequestException as exc:
            raise JwksUnavailable(
                f"could not fetch the JWK Set at {url}: {type(exc).__name__}"
            ) from exc
        return _parse_jwks(body, url)


def _read_limited(response: requests.Response, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=16384):
        size += len(chunk)
        if size > max_bytes:
            raise JwksUnavailable(f"the JWK Set is larger than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_jwks(body: bytes, url: str) -> Mapping[str, Any]:
    try:
        jwks = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise JwksUnavailable(f"the JWK Set at {url} is not JSON") from exc
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise JwksUnavailable(f"the document at {url} is not a JWK Set (no 'keys' array)")
    return jwks
