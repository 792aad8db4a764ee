"""CRD records: hook calls, the coverage assertions they produced, and card feedback.

CRD ``found-37`` asks servers to keep logs of every invocation and response, and
``found-11`` to retain guidance so it can be honoured at claim time; DTR and PAS find a
decision by its ``coverage-assertion-id``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from davinci_pa.store.audit import INSERT_EVENT, AuditEvent, event_row
from davinci_pa.store.clock import Clock, utc_now
from davinci_pa.store.database import Database
from davinci_pa.store.schema import audit_events, coverage_assertions, hook_calls, hook_feedback


@dataclass(frozen=True, slots=True)
class HookCall:
    """One hook invocation as answered."""

    request_id: str
    service_id: str
    hook: str
    hook_instance: str
    client: str | None
    duration_ms: float
    status: int
    response: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class AssertionRecord:
    """A coverage assertion made for one order and coverage."""

    assertion_id: str
    request_id: str
    order_ref: str
    coverage_ref: str | None
    payer_id: str | None
    topic_id: str | None
    rule_source: str
    decision: Mapping[str, Any]
    satisfied_pa_id: str | None = None


@dataclass(frozen=True, slots=True)
class LoggedCall:
    """A hook call as kept for dispute resolution (CRD found-37, found-38)."""

    call: HookCall
    received_at: datetime
    assertions: tuple[AssertionRecord, ...]


_INSERT_CALL = sa.insert(hook_calls)
_INSERT_ASSERTION = sa.insert(coverage_assertions)


class CrdRecords:
    """Repository for CRD hook calls, coverage assertions and feedback."""

    def __init__(self, db: Database, *, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock

    def record_call(
        self,
        call: HookCall,
        assertions: Iterable[AssertionRecord],
        *,
        audit: AuditEvent | None = None,
    ) -> None:
        """Store a hook call, its assertions and its audit event, all or none.

        On PostgreSQL this is one autocommitted statement (the inserts as data-modifying
        CTEs): one round trip on the hook's critical path instead of five. SQLite has no
        such CTEs and no network, so there it is a plain transaction.
        """
        now = self._clock()
        call_row = _call_row(call, now)
        rows = [_assertion_row(a, now) for a in assertions]
        audit_row = event_row(audit, now) if audit is not None else None
        if self._db.dialect == "postgresql":
            statement, values = _one_statement(call_row, rows, audit_row)
            with self._db.statements() as conn:
                conn.execute(statement, values)
            return
        with self._db.transaction() as conn:
            conn.execute(_INSERT_CALL, call_row)
            if rows:
                conn.execute(_INSERT_ASSERTION, rows)
            if audit_row is not None:
                conn.execute(INSERT_EVENT, audit_row)

    def assertion(self, assertion_id: str) -> AssertionRecord | None:
        """Return the assertion with this id, if one was made."""
        query = sa.select(coverage_assertions).where(
            coverage_assertions.c.assertion_id == assertion_id
        )
        with self._db.transaction() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return AssertionRecord(**{k: v for k, v in row.items() if k != "created_at"})

    def calls(self, *, limit: int = 100) -> list[HookCall]:
        """Return the most recent hook calls, newest first."""
        query = sa.select(hook_calls).order_by(hook_calls.c.received_at.desc()).limit(limit)
        with self._db.transaction() as conn:
            rows = conn.execute(query).mappings().all()
        return [HookCall(**{k: v for k, v in r.items() if k != "received_at"}) for r in rows]

    def logged_calls(self, hook_instance: str) -> list[LoggedCall]:
        """Every call with this ``hookInstance`` (normally one), oldest first.

        Each comes with the coverage assertions it produced. ``hook_instance`` has no index:
        this serves occasional dispute lookups, not a hot path.
        """
        calls = sa.select(hook_calls).where(hook_calls.c.hook_instance == hook_instance)
        with self._db.transaction() as conn:
            rows = conn.execute(calls.order_by(hook_calls.c.received_at)).mappings().all()
            ids = [r["request_id"] for r in rows]
            made = sa.select(coverage_assertions).where(coverage_assertions.c.request_id.in_(ids))
            assertion_rows = conn.execute(made).mappings().all() if ids else []
        by_call: dict[str, list[AssertionRecord]] = {}
        for a in assertion_rows:
            record = AssertionRecord(**{k: v for k, v in a.items() if k != "created_at"})
            by_call.setdefault(record.request_id, []).append(record)
        return [
            LoggedCall(
                HookCall(**{k: v for k, v in r.items() if k != "received_at"}),
                r["received_at"],
                tuple(by_call.get(r["request_id"], [])),
            )
            for r in rows
        ]

    def record_feedback(
        self, service_id: str, items: Iterable[Mapping[str, Any]], *, client: str | None
    ) -> int:
        """Store feedback entries as received (CDS Hooks §Feedback); return how many."""
        now = self._clock()
        rows = [_feedback_row(service_id, item, client, now) for item in items]
        if rows:
            with self._db.transaction() as conn:
                conn.execute(sa.insert(hook_feedback), rows)
        return len(rows)

    def feedback_count(self, card_uuid: str) -> int:
        """Return how many feedback entries name this card."""
        query = sa.select(sa.func.count()).where(hook_feedback.c.card_uuid == card_uuid)
        with self._db.transaction() as conn:
            return int(conn.execute(query).scalar_one())


def _one_statement(
    call_row: dict[str, Any], rows: list[dict[str, Any]], audit_row: dict[str, Any] | None
) -> tuple[sa.Insert, dict[str, Any]]:
    """The hook call's inserts as one PostgreSQL statement and its bound values."""
    values = _bound("call", call_row)
    for n, row in enumerate(rows):
        values |= _bound(f"a{n}", row)
    if audit_row is not None:
        values |= _bound("audit", audit_row)
    return _statement_of_shape(len(rows), audit_row is not None), values


@functools.lru_cache(maxsize=64)
def _statement_of_shape(assertions: int, audited: bool) -> sa.Insert:
    """``WITH part_0 AS (INSERT ...), ... INSERT INTO hook_calls ...``, built once per shape.

    One single-row insert per part (a multi-row VALUES defeats SQLAlchemy's compiled
    cache), bound by name: ``call_*``, ``a{n}_*`` and ``audit_*``.
    """
    parts = [
        sa.insert(coverage_assertions).values(_named(coverage_assertions, f"a{n}"))
        for n in range(assertions)
    ]
    if audited:
        parts.append(sa.insert(audit_events).values(_named(audit_events, "audit")))
    main = sa.insert(hook_calls).values(_named(hook_calls, "call"))
    return main.add_cte(*(part.cte(f"part_{n}") for n, part in enumerate(parts)))


def _named(table: sa.Table, prefix: str) -> dict[str, Any]:
    """A named bind parameter for each column the database does not number itself."""
    return {
        c.name: sa.bindparam(f"{prefix}_{c.name}", type_=c.type)
        for c in table.columns
        if c.autoincrement is not True
    }


def _bound(prefix: str, row: dict[str, Any]) -> dict[str, Any]:
    return {f"{prefix}_{name}": value for name, value in row.items()}


def _call_row(call: HookCall, now: Any) -> dict[str, Any]:
    return {
        "request_id": call.request_id,
        "service_id": call.service_id,
        "hook": call.hook,
        "hook_instance": call.hook_instance,
        "client": call.client,
        "received_at": now,
        "duration_ms": call.duration_ms,
        "status": call.status,
        "response": dict(call.response) if call.response is not None else None,
    }


def _assertion_row(record: AssertionRecord, now: Any) -> dict[str, Any]:
    return {
        "assertion_id": record.assertion_id,
        "request_id": record.request_id,
        "order_ref": record.order_ref,
        "coverage_ref": record.coverage_ref,
        "payer_id": record.payer_id,
        "topic_id": record.topic_id,
        "rule_source": record.rule_source,
        "decision": dict(record.decision),
        "satisfied_pa_id": record.satisfied_pa_id,
        "created_at": now,
    }


def _feedback_row(
    service_id: str, item: Mapping[str, Any], client: str | None, now: Any
) -> dict[str, Any]:
    return {
        "service_id": service_id,
        "card_uuid": item["card"],
        "outcome": item["outcome"],
        "accepted_suggestions": item.get("acceptedSuggestions"),
        "override_reason": item.get("overrideReason"),
        "outcome_timestamp": item["outcomeTimestamp"],
        "client": client,
        "received_at": now,
    }
