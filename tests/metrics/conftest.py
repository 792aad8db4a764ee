"""Metrics fixtures: the hand-counted year on SQLite and PostgreSQL, and served over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from davinci_pa import shipped
from davinci_pa.metrics.report import MetricsReporter
from davinci_pa.payer import Payer
from davinci_pa.rules.loader import load_rule_pack
from davinci_pa.rules.model import RulePack
from davinci_pa.server import create_app
from davinci_pa.server.settings import ServerSettings
from davinci_pa.store import Database
from davinci_pa.store.pa_metrics import PaMetricsStore
from tests.metrics.seed import YEAR_2026, seed
from tests.store.conftest import database as database
from tests.support.database import migrated_sqlite


@pytest.fixture(scope="session")
def pack() -> RulePack:
    return load_rule_pack(shipped.rule_pack())


@pytest.fixture
def reporter(database: Database, pack: RulePack) -> MetricsReporter:
    """A reporter over the hand-counted requests of :data:`YEAR_2026`."""
    seed(database, YEAR_2026)
    return MetricsReporter(PaMetricsStore(database), pack)


@dataclass
class Site:
    """The server over HTTP on 127.0.0.1 with the hand-counted year in its database."""

    base: str
    url: str
    payer: Payer

    def get(self, path: str, **headers: str) -> requests.Response:
        return requests.get(self.base + path, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("metrics")
    url = migrated_sqlite(folder / "metrics.sqlite3")
    database = Database(url)
    seed(database, YEAR_2026)
    database.dispose()
    http = make_server("127.0.0.1", 0, _unavailable, threaded=True)
    base = f"http://127.0.0.1:{http.server_port}"
    http.app = create_app(
        ServerSettings(database_url=url, public_base_url=base, pas_delivery_seconds="0")
    )
    threading.Thread(target=http.serve_forever, daemon=True).start()
    yield Site(base, url, http.app.extensions["davinci_pa.payer"])
    http.shutdown()
    http.server_close()


def _unavailable(environ: Any, start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [])
    return []
