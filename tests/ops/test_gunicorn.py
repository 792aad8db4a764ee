"""gunicorn with 4 workers on a fresh SQLite or PostgreSQL database: ``db upgrade``, then boots.

Also: JSON log lines from gunicorn and the app alike, metrics summed over every worker, and
a fresh database refused by the master in one line with exit status 2.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from davinci_pa.store import Database
from davinci_pa.store.database import head_revision
from tests._shared import REPO
from tests.store.conftest import postgres_schema_url
from tests.support.gunicorn import davinci_pa, running_gunicorn, start_gunicorn


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database (a new SQLite file, a new PostgreSQL schema)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    else:
        yield from postgres_schema_url()


def test_four_workers_boot_on_a_fresh_database_after_db_upgrade(
    fresh_url: str, tmp_path: Path
) -> None:
    env = {**os.environ, "DAVINCI_PA_DATABASE_URL": fresh_url}
    davinci_pa("db", "upgrade", env=env)
    with running_gunicorn(env, tmp_path / "gunicorn.log") as server:
        for _ in range(40):
            assert requests.get(f"{server.base}/healthz", timeout=5).status_code == 200
        assert all(server.ready() for _ in range(8))
        metrics = requests.get(f"{server.base}/metrics", timeout=5).text
    sample = 'davinci_pa_http_requests_total{method="GET",route="/healthz",status="200"}'
    (line,) = [m for m in metrics.splitlines() if m.startswith(sample)]
    assert float(line.split()[-1]) == 40
    lines = server.lines()
    booted = [r for r in lines if r["message"].startswith("Booting worker")]
    assert len(booted) == 4
    assert not server.errors(), lines
    requests_logged = [r for r in lines if r["logger"] == "davinci_pa.request"]
    assert {r["route"] for r in requests_logged} >= {"/readyz", "/healthz", "/metrics"}


def test_the_master_refuses_an_unmigrated_database_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "DAVINCI_PA_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}"}
    log = tmp_path / "gunicorn.log"
    server = start_gunicorn(env, log).process
    assert server.wait(timeout=60) == 2
    text = log.read_text()
    assert "Booting worker" not in text
    assert "Traceback" not in text
    assert (
        text.strip().splitlines()[-1].startswith("davinci-pa: database schema is at revision none")
    )


def test_db_upgrade_from_three_hosts_at_once_on_postgresql() -> None:
    """Each host's deploy step may run ``db upgrade``: they wait for each other, all succeed."""
    for url in postgres_schema_url():
        env = {**os.environ, "DAVINCI_PA_DATABASE_URL": url}
        command = [sys.executable, "-m", "davinci_pa", "db", "upgrade"]
        hosts = [
            subprocess.Popen(command, cwd=REPO, env=env, stderr=subprocess.PIPE) for _ in range(3)
        ]
        errors = [host.communicate(timeout=120)[1].decode() for host in hosts]
        assert [host.returncode for host in hosts] == [0, 0, 0], errors
        database = Database(url)
        assert database.revision() == head_revision()
        database.dispose()
