from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from davinci_pa.store import Database
from davinci_pa.store.pas_keys import SharedSigningKey
from davinci_pa.store.pas_outbox import Outbox, OutboxMessage, SubscriptionRow, Subscriptions
from davinci_pa.store.pas_records import (
    Authorization,
    DuplicateSubmission,
    ItemState,
    PasRecords,
    ReviewEntry,
    StateChange,
    Submission,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _auth(version: int = 1, status: str = "pended") -> Authorization:
    return Authorization(
        "pa-1",
        "REF-1",
        "urn:trn|111",
        "MB-1",
        "npi:1",
        "ORG-1",
        "ehr",
        status,
        True,
        version,
        T0,
        T0,
        T0 + timedelta(days=400),
    )


def _change(
    version: int = 1, key: str | None = "k1", notes: tuple[OutboxMessage, ...] = ()
) -> StateChange:
    return StateChange(
        authorization=_auth(version),
        response={"resourceType": "Bundle", "id": f"r{version}"},
        items=[ItemState(1, {"sequence": 1}, "A4", {"v": version})],
        review=ReviewEntry("pa-1", True, T0, T0 + timedelta(hours=72)),
        submission=Submission(f"s{version}", key, {"resourceType": "Bundle"}, "ehr")
        if key
        else None,
        notifications=notes,
    )


def _stored(version: int = 1) -> Authorization:
    """``_auth`` as read back: the store stamps ``updated_at`` with its clock."""
    return dataclasses.replace(_auth(version), updated_at=T0)


def test_submission_round_trip_and_duplicate(database: Database) -> None:
    records = PasRecords(database, clock=lambda: T0)
    records.save(_change())
    assert records.answer_for("k1") == {"resourceType": "Bundle", "id": "r1"}
    assert records.answer_for("other") is None
    assert records.by_claim_identifier("urn:trn|111", "ehr") == _stored()
    assert records.by_claim_identifier("urn:trn|111", "other-client") is None
    assert records.with_claim_identifier("urn:trn|111") == [_stored()]
    assert records.by_pre_auth_ref("REF-1") == _stored()
    with pytest.raises(DuplicateSubmission):
        records.save(_change(version=2, key="k1"))
    records.save(_change(version=2, key=None))
    assert [r["id"] for r in records.responses("pa-1")] == ["r1", "r2"]
    assert records.items("pa-1")[0].decision == {"v": 2}
    assert records.authorization("pa-1") == _stored(2)
    assert records.open_reviews()[0].due_at == T0 + timedelta(hours=72)
    assert records.latest_request("pa-1") == {"resourceType": "Bundle"}


def test_retention_purges_only_expired(database: Database) -> None:
    now = [T0]
    records = PasRecords(database, clock=lambda: now[0])
    records.save(_change())
    assert records.purge_expired() == 0
    now[0] = T0 + timedelta(days=401)
    assert records.purge_expired() == 1
    assert records.authorization("pa-1") is None
    assert records.items("pa-1") == []


def _note(nid: str, sid: str = "sub-1") -> OutboxMessage:
    def build(number: int) -> dict[str, Any]:
        return {"id": nid, "event": number}

    return OutboxMessage(nid, sid, "event-notification", build)


def test_outbox_numbers_claims_retries_and_delivers(database: Database) -> None:
    now = [T0]
    subs = Subscriptions(database, clock=lambda: now[0])
    row = SubscriptionRow("sub-1", "ehr", "active", "ORG-1", "http://h/x", 0, {"id": "sub-1"})
    handshake = OutboxMessage("h-1", "sub-1", "handshake", lambda n: {"handshake": n})
    subs.create(row, handshake)
    assert subs.for_org("ORG-1")[0].id == "sub-1"
    records = PasRecords(database, clock=lambda: now[0])
    records.save(_change(notes=(_note("n-1"), _note("n-2"))))
    outbox = Outbox(database, clock=lambda: now[0])
    (handshake_delivery,) = outbox.claim(limit=10)  # n-1 and n-2 wait behind the handshake
    assert handshake_delivery.id == "h-1"
    assert outbox.claim() == []  # leased
    outbox.delivered("h-1")
    (first,) = outbox.claim()
    assert first.payload == {"id": "n-1", "event": 1}
    assert outbox.failed(first, "HTTP 500")
    assert outbox.claim() == []  # n-1 in backoff (2 s), n-2 waits behind it
    now[0] = T0 + timedelta(seconds=3)
    (retried,) = outbox.claim()
    assert retried.id == "n-1"
    outbox.delivered("n-1")
    (second,) = outbox.claim()
    assert second.payload == {"id": "n-2", "event": 2}
    now[0] = T0 + timedelta(seconds=34)  # lease of n-2 expired (its worker died)
    assert [d.id for d in outbox.claim()] == ["n-2"]
    outbox.delivered("n-2")
    assert outbox.status_counts() == {"delivered": 3}


def test_a_failing_subscription_holds_up_only_its_own_notifications(database: Database) -> None:
    now = [T0]
    subs = Subscriptions(database, clock=lambda: now[0])
    for sid in ("sub-1", "sub-2"):
        subs.create(SubscriptionRow(sid, None, "active", "O", "http://h", 0, {"id": sid}), None)
    records = PasRecords(database, clock=lambda: now[0])
    records.save(_change(notes=(_note("a-1"), _note("b-1", "sub-2"), _note("a-2"))))
    records.save(_change(2, "k2", notes=(_note("b-2", "sub-2"),)))
    outbox = Outbox(database, clock=lambda: now[0])
    claimed = {d.id: d for d in outbox.claim()}
    assert sorted(claimed) == ["a-1", "b-1"]
    outbox.failed(claimed["a-1"], "HTTP 500")
    outbox.delivered("b-1")
    assert [d.id for d in outbox.claim()] == ["b-2"]  # a-2 waits for a-1's retry


def test_failed_notifications_stop_after_max_attempts(database: Database) -> None:
    now = [T0]
    Subscriptions(database, clock=lambda: now[0]).create(
        SubscriptionRow("sub-1", None, "active", "O", "http://h", 0, {}), _note("n-1")
    )
    outbox = Outbox(database, clock=lambda: now[0], max_attempts=2)
    assert outbox.failed(outbox.claim()[0], "down")
    now[0] += timedelta(minutes=5)
    assert not outbox.failed(outbox.claim()[0], "down")
    assert outbox.status_counts() == {"failed": 1}


def test_signing_key_is_created_once(database: Database) -> None:
    keys = SharedSigningKey(database)
    first = keys.load_or_create(lambda: {"kty": "EC", "d": "1"})
    second = keys.load_or_create(lambda: {"kty": "EC", "d": "2"})
    assert first == second == {"kty": "EC", "d": "1"}
