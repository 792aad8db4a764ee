"""PAS fixtures: the app served over real HTTP on 127.0.0.1, a SMART client, a receiver."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from davinci_pa.auth.client import fetch_token
from davinci_pa.server import create_app
from davinci_pa.server.settings import ServerSettings
from tests._shared import load_shared_json
from tests.auth.conftest import private_jwk, public_of
from tests.support.database import migrated_sqlite

HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
SCOPE = "system/Claim.write system/Claim.read system/Subscription.write system/Subscription.read"


def kit(version: str, name: str) -> list[dict[str, Any]]:
    data = load_shared_json("fixtures", "pas", version, name)
    return data if isinstance(data, list) else [data]


def with_code(bundle: dict[str, Any], code: str, *, trace: str) -> dict[str, Any]:
    """Our own fixture: the kit's referral Bundle ordering HCPCS ``code``, its own trace number."""
    ours = copy.deepcopy(bundle)
    ours["identifier"]["value"] = f"OURS-{trace}"
    for entry in ours["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] in {"ServiceRequest", "DeviceRequest"}:
            key = "code" if "code" in resource else "codeCodeableConcept"
            resource[key] = {"coding": [{"system": HCPCS, "code": code}]}
        if resource["resourceType"] == "Claim":
            resource["identifier"][0]["value"] = trace
    return ours


class Server:
    def __init__(
        self, base: str, key: dict[str, Any], admin_key: dict[str, Any], payer: Any = None
    ) -> None:
        self.base = base
        self.payer = payer
        self.version = "v2.2.1"
        """The PAS version of the IG package the server validates against."""
        self.key = key
        self.admin_key = admin_key
        self.session = requests.Session()
        self._token = ""
        self._admin = ""

    def token(self, admin: bool = False) -> str:
        if admin:
            self._admin = self._admin or fetch_token(
                self.admin_key,
                client_id="reviewer",
                token_url=self.base + "/auth/token",
                scope="system/ClaimResponse.write",
            )
            return self._admin
        self._token = self._token or fetch_token(
            self.key, client_id="ehr", token_url=self.base + "/auth/token", scope=SCOPE
        )
        return self._token

    def post(
        self, path: str, body: Any, *, admin: bool = False, token: str | None = None
    ) -> requests.Response:
        headers = {
            "Authorization": f"Bearer {token or self.token(admin)}",
            "Content-Type": "application/fhir+json",
        }
        return self.session.post(
            self.base + path, data=json.dumps(body), headers=headers, timeout=30
        )


@contextmanager
def serve_pas(folder: Path, **extra: Any) -> Iterator[Server]:
    """The app over real HTTP on 127.0.0.1 with an ``ehr`` and a ``reviewer`` client.

    ``extra`` adds :class:`ServerSettings` fields (``ig_packages`` for profile validation).
    """
    key, admin_key = private_jwk("ES384", "ehr-1"), private_jwk("RS384", "rev-1")
    clients = {
        "ehr": {"jwks": {"keys": [public_of(key)]}},
        "reviewer": {
            "jwks": {"keys": [public_of(admin_key)]},
            "scope": "system/ClaimResponse.write",
            "roles": ["reviewer"],
        },
    }
    (folder / "clients.json").write_text(json.dumps(clients))
    http = make_server("127.0.0.1", 0, _placeholder, threaded=True)
    base = f"http://127.0.0.1:{http.server_port}"
    settings = ServerSettings(
        database_url=migrated_sqlite(folder / "pas.sqlite3"),
        clients=str(folder / "clients.json"),
        pas_default_payer="medicare-demo",
        pas_delivery_seconds="0.2",
        public_base_url=base,
        allowed_subscription_endpoints=("http://127.0.0.1:*",),
        **extra,
    )
    http.app = create_app(settings)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    client = Server(base, key, admin_key, http.app.extensions["davinci_pa.payer"])
    try:
        yield client
    finally:
        client.session.close()
        http.shutdown()
        http.server_close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve_pas(tmp_path_factory.mktemp("pas")) as client:
        yield client


def _placeholder(environ: Any, start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [])
    return []


class Receiver:
    """A rest-hook endpoint on 127.0.0.1 recording what it accepts.

    Set :attr:`answer` to make it fail: another HTTP status, or ``0`` to drop each
    connection unanswered; :attr:`rejected` counts the notifications it turned away.
    """

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.event = threading.Event()
        self.answer = 200
        self.rejected = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                if outer.answer != 200:
                    outer.rejected += 1
                    self.close_connection = True
                    if outer.answer:
                        self.send_response(outer.answer)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                    return
                outer.received.append((dict(self.headers.items()), body))
                outer.event.set()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/notify"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def wait_for(
        self, count: int, timeout: float = 15.0
    ) -> list[tuple[dict[str, str], dict[str, Any]]]:
        import time

        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.http.shutdown()
    r.http.server_close()
