"""Outbound HTTP to URLs a remote party chose (Subscription rest-hook endpoints): no SSRF.

A subscriber names the URL we POST notifications to, so it could name our own admin routes,
the cloud metadata service or a database port. Every request here goes through
:class:`EgressPolicy`:

* the scheme is ``https``, or the URL lies under an operator-allowlisted prefix
  (``DAVINCI_PA_ALLOWED_SUBSCRIPTION_ENDPOINTS``, e.g. ``http://127.0.0.1:9000/`` for a demo);
* the address the socket actually connected to (after DNS, so re-resolving names cannot
  slip past) must be a public one: loopback, private, link-local (``169.254.169.254``),
  carrier-grade NAT, multicast, reserved and unspecified addresses are refused unless the
  URL is allowlisted;
* redirects are never followed, proxies from the environment are ignored.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from davinci_pa.fhir.client import AllowList


class EgressRefused(ValueError):
    """The URL may not be contacted (scheme, or an address that is not public)."""


class EgressPolicy:
    """Which URLs may be contacted, and a session that enforces it at connect time.

    Args:
        allowed_prefixes: URL prefixes exempt from the https and public-address rules.
    """

    def __init__(self, allowed_prefixes: Iterable[str] = ()) -> None:
        self.allowlist = AllowList(allowed_prefixes)
        self._guarded = _session(guarded=True)
        self._trusted = _session(guarded=False)

    def check(self, url: str) -> None:
        """Raise :class:`EgressRefused` unless ``url`` is https or allowlisted.

        The address check happens when connecting (:meth:`post`); this is the part that can
        be judged from the URL alone, at Subscription creation.
        """
        if self.allowlist.permits(url):
            return
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a malformed port
        except ValueError:
            raise EgressRefused("the endpoint is not a well-formed URL") from None
        if parts.scheme != "https" or not parts.hostname:
            raise EgressRefused("the endpoint must be an https URL")
        if parts.username or parts.password:
            raise EgressRefused("the endpoint must not carry credentials")
        literal = _literal_address(parts.hostname)
        if literal is not None and not literal.is_global:
            raise EgressRefused(f"the endpoint's address {literal} is not a public address")

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        """POST without redirects; refused addresses raise ``requests.ConnectionError``."""
        self.check(url)
        session = self._trusted if self.allowlist.permits(url) else self._guarded
        return session.post(url, allow_redirects=False, **kwargs)


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _check_peer(sock: socket.socket, connection: HTTPConnection) -> None:
    address = ipaddress.ip_address(sock.getpeername()[0])
    mapped = getattr(address, "ipv4_mapped", None)
    if not (mapped or address).is_global:
        sock.close()
        raise NewConnectionError(
            connection, f"refused: {connection.host} connects to {address}, not a public address"
        )


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _check_peer(sock, self)
        return sock


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _check_peer(sock, self)
        return sock


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }


def _session(*, guarded: bool) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # an environment proxy would hide the real peer address
    if guarded:
        adapter = _GuardedAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    return session
