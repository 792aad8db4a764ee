"""Finding 4 at delivery time: the address actually connected to decides, redirects stay put.

A name that resolves to a private address passes the URL check (it is an ``https`` name),
so the socket's peer is checked after connecting and before a byte is sent.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from davinci_pa.fhir.egress import EgressPolicy, EgressRefused


class Listener:
    """A TCP socket on 127.0.0.1 counting the bytes clients send it."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.settimeout(2)
            try:
                while chunk := conn.recv(4096):
                    self.received += len(chunk)
            except OSError:
                pass
            conn.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    found = Listener()
    yield found
    found.sock.close()


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_a_name_resolving_to_loopback_is_refused_before_sending(
    listener: Listener, scheme: str
) -> None:
    egress = EgressPolicy(["https://allowed.example/"])
    url = f"{scheme}://localhost:{listener.port}/notify"
    if scheme == "http":
        with pytest.raises(EgressRefused):
            egress.post(url, data=b"{}", timeout=5)
        return
    egress.check(url)  # a name: nothing to judge before connecting
    with pytest.raises(requests.ConnectionError, match="not a public address"):
        egress.post(url, data=b"{}", timeout=5)
    assert listener.received == 0


def test_an_allowlisted_prefix_may_be_private(listener: Listener) -> None:
    egress = EgressPolicy([f"http://127.0.0.1:{listener.port}/notify"])
    with pytest.raises(requests.ReadTimeout):  # sent, but the listener never answers HTTP
        egress.post(f"http://127.0.0.1:{listener.port}/notify", data=b"{}", timeout=1)
    assert listener.received > 0
    with pytest.raises(EgressRefused):
        egress.check(f"http://127.0.0.1:{listener.port}/admin")


class Redirecting:
    """An HTTP server answering every POST with 307 to ``target``; counts requests."""

    def __init__(self, target: str) -> None:
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                outer.hits += 1
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(307)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/notify"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()


def test_redirects_are_not_followed(listener: Listener) -> None:
    redirecting = Redirecting(f"http://127.0.0.1:{listener.port}/latest/meta-data/")
    try:
        egress = EgressPolicy(["http://127.0.0.1:*/notify"])
        answer = egress.post(redirecting.url, data=b"{}", timeout=5)
        assert answer.status_code == 307
        assert redirecting.hits == 1
        assert listener.received == 0
    finally:
        redirecting.http.shutdown()
        redirecting.http.server_close()


def test_environment_proxies_are_ignored(
    listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy would hide the real peer; the guarded session never uses one."""
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{listener.port}")
    with pytest.raises(requests.ConnectionError, match="not a public address"):
        EgressPolicy().post(f"https://localhost:{listener.port}/", data=b"{}", timeout=5)
    assert listener.received == 0
