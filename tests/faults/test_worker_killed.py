"""A gunicorn worker SIGKILLed during 200 concurrent ``Claim/$submit`` calls.

Every submission answered 200 is stored exactly once. Those whose connection the kill reset
are sent again, the same Bundle. PAS sets no idempotency rule of its own (it refers to FHIR's
"absence of reliable messaging": a client that got no answer sends again); ours is that an
identical resubmission gets the stored answer and changes nothing (docs/pas.md §Duplicates
and resubmissions), so whether or not the dead worker committed before it died, each Claim
ends up stored once, none doubled, and a re-sent answered one gets the very same answer.
"""

from __future__ import annotations

import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from tests.faults.conftest import Caller, count, server_env
from tests.security.conftest import claim_bundle
from tests.support.gunicorn import running_gunicorn, wait_until

CLAIMS = 200
THREADS = 16


def test_submissions_survive_a_killed_worker(pg_url: str, tmp_path: Path) -> None:
    bundles = {f"kill-{n:03d}": claim_bundle(f"kill-{n:03d}") for n in range(CLAIMS)}
    answered: dict[str, dict[str, Any]] = {}
    reset: list[str] = []
    other: list[str] = []
    lock = threading.Lock()
    with running_gunicorn(server_env(pg_url), tmp_path / "gunicorn.log") as server:
        caller = Caller(server.base)
        caller.token()

        def send(trace: str) -> None:
            try:
                response = caller.submit(bundles[trace])
            except requests.ConnectionError:
                with lock:
                    reset.append(trace)
                return
            with lock:
                if response.status_code == 200:
                    answered[trace] = response.json()
                else:
                    other.append(f"{trace}: {response.status_code} {response.text[:200]}")

        victim = server.worker_pids()[0]
        with ThreadPoolExecutor(THREADS) as pool:
            futures = [pool.submit(send, trace) for trace in bundles]
            assert wait_until(lambda: len(answered) >= CLAIMS // 5, 60), "no progress"
            os.kill(victim, signal.SIGKILL)
            for future in futures:
                future.result()
        assert not other, other
        assert wait_until(lambda: len(server.worker_pids()) == 4, 60), "no worker replaced it"
        assert victim not in server.worker_pids()
        first = dict(answered)
        for trace in reset:
            again = caller.submit(bundles[trace])
            assert again.status_code == 200, again.text
            answered[trace] = again.json()
        for trace in list(first)[:10]:  # a resubmission of an answered one changes nothing
            assert caller.submit(bundles[trace]).json() == first[trace]
    assert sorted(answered) == sorted(bundles)
    assert count(pg_url, "SELECT count(*) FROM pas_authorizations") == CLAIMS
    assert count(pg_url, "SELECT count(DISTINCT claim_identifier) FROM pas_authorizations") == (
        CLAIMS
    )
    assert count(pg_url, "SELECT count(*) FROM pas_submissions") == CLAIMS
    assert count(pg_url, "SELECT count(*) FROM pas_responses") == CLAIMS
    assert count(pg_url, "SELECT count(DISTINCT pa_id) FROM pas_items") == CLAIMS
    assert count(pg_url, "SELECT count(*) FROM pas_review_queue") == CLAIMS
