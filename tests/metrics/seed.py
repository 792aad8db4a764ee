"""Hand-counted authorizations for the metrics tests, written straight into the PAS tables.

Each :class:`Request` is one row of ``pas_authorizations`` with, where it says so, its
review-queue entry (an extension) and an appeal. The expected figures in the tests are
counted by hand from :data:`YEAR_2026`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from davinci_pa.store import Database
from davinci_pa.store.schema import pas_appeals, pas_authorizations, pas_review_queue


@dataclass(frozen=True)
class Request:
    received: str
    decided: str | None
    determination: str | None
    urgent: bool = False
    status: str = "decided"
    plan: str = "acme-health-plan"
    extended: bool = False
    appeal: bool | None = None
    """``None``: not appealed; else whether the appeal approved."""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


YEAR_2026 = {
    "S1": Request("2026-03-01T00:00", "2026-03-01T00:00", "approved"),
    "S2": Request("2026-03-02T00:00", "2026-03-03T00:00", "approved"),
    "S3": Request("2026-04-01T00:00", "2026-04-03T00:00", "denied", appeal=True),
    "S4": Request("2026-04-05T00:00", "2026-04-06T00:00", "denied", appeal=False),
    "S5": Request("2026-05-01T00:00", "2026-05-01T12:00", "denied"),
    "S6": Request("2026-06-01T00:00", "2026-06-02T00:00", "partial"),
    "S7": Request("2026-07-01T00:00", "2026-07-12T00:00", "approved", extended=True),
    "S8": Request("2026-08-01T00:00", "2026-08-02T00:00", "approved", status="cancelled"),
    "S9": Request("2026-08-03T00:00", None, None, status="cancelled"),
    "S10": Request("2025-12-30T00:00", "2026-01-02T00:00", "approved"),
    "S11": Request("2026-12-30T00:00", "2027-01-03T00:00", "denied"),
    "S12": Request("2026-11-01T00:00", None, None, status="pended"),
    "S13": Request("2026-09-01T00:00", "2026-09-01T01:00", "approved", plan="medicare-demo"),
    "E1": Request("2026-02-01T00:00", "2026-02-01T02:00", "approved", urgent=True),
    "E2": Request("2026-02-01T00:00", "2026-02-02T00:00", "denied", urgent=True),
    "E3": Request("2026-08-01T00:00", "2026-08-01T06:00", "approved", urgent=True),
}


def seed(db: Database, requests: dict[str, Request]) -> None:
    """Write ``requests`` (name → request) as authorizations with their queue and appeals."""
    with db.transaction() as conn:
        for name, request in requests.items():
            _write(conn, name, request)


def _write(conn: sa.Connection, name: str, request: Request) -> None:
    received = at(request.received)
    decided = at(request.decided) if request.decided else None
    conn.execute(
        sa.insert(pas_authorizations).values(
            pa_id=name,
            pre_auth_ref=f"PA-{name}",
            claim_identifier=f"urn:test|{name}",
            member_id="M1",
            provider_ids="urn:npi|1",
            sender_org=None,
            submitter="clinic",
            status=request.status,
            urgent=request.urgent,
            version=1,
            created_at=received,
            status_changed_at=decided or received,
            retain_until=received + timedelta(days=3650),
            payer_id=request.plan,
            determined_at=decided,
            determination=request.determination,
        )
    )
    if request.extended:
        conn.execute(
            sa.insert(pas_review_queue).values(
                pa_id=name,
                urgent=request.urgent,
                queued_at=received,
                due_at=received + timedelta(days=7),
                extended_due_at=received + timedelta(days=14),
                extension_reason="waiting for records",
                closed_at=decided,
            )
        )
    if request.appeal is not None and decided is not None:
        conn.execute(
            sa.insert(pas_appeals).values(
                id=uuid.uuid4().hex,
                pa_id=name,
                items=[1],
                received_at=decided + timedelta(days=1),
                deniers={"1": "phil"},
                recorded_by="nina",
                recorded_at=decided + timedelta(days=1),
                decided_at=decided + timedelta(days=5),
                decided_by="petra",
                outcome={"1": "A1" if request.appeal else "A3"},
                approved=request.appeal,
            )
        )
