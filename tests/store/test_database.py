from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from davinci_pa.errors import StoreError
from davinci_pa.store import Database
from davinci_pa.store import database as database_module
from davinci_pa.store.audit import AuditEvent, AuditLog
from davinci_pa.store.crd_records import AssertionRecord, CrdRecords, HookCall
from davinci_pa.store.replay import DatabaseReplayCache
from davinci_pa.store.schema import metadata


def _ours(name: str | None, kind: str, parent: object) -> bool:
    """Our tables; the job engine's ``procrastinate_*`` ones follow its own schema."""
    return not (kind == "table" and (name or "").startswith("procrastinate_"))


def test_migrations_match_table_definitions(database: Database) -> None:
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": _ours})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_migrate_is_idempotent(database: Database) -> None:
    database.migrate()
    with database.engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    assert {"hook_calls", "coverage_assertions", "jwt_replay", "audit_events"} <= tables


def test_hook_call_and_assertions_round_trip(database: Database) -> None:
    records = CrdRecords(database)
    call = HookCall("req-1", "crd-order-sign", "order-sign", "hi-1", "iss", 2.5, 200, {"cards": []})
    assertion = AssertionRecord(
        "ca-1",
        "req-1",
        "DeviceRequest/d1",
        "Coverage/c1",
        "p",
        "home-oxygen",
        "static",
        {"covered": "covered"},
        None,
    )
    records.record_call(call, [assertion])
    assert records.assertion("ca-1") == assertion
    assert records.assertion("missing") is None
    assert records.calls()[0] == call


def _assertion(assertion_id: str, request_id: str) -> AssertionRecord:
    decision = {"covered": "covered"}
    return AssertionRecord(
        assertion_id, request_id, "ServiceRequest/s1", None, "p", None, "static", decision
    )


def test_hook_call_assertions_and_audit_are_stored_together(database: Database) -> None:
    """CRD found-37: the call, each assertion and the audit event land as one unit."""
    records, audit = CrdRecords(database), AuditLog(database)
    call = HookCall("req-2", "crd-order-sign", "order-sign", "hi-2", "iss", 1.0, 200, {"cards": []})
    event = AuditEvent("crd.hook", "ok", 200, "iss", "crd-order-sign", "req-2")
    made = [_assertion("ca-2", "req-2"), _assertion("ca-3", "req-2")]
    records.record_call(call, made, audit=event)
    assert [records.assertion(a.assertion_id) for a in made] == made
    assert audit.recent() == [event]
    again = HookCall("req-3", "crd-order-sign", "order-sign", "hi-3", "iss", 1.0, 200, None)
    with pytest.raises(StoreError):  # ca-2 exists: nothing of req-3 may be kept
        records.record_call(again, [_assertion("ca-4", "req-3"), made[0]], audit=event)
    assert [c.request_id for c in records.calls()] == ["req-2"]
    assert records.assertion("ca-4") is None
    assert audit.recent() == [event]


def test_replay_cache_accepts_a_jti_once_until_expiry(database: Database) -> None:
    now = [1000.0]
    cache = DatabaseReplayCache(database, clock=lambda: now[0])
    assert cache.add_if_new("iss", "jti-1", 1300.0)
    assert not cache.add_if_new("iss", "jti-1", 1300.0)
    assert cache.add_if_new("other-iss", "jti-1", 1300.0)
    now[0] = 1301.0
    assert cache.add_if_new("iss", "jti-1", 1600.0)


def test_replay_cache_takes_over_an_expired_id_between_prunes(database: Database) -> None:
    """Pruning runs once a minute; an expired row still there must not refuse a new token."""
    now = [1000.0]
    first = DatabaseReplayCache(database, clock=lambda: now[0])
    second = DatabaseReplayCache(database, clock=lambda: now[0])  # another worker
    assert first.add_if_new("iss", "jti-1", 1010.0)
    assert second.add_if_new("iss", "jti-2", 1100.0)
    now[0] = 1020.0  # jti-1 expired, no prune due for either cache
    assert not second.add_if_new("iss", "jti-2", 1200.0)
    assert second.add_if_new("iss", "jti-1", 1300.0)
    assert not first.add_if_new("iss", "jti-1", 1300.0)
    now[0] = 2000.0  # both prune: every expired row goes
    assert first.add_if_new("iss", "jti-3", 2100.0)
    with database.engine.connect() as conn:
        left = conn.execute(sa.text("SELECT jti FROM jwt_replay")).scalars().all()
    assert left == ["jti-3"]


def test_feedback_keeps_duplicates(database: Database) -> None:
    records = CrdRecords(database)
    item = {
        "card": "u1",
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": "s1"}],
        "outcomeTimestamp": "2026-01-01T00:00:00Z",
    }
    assert records.record_feedback("svc", [item, item], client="iss") == 2
    assert records.feedback_count("u1") == 2


def test_audit_log_returns_newest_first(database: Database) -> None:
    log = AuditLog(database)
    log.record(AuditEvent(action="a", outcome="ok", status=200))
    log.record(AuditEvent(action="b", outcome="denied", status=401, actor="x"))
    assert [e.action for e in log.recent()] == ["b", "a"]


def test_a_pooled_connection_the_server_closed_is_replaced_unseen(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ping on every checkout; an idle connection is pinged, and a dead one replaced."""
    if database.dialect != "postgresql":
        pytest.skip("only a server can close a pooled connection")
    monkeypatch.setattr(database_module, "IDLE_PING_SECONDS", 0.0)
    with database.transaction() as conn:
        first = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    admin = sa.create_engine(database.engine.url)
    with admin.begin() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    admin.dispose()
    with database.transaction() as conn:
        second = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    assert second != first
