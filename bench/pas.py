"""PAS $submit benchmarks: in process (p50/p99) and over HTTP (sustained submits/s).

    .venv/bin/python bench/pas.py [--runs 200] [--validate]
    .venv/bin/python bench/pas.py --http [--seconds 20] [--clients 8] [--workers 4] [--validate]
    .venv/bin/python bench/pas.py --http --validate --new-members

In process, each run submits one must-support Bundle (a fresh Bundle.identifier, so nothing
is answered from the duplicate cache) against a SQLite file database.

Over HTTP, gunicorn serves ``create_app()`` with ``--workers`` processes on a fresh
PostgreSQL schema (``DAVINCI_PA_BENCH_POSTGRES_URL``, default the test database on
127.0.0.1); ``--clients`` threads obtain a SMART token once and then submit the must-support
Bundles, each with its own identifier, for ``--seconds``. Every non-200 answer or transport
failure counts as an error.

The Bundles repeat every other resource as is, so the structure check answers them from its
cache; ``--new-members`` gives each submission a new Claim, Patient and Coverage identifier
too, as a stream of different members from the same provider would.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from davinci_pa.auth.client import fetch_token  # noqa: E402
from davinci_pa.auth.keys import generate_signing_jwk, thumbprint  # noqa: E402
from davinci_pa.pas.options import PasOptions  # noqa: E402
from davinci_pa.pas.service import PasService  # noqa: E402
from davinci_pa.rules.cql_evaluator import CqlTopicEvaluator  # noqa: E402
from davinci_pa.rules.evaluation import RuleBook  # noqa: E402
from davinci_pa.rules.loader import load_rule_pack  # noqa: E402
from davinci_pa.store import Database  # noqa: E402

SHARED = REPO.parent / "shared"
PAYLOAD = SHARED / "fixtures/pas/v2.2.1/must_support_pa_submit_request_payload.json"
PAS_IG = SHARED / "igs/davinci_pas_2.2.1.tgz"
MEMBER = "@MEMBER@"  # replaced per submission with --new-members
MEMBER_TYPES = {"Claim", "Patient", "Coverage"}
POSTGRES = os.environ.get(
    "DAVINCI_PA_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def main() -> None:
    """Run the benchmark the arguments ask for and print one summary line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200, help="in-process submissions")
    parser.add_argument("--validate", action="store_true", help="profile-validate each Bundle")
    parser.add_argument("--http", action="store_true", help="gunicorn + PostgreSQL over HTTP")
    parser.add_argument("--seconds", type=float, default=20.0, help="HTTP: load duration")
    parser.add_argument("--clients", type=int, default=8, help="HTTP: concurrent clients")
    parser.add_argument("--workers", type=int, default=4, help="HTTP: gunicorn workers")
    parser.add_argument(
        "--new-members",
        action="store_true",
        help="each Bundle a new Claim, Patient and Coverage (nothing served from the "
        "structure check's cache but the provider's and payer's resources)",
    )
    args = parser.parse_args()
    bundles = json.loads(PAYLOAD.read_text())
    if args.new_members:
        bundles = [_new_member_template(b) for b in bundles]
    print(http_benchmark(bundles, args) if args.http else in_process(bundles, args))


def in_process(bundles: list[dict[str, Any]], args: argparse.Namespace) -> str:
    """p50/p99 of ``PasService.submit`` on SQLite."""
    folder = REPO / "cql_rules"
    pack = load_rule_pack(folder)
    rules = RuleBook(pack, evaluator=CqlTopicEvaluator.for_pack(folder, pack))
    packages = (str(PAS_IG),) if args.validate else ()
    options = PasOptions(default_payer="medicare-demo", profile_packages=packages)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.sqlite3")
        db.migrate()
        service = PasService(rules=rules, database=db, options=options)
        timings = []
        for run in range(args.runs + 10):
            template = json.dumps(bundles[run % len(bundles)])
            bundle = json.loads(template.replace(MEMBER, f"m{run}"))
            bundle["identifier"]["value"] = f"bench-{run}"
            start = time.perf_counter()
            service.submit(bundle, submitter="bench")
            if run >= 10:
                timings.append((time.perf_counter() - start) * 1000)
        db.dispose()
    size = PAYLOAD.stat().st_size // 1024
    return (
        f"$submit in process (must-support file: {size} KB, {len(bundles)} Bundles; "
        f"validate={args.validate}): "
        f"{_percentiles(timings)} over {len(timings)} runs"
    )


def http_benchmark(bundles: list[dict[str, Any]], args: argparse.Namespace) -> str:
    """Sustained $submit throughput against gunicorn workers sharing PostgreSQL."""
    with _postgres_schema() as url, tempfile.TemporaryDirectory() as tmp:
        Database(url).migrate()  # once, as `davinci-pa db upgrade` does before the workers
        key = {**generate_signing_jwk(), "alg": "ES384"}
        key["kid"] = thumbprint(key)
        public = {k: key[k] for k in ("kty", "crv", "x", "y", "kid", "alg")}
        clients = Path(tmp) / "clients.json"
        clients.write_text(json.dumps({"bench": {"jwks": {"keys": [public]}}}))
        with _gunicorn(url, clients, args) as base:
            token = fetch_token(
                key, client_id="bench", token_url=base + "/auth/token", scope="system/Claim.write"
            )
            _load(base, token, bundles, args.clients, 3.0)  # every worker loads its rules
            result = _load(base, token, bundles, args.clients, args.seconds)
    ok, errors, timings, elapsed = result
    return (
        f"$submit over HTTP ({args.workers} gunicorn workers, PostgreSQL, {args.clients} "
        f"clients, validate={args.validate}): {ok / elapsed:.1f} submits/s sustained over "
        f"{elapsed:.0f} s, {ok} ok, {errors} errors; latency {_percentiles(timings)}"
    )


def _new_member_template(bundle: dict[str, Any]) -> dict[str, Any]:
    """The Bundle with a placeholder in the Claim's, Patient's and Coverage's identifier."""
    bundle = copy.deepcopy(bundle)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] in MEMBER_TYPES and resource.get("identifier"):
            first = resource["identifier"][0]
            first["value"] = f"{first['value']}-{MEMBER}"
    return bundle


def _load(
    base: str, token: str, bundles: list[dict[str, Any]], clients: int, seconds: float
) -> tuple[int, int, list[float], float]:
    templates = [
        json.dumps({**b, "identifier": {**b["identifier"], "value": "@ID@"}}) for b in bundles
    ]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    counts = {"ok": 0, "errors": 0}
    timings: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(number: int) -> None:
        session = requests.Session()
        sent = 0
        while time.monotonic() < deadline:
            unique = f"b{number}-{uuid.uuid4()}"
            body = templates[sent % len(templates)].replace("@ID@", unique)
            body = body.replace(MEMBER, unique)
            start = time.perf_counter()
            try:
                status = session.post(
                    base + "/fhir/Claim/$submit", data=body, headers=headers, timeout=30
                ).status_code
            except requests.RequestException:
                status = 0
            took = (time.perf_counter() - start) * 1000
            with lock:
                counts["ok" if status == 200 else "errors"] += 1
                timings.append(took)
            sent += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts["ok"], counts["errors"], timings, time.monotonic() - started


@contextmanager
def _postgres_schema() -> Iterator[str]:
    admin = sa.create_engine(POSTGRES)
    schema = f"davinci_bench_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def _gunicorn(url: str, clients: Path, args: argparse.Namespace) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DAVINCI_PA_DATABASE_URL": url,
        "DAVINCI_PA_CLIENTS": str(clients),
        "DAVINCI_PA_PUBLIC_BASE_URL": base,
        "DAVINCI_PA_PAS_DEFAULT_PAYER": "medicare-demo",
        "DAVINCI_PA_IG_PACKAGES": str(PAS_IG) if args.validate else "",
    }
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        f"--workers={args.workers}",
        f"--bind=127.0.0.1:{port}",
        "--log-level=warning",
        "davinci_pa.server:create_app()",
    ]
    log = clients.parent / "gunicorn.log"  # the request log lines, kept out of the figures
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=REPO, stdout=out, stderr=out)
    try:
        _wait_until_up(base, process, log)
        yield base
    finally:
        process.terminate()
        process.wait(30)


def _wait_until_up(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not start:\n{log.read_text()[-2000:]}")


def _percentiles(timings: list[float]) -> str:
    ordered = sorted(timings)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
    return f"p50 {statistics.median(ordered):.1f} ms, p99 {p99:.1f} ms"


if __name__ == "__main__":
    main()
