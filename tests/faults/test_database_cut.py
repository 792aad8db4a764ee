"""The database connection cut for 10 s under load, gunicorn with 4 workers on PostgreSQL.

PostgreSQL is reached through a TCP proxy that drops every connection and refuses new ones
for 10 s while threads keep sending signed CRD order-sign hooks and PAS ``Claim/$submit``s.
Every answer during the cut is a prompt 503 with an OperationOutcome (never a 500, never a
hang); after the restore the same worker processes answer 200 again, their job workers
deliver again, and nothing is half-written: every stored authorization is whole, and each
claim refused with 503 is accepted when sent again, as PAS has it for a 5XX ("may be
temporary and resubmission may result in successful processing").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.faults.conftest import TIMEOUT, Caller, count, server_env, subscription
from tests.pas.conftest import Receiver
from tests.pas.conftest import receiver as receiver  # the rest-hook endpoint fixture
from tests.security.conftest import claim_bundle
from tests.support.gunicorn import davinci_pa, running_gunicorn, wait_until
from tests.support.tcp_proxy import TcpProxy, proxied_postgres_url

THREADS = 4
CUT_SECONDS = 10.0
PAUSE = 0.2
"""Seconds a load thread waits after an answer other than 200."""


@pytest.fixture
def proxied() -> Iterator[tuple[str, TcpProxy]]:
    for url, proxy in proxied_postgres_url():
        davinci_pa("db", "upgrade", env=server_env(url))
        yield url, proxy


@dataclass(frozen=True)
class Call:
    """One request of the load: what, when, and how it was answered."""

    kind: str
    trace: str
    started: float
    ended: float
    status: int | None
    body: Any
    retry_after: str | None = None
    error: str | None = None


class Load:
    """Threads alternating hooks and submissions until stopped, recording every call."""

    def __init__(self, caller: Caller) -> None:
        self.caller = caller
        self.calls: list[Call] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(THREADS)
        ]
        for thread in self._threads:
            thread.start()

    def _run(self, worker: int) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            trace = f"cut-{worker}-{n}"
            kind = "hook" if n % 2 else "submit"
            started = time.monotonic()
            try:
                if kind == "hook":
                    response = self.caller.hook()
                else:
                    response = self.caller.submit(claim_bundle(trace))
            except requests.RequestException as exc:
                call = Call(kind, trace, started, time.monotonic(), None, None, None, repr(exc))
            else:
                call = Call(
                    kind,
                    trace,
                    started,
                    time.monotonic(),
                    response.status_code,
                    _json(response),
                    response.headers.get("Retry-After"),
                )
            with self._lock:
                self.calls.append(call)
            if call.status != 200:
                self.stop.wait(PAUSE)  # a client pausing before its next try

    def succeeded_since(self, moment: float) -> int:
        with self._lock:
            return sum(1 for c in self.calls if c.started > moment and c.status == 200)

    def finish(self) -> list[Call]:
        self.stop.set()
        for thread in self._threads:
            thread.join(TIMEOUT + 5)
        return list(self.calls)


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _outcome(call: Call) -> Any:
    body = call.body if isinstance(call.body, dict) else {}
    return body if call.kind == "submit" else body.get("operationOutcome")


def test_a_database_cut_is_503s_then_recovery_without_restart(
    proxied: tuple[str, TcpProxy], tmp_path: Path, receiver: Receiver
) -> None:
    """PAS spec-39: a 503 while the database is away, 200 for the same request after."""
    url, proxy = proxied
    with running_gunicorn(server_env(url), tmp_path / "gunicorn.log") as server:
        workers = server.worker_pids()
        caller = Caller(server.base)
        caller.token()
        load = Load(caller)
        assert wait_until(lambda: load.succeeded_since(0) >= 20, 60), "no load got through"
        cut_at = time.monotonic()
        proxy.cut()
        time.sleep(1)
        readiness = requests.get(f"{server.base}/readyz", timeout=TIMEOUT)
        time.sleep(cut_at + CUT_SECONDS - time.monotonic())  # the outage lasts 10 s
        restored_at = time.monotonic()
        proxy.restore()
        assert wait_until(lambda: load.succeeded_since(restored_at) >= 40, 60), "no recovery"
        calls = load.finish()
        assert wait_until(lambda: all(server.ready() for _ in range(8)), 30)
        created = caller.fhir("POST", "Subscription", subscription(receiver.url))
        assert created.status_code == 201, created.text
        assert wait_until(lambda: len(receiver.received) == 1, 30), "job workers did not recover"
        refused = {c.trace for c in calls if c.kind == "submit" and c.status == 503}
        with ThreadPoolExecutor(THREADS) as pool:
            again = list(pool.map(lambda t: caller.submit(claim_bundle(t)), sorted(refused)))
        assert [a.text for a in again if a.status_code != 200] == []
        assert server.worker_pids() == workers  # the same processes, none restarted

    assert readiness.status_code == 503
    assert "database" in readiness.json()["failing"]
    assert [c for c in calls if c.error or c.status not in {200, 503}] == []
    slowest = max(calls, key=lambda c: c.ended - c.started)
    assert slowest.ended - slowest.started < TIMEOUT / 2, (slowest, cut_at, restored_at)
    assert [c for c in calls if c.ended < cut_at and c.status != 200] == []
    during = [c for c in calls if c.started > cut_at + 1 and c.ended < restored_at]
    assert {c.kind for c in during} == {"hook", "submit"}
    assert {c.status for c in during} == {503}
    for call in (c for c in calls if c.status == 503):
        assert _outcome(call)["resourceType"] == "OperationOutcome", call
        assert call.retry_after == "5"
    last = {c.trace.rsplit("-", 1)[0]: c for c in sorted(calls, key=lambda c: c.started)}
    assert [c for c in last.values() if c.status != 200] == [], restored_at

    submitted = {c.trace for c in calls if c.kind == "submit" and c.status in {200, 503}}
    assert count(url, "SELECT count(*) FROM pas_authorizations") == len(submitted)
    assert count(url, "SELECT count(*) FROM pas_submissions") == len(submitted)
    whole = (
        "SELECT count(*) FROM pas_authorizations a WHERE"
        " EXISTS (SELECT 1 FROM pas_responses r WHERE r.pa_id = a.pa_id)"
        " AND EXISTS (SELECT 1 FROM pas_items i WHERE i.pa_id = a.pa_id)"
        " AND EXISTS (SELECT 1 FROM pas_review_queue q WHERE q.pa_id = a.pa_id)"
    )
    assert count(url, whole) == len(submitted)
