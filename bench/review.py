"""The workbench queue with 10,000 open requests on PostgreSQL: page latency p50/p95.

    .venv/bin/python bench/review.py [--requests 10000] [--pages 200]

Fills a fresh PostgreSQL schema (``DAVINCI_PA_BENCH_POSTGRES_URL``, default the test
database on 127.0.0.1) with ``--requests`` open reviews (a third expedited, two items each,
due times spread over 14 days), logs a reviewer in over real HTTP (the app on 127.0.0.1,
threaded development server) and times ``--pages`` loads of the queue: the first page, a
filtered page and a deep page, in turn; the JSON API's first page too. Goal: p95 ≤ 200 ms.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
import sqlalchemy as sa
from werkzeug.serving import make_server

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from davinci_pa.server import create_app  # noqa: E402
from davinci_pa.server.settings import ServerSettings  # noqa: E402
from davinci_pa.store import Database  # noqa: E402
from davinci_pa.store.schema import pas_authorizations, pas_items, pas_review_queue  # noqa: E402

POSTGRES = os.environ.get(
    "DAVINCI_PA_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PASSWORD = "bench password, long enough"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"


def fill(database: Database, count: int) -> None:
    """Insert ``count`` open reviews with their authorizations and two items each."""
    now = datetime.now(UTC)
    auths, reviews, items = [], [], []
    for n in range(count):
        pa_id = str(uuid.uuid4())
        urgent = n % 3 == 0
        queued = now - timedelta(minutes=n % 600)
        due = queued + (timedelta(hours=72) if urgent else timedelta(days=7 + n % 7))
        auths.append(_authorization(pa_id, n, urgent, queued))
        reviews.append(
            {
                "pa_id": pa_id,
                "urgent": urgent,
                "queued_at": queued,
                "due_at": due - timedelta(days=n % 9),
                "topics": ",power-mobility," if n % 2 else ",home-oxygen,",
            }
        )
        for sequence, code in ((1, "K0800"), (2, "E0431")):
            items.append(
                {
                    "pa_id": pa_id,
                    "sequence": sequence,
                    "item": {"productOrService": {"coding": [{"system": HCPCS, "code": code}]}},
                    "action": "A4",
                    "decision": {"action": "A4", "topic": "power-mobility"},
                    "decided_at": queued,
                }
            )
    with database.transaction() as conn:
        for table, rows in ((pas_authorizations, auths), (pas_review_queue, reviews)):
            conn.execute(sa.insert(table), rows)
        conn.execute(sa.insert(pas_items), items)
        conn.execute(sa.text("ANALYZE"))


def _authorization(pa_id: str, n: int, urgent: bool, queued: datetime) -> dict[str, object]:
    return {
        "pa_id": pa_id,
        "pre_auth_ref": f"PA-{pa_id[:13]}",
        "claim_identifier": f"http://clinic.example/trace|T{n:06d}",
        "member_id": f"M{n:06d}",
        "provider_ids": "http://hl7.org/fhir/sid/us-npi|8189991234",
        "sender_org": "8189991234",
        "submitter": "ehr",
        "status": "pended",
        "urgent": urgent,
        "version": 1,
        "created_at": queued,
        "status_changed_at": queued,
        "retain_until": queued + timedelta(days=3650),
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--pages", type=int, default=200)
    args = parser.parse_args()
    admin = sa.create_engine(POSTGRES)
    schema = f"bench_review_{uuid.uuid4().hex[:8]}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{POSTGRES}?options=-csearch_path%3D{schema}"
    try:
        run(url, args.requests, args.pages)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return 0


def run(url: str, count: int, pages: int) -> None:
    database = Database(url)
    database.migrate()
    started = time.perf_counter()
    print(f"filling {count} open requests ...", file=sys.stderr, flush=True)
    fill(database, count)
    print(f"filled in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    app = create_app(
        ServerSettings(database_url=url, pas_delivery_seconds="0", log_level="WARNING")
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app.extensions["davinci_pa.payer"].review.accounts.add("bench", "physician", PASSWORD)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{http.server_port}"
    session = requests.Session()
    login = session.get(base + "/review/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login)
    assert token, "no login form"
    form = {"username": "bench", "password": PASSWORD, "csrf_token": token.group(1)}
    assert session.post(base + "/review/login", data=form, timeout=10).ok
    paths = [
        "/review/queue",
        "/review/queue?urgency=expedited&topic=home-oxygen",
        "/review/queue?page=150",
    ]
    for label, chosen in (("html pages", paths), ("json api", ["/review/api/queue"])):
        times = []
        for n in range(pages):
            begin = time.perf_counter()
            answer = session.get(base + chosen[n % len(chosen)], timeout=30)
            times.append((time.perf_counter() - begin) * 1000)
            assert answer.status_code == 200, answer.text[:200]
        print(
            f"{label}: {pages} loads over {count} open requests: "
            f"p50 {statistics.median(times):.1f} ms, p95 {percentile(times, 0.95):.1f} ms, "
            f"max {max(times):.1f} ms (goal p95 <= 200 ms)"
        )
    http.shutdown()
    database.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
