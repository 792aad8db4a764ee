"""A subscriber's endpoint down while decisions are made on several pended claims.

The endpoint first answers 500 while the payer decides the first of six pended claims, then
drops connections unanswered while it decides the others; two Subscriptions of the
submitting organization get a notification per decision. When the endpoint is back, the
first notification has been retried most, so it is the last one due. The server's own job
workers (the embedded workers of gunicorn on PostgreSQL) still deliver every notification,
each Subscription's in event-number order (R4 Backport IG §Notifications: the event number
orders a Subscription's events), none lost: a later one waits for the one before it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from davinci_pa.pas.decisions import ItemDecision
from davinci_pa.payer import Payer
from davinci_pa.server import build_payer
from davinci_pa.server.settings import ServerSettings
from tests.faults.conftest import Caller, count, server_env, subscription
from tests.pas.conftest import Receiver
from tests.pas.conftest import receiver as receiver  # the rest-hook endpoint fixture
from tests.security.conftest import TRACE_SYSTEM, claim_bundle
from tests.support.gunicorn import running_gunicorn, wait_until

CLAIMS = 6


@pytest.fixture
def payer(pg_url: str) -> Iterator[Payer]:
    """The payer's own code on the same database (its UM system deciding claims)."""
    built = build_payer(ServerSettings(database_url=pg_url, pas_default_payer="medicare-demo"))
    yield built
    built.database.dispose()


def _parameters(body: dict[str, Any]) -> dict[str, Any]:
    status = body["entry"][0]["resource"]
    return {p["name"]: p for p in status["parameter"]}


def _approve(payer: Payer, trace: str) -> None:
    auth = payer.pas.records.by_claim_identifier(f"{TRACE_SYSTEM}|{trace}", "demo-client")
    assert auth is not None
    assert auth.status == "pended"
    sequences = [item.sequence for item in payer.pas.records.items(auth.pa_id)]
    payer.pas.decide(auth.pa_id, {s: ItemDecision(s, "A1", source="review") for s in sequences})


def test_notifications_wait_for_the_subscriber_and_arrive_in_order(
    pg_url: str, tmp_path: Path, receiver: Receiver, payer: Payer
) -> None:
    with running_gunicorn(server_env(pg_url), tmp_path / "gunicorn.log") as server:
        caller = Caller(server.base)
        ids = []
        for path in ("/notify/a", "/notify/b"):
            created = caller.fhir("POST", "Subscription", subscription(receiver.url + path))
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
        assert wait_until(lambda: len(receiver.received) == 2, 30), "no handshakes"
        traces = [f"down-{n}" for n in range(CLAIMS)]
        for trace in traces:
            assert caller.submit(claim_bundle(trace)).status_code == 200

        receiver.answer = 500
        _approve(payer, traces[0])
        assert wait_until(lambda: receiver.rejected >= 2, 30), "no attempt while failing"
        receiver.answer = 0  # now the endpoint drops connections unanswered
        for trace in traces[1:]:
            _approve(payer, trace)
        assert wait_until(lambda: receiver.rejected >= 4, 30), "no retry while refused"
        assert len(receiver.received) == 2  # the handshakes

        receiver.answer = 200  # the first notification is now in its longest backoff
        expected = 2 + 2 * CLAIMS
        assert wait_until(lambda: len(receiver.received) >= expected, 60), "notifications lost"
        assert wait_until(
            lambda: (
                count(pg_url, "SELECT count(*) FROM pas_outbox WHERE status <> 'delivered'") == 0
            ),
            30,
        )
        assert not server.errors()
    numbers: dict[str, list[int]] = defaultdict(list)
    focus: dict[str, list[str]] = defaultdict(list)
    for _, body in receiver.received:
        params = _parameters(body)
        if params["type"]["valueCode"] != "event-notification":
            continue
        reference = params["subscription"]["valueReference"]["reference"]
        numbers[reference].append(int(params["events-since-subscription-start"]["valueString"]))
        claim_response = body["entry"][1]["resource"]["entry"][0]["resource"]
        focus[reference].append(claim_response["identifier"][0]["value"])
    assert dict(numbers) == {f"Subscription/{i}": list(range(1, CLAIMS + 1)) for i in ids}
    assert dict(focus) == {f"Subscription/{i}": traces for i in ids}
    assert len(receiver.received) == expected
