"""The command line: `serve` answers discovery; `hook` signs, sends and prints an answer."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from davinci_pa.cli import main
from tests._shared import REPO, load_shared_json
from tests.server.conftest import ISSUER, Keys, Service


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_starts_and_answers_discovery(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "DAVINCI_PA_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}"}
    upgrade = [sys.executable, "-m", "davinci_pa", "db", "upgrade"]
    subprocess.run(upgrade, cwd=REPO, env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "davinci_pa", "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                body = requests.get(f"http://127.0.0.1:{port}/cds-services", timeout=1).json()
                break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            pytest.fail("davinci-pa serve did not start")
        assert len(body["services"]) == 6
        hook = requests.post(
            f"http://127.0.0.1:{port}/cds-services/order-sign-crd", json={}, timeout=5
        )
        assert hook.status_code == 401, "no trusted issuer configured: hook calls are refused"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_hook_command_prints_cards_and_coverage(
    service: Service, keys: Keys, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    signer = tmp_path / "ehr-key.json"
    signer.write_text(json.dumps({"issuer": ISSUER, "key": keys.by_alg["ES384"]}))
    request = tmp_path / "order-sign.json"
    request.write_text(json.dumps(load_shared_json("specs", "crd-2.2", "CRDServiceRequest.json")))
    status = main(["hook", str(request), "--url", service.base_url, "--key", str(signer)])
    out = capsys.readouterr().out
    assert status == 0
    assert "system action(s)" in out
    assert "coverage-assertion-id=" in out


def test_hook_command_reports_http_errors(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = tmp_path / "order-sign.json"
    request.write_text(json.dumps(load_shared_json("specs", "crd-2.2", "CRDServiceRequest.json")))
    key = REPO / "examples" / "keys" / "demo-ehr.private.json"  # not trusted by this service
    status = main(["hook", str(request), "--url", service.base_url, "--key", str(key)])
    assert status == 1
    assert "unauthenticated" in capsys.readouterr().out


def test_hook_token_option_prints_a_jwt_for_curl(
    service: Service, keys: Keys, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    signer = tmp_path / "ehr-key.json"
    signer.write_text(json.dumps({"issuer": ISSUER, "key": keys.by_alg["ES384"]}))
    body = load_shared_json("specs", "crd-2.2", "CRDServiceRequest.json")
    request = tmp_path / "order-sign.json"
    request.write_text(json.dumps(body))
    args = ["hook", str(request), "--url", service.base_url, "--key", str(signer), "--token"]
    assert main(args) == 0
    token = capsys.readouterr().out.strip()
    answer = service.call(body, token=token)
    assert answer.status_code == 200, answer.text
