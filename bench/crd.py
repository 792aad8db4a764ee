"""CRD hook latency and throughput: in-process p50 and p99, then over HTTP with gunicorn.

Aims: in-process p50 <= 5 ms; over HTTP p99 <= 100 ms at >= 150 requests/s.

Uses the CRD 2.2 IG's full-prefetch order-sign request (../shared/specs/crd-2.2/
CRDServiceRequest.json) and the shipped rule pack.

    .venv/bin/python bench/crd.py                      # both measurements, SQLite
    .venv/bin/python bench/crd.py --database-url postgresql+psycopg://postgres@127.0.0.1/test

In-process: ``Payer.authenticate`` + ``Payer.handle_hook`` (JWT verification, validation,
rules, response, storage), warm. Over HTTP: gunicorn on 127.0.0.1, ``--concurrency``
client threads, each request with its own freshly signed JWT (signed before timing starts).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from davinci_pa.cdshooks.jwt import TrustedIssuer, sign_test_token  # noqa: E402
from davinci_pa.config import PayerOptions, SecurityOptions  # noqa: E402
from davinci_pa.payer import Payer  # noqa: E402
from davinci_pa.store import Database  # noqa: E402

REQUEST = ROOT.parent / "shared" / "specs" / "crd-2.2" / "CRDServiceRequest.json"
SIGNER = json.loads((ROOT / "examples" / "keys" / "demo-ehr.private.json").read_text())
TRUSTED = ROOT / "examples" / "keys" / "trusted-issuers.json"
SERVICE = "order-sign-crd"


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def token(url: str) -> str:
    key = SIGNER["key"]
    return sign_test_token(key, iss=SIGNER["issuer"], aud=url, kid=key["kid"], alg=key["alg"])


def in_process(body: dict[str, Any], database_url: str, rounds: int) -> None:
    db = Database(database_url)
    db.migrate()
    issuers = json.loads(TRUSTED.read_text())
    payer = Payer.from_rule_pack(
        ROOT / "cql_rules",
        database=db,
        trusted_issuers=[TrustedIssuer(iss, jwks=v["jwks"]) for iss, v in issuers.items()],
        options=PayerOptions(security=SecurityOptions(public_base_url="http://bench")),
    )
    url = payer.service_url(SERVICE)
    tokens = [token(url) for _ in range(rounds + 50)]
    samples = []
    for i, bearer in enumerate(tokens):
        started = time.perf_counter()
        caller = payer.authenticate(f"Bearer {bearer}", audience=url)
        payer.handle_hook(SERVICE, {**body, "hookInstance": str(uuid.uuid4())}, caller=caller)
        if i >= 50:
            samples.append((time.perf_counter() - started) * 1000)
    print(
        f"in-process  n={len(samples)}  p50={percentile(samples, 50):.2f} ms  "
        f"p99={percentile(samples, 99):.2f} ms  mean={statistics.mean(samples):.2f} ms"
    )
    db.dispose()


def over_http(body: dict[str, Any], database_url: str, args: argparse.Namespace) -> None:
    port = args.port
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DAVINCI_PA_DATABASE_URL": database_url,
        "DAVINCI_PA_TRUSTED_ISSUERS": str(TRUSTED),
        "DAVINCI_PA_PUBLIC_BASE_URL": base,
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(args.workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "davinci_pa.server:create_app()",
        ],
        env=env,
        cwd=ROOT,
    )
    try:
        _wait_ready(base)
        url = f"{base}/cds-services/{SERVICE}"
        total = args.requests
        print(f"signing {total} tokens ...", flush=True)
        tokens = [token(url) for _ in range(total)]
        latencies, errors, elapsed = _load(url, body, tokens, args.concurrency)
        print(
            f"http        n={len(latencies)}  concurrency={args.concurrency}  "
            f"workers={args.workers}  p50={percentile(latencies, 50):.1f} ms  "
            f"p99={percentile(latencies, 99):.1f} ms  "
            f"throughput={len(latencies) / elapsed:.0f} req/s  errors={errors}"
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_ready(base: str) -> None:
    for _ in range(100):
        try:
            if requests.get(f"{base}/healthz", timeout=1).ok:
                return
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit("gunicorn did not start")


def _load(
    url: str, body: dict[str, Any], tokens: list[str], concurrency: int
) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    local = threading.local()
    payload = [json.dumps({**body, "hookInstance": str(uuid.uuid4())}) for _ in tokens]

    def send(i: int) -> None:
        nonlocal errors
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        started = time.perf_counter()
        response = session.post(
            url,
            data=payload[i],
            timeout=30,
            headers={"Authorization": f"Bearer {tokens[i]}", "Content-Type": "application/json"},
        )
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            if response.status_code == 200:
                latencies.append(elapsed)
            else:
                errors += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(send, range(len(tokens))))
    return latencies, errors, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--rounds", type=int, default=500, help="in-process calls")
    parser.add_argument("--requests", type=int, default=3000, help="HTTP requests")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    if not REQUEST.exists():
        raise SystemExit(f"{REQUEST} not found: the benchmark needs ../shared beside the checkout")
    body = json.loads(REQUEST.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        in_process(body, url, args.rounds)
        if not args.skip_http:
            over_http(body, url, args)


if __name__ == "__main__":
    main()
