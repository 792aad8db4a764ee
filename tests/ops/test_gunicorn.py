"""gunicorn with 4 workers on a fresh database: migrated once by ``db upgrade``, then boots.

Also: JSON log lines from gunicorn and the app alike, metrics summed over every worker, and
a fresh database refused by the master in one line with exit status 2.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests._shared import REPO


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "davinci_pa", "serve", "--workers", "4", "--port", str(port)]
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)


def test_four_workers_boot_on_a_fresh_database_after_db_upgrade(tmp_path: Path) -> None:
    env = {**os.environ, "DAVINCI_PA_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}"}
    upgrade = [sys.executable, "-m", "davinci_pa", "db", "upgrade"]
    subprocess.run(upgrade, cwd=REPO, env=env, check=True, capture_output=True, timeout=60)
    port, log = _port(), tmp_path / "gunicorn.log"
    server = _serve(env, port, log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        for _ in range(40):
            assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
        metrics = requests.get(f"{base}/metrics", timeout=5).text
    finally:
        server.terminate()
        server.wait(timeout=30)
    sample = 'davinci_pa_http_requests_total{method="GET",route="/healthz",status="200"}'
    (line,) = [m for m in metrics.splitlines() if m.startswith(sample)]
    assert float(line.split()[-1]) == 40
    lines = [json.loads(row) for row in log.read_text().splitlines() if row.strip()]
    booted = [r for r in lines if r["message"].startswith("Booting worker")]
    assert len(booted) == 4
    assert not [r for r in lines if r["level"] in {"ERROR", "CRITICAL"}], lines
    requests_logged = [r for r in lines if r["logger"] == "davinci_pa.request"]
    assert {r["route"] for r in requests_logged} >= {"/readyz", "/healthz", "/metrics"}


def test_the_master_refuses_an_unmigrated_database_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "DAVINCI_PA_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}"}
    log = tmp_path / "gunicorn.log"
    server = _serve(env, _port(), log)
    assert server.wait(timeout=60) == 2
    text = log.read_text()
    assert "Booting worker" not in text
    assert "Traceback" not in text
    assert (
        text.strip().splitlines()[-1].startswith("davinci-pa: database schema is at revision none")
    )
