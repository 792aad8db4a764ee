"""Crash test: two delivery workers on PostgreSQL, one SIGKILLed mid-delivery.

The receiver stalls on the first event notification it gets, so the worker delivering it is
killed while the HTTP request is in flight. Its leases expire and the surviving worker
delivers everything again: every notification arrives at least once (duplicates are
recognisable by their stable notification ids), and no claim or decision is lost or doubled.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from davinci_pa.fhir.egress import EgressPolicy
from davinci_pa.pas.decisions import ItemDecision
from davinci_pa.pas.delivery import Notifier
from davinci_pa.pas.options import PasOptions
from davinci_pa.pas.service import PasService
from davinci_pa.pas.submission import identifier_key
from davinci_pa.rules.cql_evaluator import CqlTopicEvaluator
from davinci_pa.rules.evaluation import RuleBook
from davinci_pa.rules.loader import load_rule_pack
from davinci_pa.store import Database
from davinci_pa.store.pas_outbox import Outbox, Subscriptions
from davinci_pa.store.schema import pas_authorizations, pas_items, pas_outbox, pas_responses
from tests._shared import REPO, load_shared_json
from tests.pas.conftest import kit, with_code
from tests.store.conftest import postgres_schema_url

CLAIMS = 6
LEASE = timedelta(seconds=2)


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from postgres_schema_url()


class ReportingEgress(EgressPolicy):
    """Tells the test which worker process sends which notification (by its stable id)."""

    def __init__(self, sent: multiprocessing.Queue[tuple[int, str]]) -> None:
        super().__init__(["http://127.0.0.1:*"])
        self._sent = sent

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        self._sent.put((os.getpid(), json.loads(kwargs["data"])["id"]))
        return super().post(url, **kwargs)


def _worker(url: str, sent: multiprocessing.Queue[tuple[int, str]], stop: MpEvent) -> None:
    database = Database(url)
    outbox = Outbox(database, lease=LEASE, base_backoff=timedelta(milliseconds=200))
    notifier = Notifier(outbox, Subscriptions(database), egress=ReportingEgress(sent), timeout=30)
    while not stop.is_set():
        notifier.run_once(limit=3)
        time.sleep(0.05)


class StallingReceiver:
    """Records every notification; holds the first event notification until released."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.stalled_id: str | None = None
        self.stalled = threading.Event()
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.received.append(body)
                if outer._kind(body) == "event-notification" and outer.stalled_id is None:
                    outer.stalled_id = body["id"]
                    outer.stalled.set()
                    outer.release.wait(20)
                try:
                    self.send_response(200)
                    self.end_headers()
                except OSError:  # the worker died with the request in flight
                    pass

            def log_message(self, *args: Any) -> None:
                return

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/notify"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    @staticmethod
    def _kind(body: dict[str, Any]) -> str:
        params = body["entry"][0]["resource"]["parameter"]
        return str(next(p["valueCode"] for p in params if p["name"] == "type"))

    def event_ids(self) -> list[str]:
        return [b["id"] for b in self.received if self._kind(b) == "event-notification"]


def _service(database: Database) -> PasService:
    folder = REPO / "cql_rules"
    pack = load_rule_pack(folder)
    rules = RuleBook(pack, evaluator=CqlTopicEvaluator.for_pack(folder, pack))
    return PasService(
        rules=rules,
        database=database,
        options=PasOptions(
            default_payer="medicare-demo", subscription_endpoints=("http://127.0.0.1:*",)
        ),
    )


def _pended_claims(service: PasService) -> list[str]:
    pa_ids = []
    template = kit("v2.2.1", "pended_pa_submit_request_payload.json")[0]
    for n in range(CLAIMS):
        bundle = with_code(template, "K0800", trace=f"crash-{n}")
        service.submit(bundle, submitter="ehr")
        ident = identifier_key(bundle["entry"][0]["resource"]["identifier"][0])
        auth = service.records.by_claim_identifier(ident, "ehr")
        assert auth is not None
        assert auth.status == "pended"
        pa_ids.append(auth.pa_id)
    return pa_ids


def _approve(service: PasService, pa_id: str) -> None:
    sequences = [item.sequence for item in service.records.items(pa_id)]
    service.decide(pa_id, {s: ItemDecision(s, "A1", source="review") for s in sequences})


def _wait(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(condition())


def _sender(sent: multiprocessing.Queue[tuple[int, str]], notification_id: str) -> int:
    seen: list[tuple[int, str]] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            seen.append(sent.get(timeout=0.2))
        except queue.Empty:
            continue
        pids = [pid for pid, nid in seen if nid == notification_id]
        if pids:
            return pids[0]
    raise AssertionError("no worker reported sending the stalled notification")


def test_worker_killed_mid_delivery_loses_nothing(pg_url: str, tmp_path: Path) -> None:
    setup = Database(pg_url)
    setup.migrate()
    setup.dispose()
    context = multiprocessing.get_context("fork")
    sent: multiprocessing.Queue[tuple[int, str]] = context.Queue()
    stop = context.Event()
    workers = [context.Process(target=_worker, args=(pg_url, sent, stop)) for _ in range(2)]
    for worker in workers:
        worker.start()
    receiver = StallingReceiver()
    database = Database(pg_url)
    try:
        service = _service(database)
        subscription = load_shared_json("fixtures", "pas", "v2.2.1", "subscription_resource.json")
        subscription["channel"]["endpoint"] = receiver.url
        service.notifications.create(subscription, owner="ehr")
        pa_ids = _pended_claims(service)
        for pa_id in pa_ids[:3]:
            _approve(service, pa_id)
        assert receiver.stalled.wait(10), "no event notification reached the receiver"
        victim = _sender(sent, str(receiver.stalled_id))
        os.kill(victim, signal.SIGKILL)
        next(w for w in workers if w.pid == victim).join(5)
        receiver.release.set()
        for pa_id in pa_ids[3:]:
            _approve(service, pa_id)
        queued = _event_ids(database)
        assert _wait(lambda: set(receiver.event_ids()) >= queued, 20), "notifications lost"
        assert _wait(lambda: _statuses(database) == {"delivered": CLAIMS + 1}, 10)
    finally:
        stop.set()
        receiver.release.set()
        for worker in workers:
            worker.join(5)
            if worker.is_alive():
                worker.kill()
        receiver.http.shutdown()
        receiver.http.server_close()
    assert len(queued) == CLAIMS
    assert receiver.event_ids().count(str(receiver.stalled_id)) >= 2  # redelivered, same id
    _assert_nothing_lost_or_doubled(database, pa_ids, receiver)
    database.dispose()


def _event_ids(database: Database) -> set[str]:
    query = sa.select(pas_outbox.c.payload).where(pas_outbox.c.kind == "event-notification")
    with database.transaction() as conn:
        return {row[0]["id"] for row in conn.execute(query)}


def _statuses(database: Database) -> dict[str, int]:
    return Outbox(database).status_counts()


def _assert_nothing_lost_or_doubled(
    database: Database, pa_ids: list[str], receiver: StallingReceiver
) -> None:
    with database.transaction() as conn:
        auths = conn.execute(sa.select(pas_authorizations.c.pa_id, pas_authorizations.c.status))
        assert sorted(auths.all()) == sorted((pa, "decided") for pa in pa_ids)
        versions = conn.execute(
            sa.select(pas_responses.c.pa_id, sa.func.count()).group_by(pas_responses.c.pa_id)
        )
        assert dict(versions.all()) == dict.fromkeys(pa_ids, 2)  # submit + one decision
        actions = conn.execute(sa.select(pas_items.c.pa_id, pas_items.c.action)).all()
        assert {a for _, a in actions} == {"A1"}
        assert sorted({p for p, _ in actions}) == sorted(pa_ids)
        numbers = conn.execute(
            sa.select(pas_outbox.c.event_number).where(pas_outbox.c.kind == "event-notification")
        )
        assert sorted(r[0] for r in numbers) == list(range(1, CLAIMS + 1))
    focus_claims = set()
    for body in receiver.received:
        if receiver._kind(body) != "event-notification":
            continue
        focus = body["entry"][1]["resource"]["entry"][0]["resource"]
        focus_claims.add(focus["identifier"][0]["value"])
    assert focus_claims == {f"crash-{n}" for n in range(CLAIMS)}
