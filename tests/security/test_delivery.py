"""Finding 5: one bad notification never stops the others, and ends ``failed`` with a reason.

The poisoned Subscriptions are written straight into the store, as rows created before
creation-time checks existed would be: a lone-surrogate payload (the reported one), a header
that cannot be encoded, an endpoint that is not a URL and one on a refused address.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from davinci_pa.fhir.egress import EgressPolicy
from davinci_pa.pas.delivery import Notifier
from davinci_pa.store import Database
from davinci_pa.store.clock import utc_now
from davinci_pa.store.pas_outbox import (
    DELIVERED,
    FAILED,
    Outbox,
    OutboxMessage,
    SubscriptionRow,
    Subscriptions,
    enqueue,
)
from tests.pas.conftest import Receiver

GOOD = 100
CHANNEL: dict[str, Any] = {
    "type": "rest-hook",
    "payload": "application/fhir+json",
    "header": ["Authorization: Bearer hook"],
}
POISONS: dict[str, dict[str, Any]] = {
    "lone surrogate payload": {"payload": "\ud800"},
    "unencodable header": {"header": ["X-Trace: \ud800"]},
    "endpoint not a URL": {"endpoint": {"not": "a string"}},
    "refused address": {"endpoint": "https://169.254.169.254/latest/meta-data/"},
}


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'outbox.sqlite3'}")
    db.migrate()
    yield db
    db.dispose()


def _subscribe(subscriptions: Subscriptions, endpoint: str, poison: dict[str, Any]) -> str:
    channel = {**copy.deepcopy(CHANNEL), "endpoint": endpoint, **poison}
    resource = {"resourceType": "Subscription", "status": "active", "channel": channel}
    row_id = str(uuid.uuid4())
    subscriptions.create(
        SubscriptionRow(row_id, "loner", "active", "8189991234", endpoint, 0, resource), None
    )
    return row_id


def _queue(database: Database, subscription_id: str, count: int) -> None:
    messages = [
        OutboxMessage(
            str(uuid.uuid4()),
            subscription_id,
            "event-notification",
            lambda n: {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "history"},
        )
        for _ in range(count)
    ]
    with database.transaction() as conn:
        enqueue(conn, messages, utc_now())


def test_a_poisoned_row_among_a_hundred_good_ones(database: Database) -> None:
    receiver = Receiver()
    try:
        subscriptions = Subscriptions(database)
        good = _subscribe(subscriptions, receiver.url, {})
        poisoned = {name: _subscribe(subscriptions, receiver.url, p) for name, p in POISONS.items()}
        for row_id in poisoned.values():
            _queue(database, row_id, 1)
        _queue(database, good, GOOD)
        outbox = Outbox(database, max_attempts=2, base_backoff=timedelta(0))
        notifier = Notifier(outbox, subscriptions, egress=EgressPolicy([receiver.url]))

        for _ in range(20):
            notifier.run_once(limit=25)

        assert len(receiver.received) == GOOD
        assert {m["status"] for m in outbox.messages(good)} == {DELIVERED}
        for name, row_id in poisoned.items():
            (message,) = outbox.messages(row_id)
            assert message["status"] == FAILED, name
            assert message["attempts"] == 2, name
            assert message["last_error"], name
    finally:
        receiver.http.shutdown()
        receiver.http.server_close()
