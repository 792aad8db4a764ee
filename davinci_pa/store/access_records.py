"""Storage for Provider Access: attribution Groups, member choices and bulk exports.

Exports are their own queue (like the notification outbox): a kick-off inserts an
``accepted`` row, a worker leases it (``running`` until ``leased_until``; a lease that ran
out is taken again, so a worker that died loses nothing), and marks it ``complete`` with its
output files or ``error`` with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from davinci_pa.store.clock import aware_row
from davinci_pa.store.database import Database
from davinci_pa.store.schema import (
    access_disclosures,
    access_exports,
    access_group_members,
    access_groups,
    access_member_choices,
    access_members,
)
from davinci_pa.store.upsert import upsert

ACCEPTED, RUNNING, COMPLETE, ERROR = "accepted", "running", "complete", "error"


@dataclass(frozen=True, slots=True)
class GroupRow:
    """A stored attribution Group."""

    id: str
    owner: str | None
    resource: dict[str, Any]
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ExportRow:
    """A bulk export and its state."""

    id: str
    kind: str
    group_id: str
    client: str | None
    since: datetime | None
    request_url: str
    status: str
    requested_at: datetime
    leased_until: datetime | None = None
    completed_at: datetime | None = None
    expires_at: datetime | None = None
    output: list[dict[str, Any]] | None = None
    error: str | None = None


class AccessRecords:
    """Groups, member choices and exports."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- groups --------------------------------------------------------------------------

    def put_group(self, row: GroupRow, members: Sequence[str]) -> bool:
        """Create or replace a Group and its member list; ``True`` when it was new."""
        values = {"owner": row.owner, "resource": row.resource, "updated_at": row.updated_at}
        with self._db.transaction() as conn:
            done = conn.execute(
                sa.update(access_groups).where(access_groups.c.id == row.id).values(**values)
            )
            created = done.rowcount == 0
            if created:
                conn.execute(sa.insert(access_groups).values(id=row.id, **values))
            conn.execute(
                sa.delete(access_group_members).where(access_group_members.c.group_id == row.id)
            )
            unique = sorted(set(members))
            if unique:
                conn.execute(
                    sa.insert(access_group_members),
                    [{"group_id": row.id, "member_id": m} for m in unique],
                )
        return created

    def group(self, group_id: str) -> GroupRow | None:
        """The Group ``group_id``."""
        query = sa.select(access_groups).where(access_groups.c.id == group_id)
        with self._db.transaction() as conn:
            row = conn.execute(query).mappings().first()
        return GroupRow(**aware_row(row)) if row else None

    def members(self, group_id: str, *, provider_access: bool = False) -> list[str]:
        """The Group's member ids; ``provider_access``: without those who opted out."""
        members, choices = access_group_members.c, access_member_choices.c
        query = sa.select(members.member_id).where(members.group_id == group_id)
        if provider_access:
            opted_out = sa.select(choices.member_id).where(choices.provider_access_opt_out)
            query = query.where(members.member_id.not_in(opted_out))
        with self._db.transaction() as conn:
            return [str(r[0]) for r in conn.execute(query.order_by(members.member_id))]

    # -- member choices ------------------------------------------------------------------

    def choose(
        self,
        member_id: str,
        at: datetime,
        *,
        provider_access_opt_out: bool | None = None,
        payer_to_payer_opt_in: bool | None = None,
    ) -> tuple[bool, bool]:
        """Record a member's choices (``None``: unchanged); the choices now in force."""
        current = self.choices(member_id)
        chosen = (
            current[0] if provider_access_opt_out is None else provider_access_opt_out,
            current[1] if payer_to_payer_opt_in is None else payer_to_payer_opt_in,
        )
        values = {
            "provider_access_opt_out": chosen[0],
            "payer_to_payer_opt_in": chosen[1],
            "updated_at": at,
        }
        table = access_member_choices
        with self._db.transaction() as conn:
            upsert(conn, table, {"member_id": member_id}, values)
        return chosen

    def choices(self, member_id: str) -> tuple[bool, bool]:
        """``(opted out of Provider Access, opted in to Payer-to-Payer)``; default neither."""
        table = access_member_choices
        query = sa.select(table.c.provider_access_opt_out, table.c.payer_to_payer_opt_in).where(
            table.c.member_id == member_id
        )
        with self._db.transaction() as conn:
            row = conn.execute(query).first()
        return (bool(row[0]), bool(row[1])) if row else (False, False)

    # -- exports -------------------------------------------------------------------------

    def add_export(self, row: ExportRow) -> None:
        """Queue an export."""
        with self._db.transaction() as conn:
            conn.execute(sa.insert(access_exports).values(**_fields(row)))

    def export(self, export_id: str) -> ExportRow | None:
        """The export ``export_id``."""
        query = sa.select(access_exports).where(access_exports.c.id == export_id)
        with self._db.transaction() as conn:
            row = conn.execute(query).mappings().first()
        return ExportRow(**aware_row(row)) if row else None

    def lease_export(self, now: datetime, lease: timedelta) -> ExportRow | None:
        """Take the oldest export waiting (or whose lease ran out) for ``lease``."""
        table = access_exports.c
        waiting = sa.or_(
            table.status == ACCEPTED, sa.and_(table.status == RUNNING, table.leased_until < now)
        )
        query = sa.select(access_exports).where(waiting).order_by(table.requested_at).limit(1)
        with self._db.transaction() as conn:
            if self._db.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            row = conn.execute(query).mappings().first()
            if row is None:
                return None
            conn.execute(
                sa.update(access_exports)
                .where(table.id == row["id"])
                .values(status=RUNNING, leased_until=now + lease)
            )
        return ExportRow(**aware_row(row))

    def finish_export(self, export_id: str, **values: Any) -> None:
        """Record the end of an export (``status``, ``output``, ``error``, times)."""
        with self._db.transaction() as conn:
            conn.execute(
                sa.update(access_exports).where(access_exports.c.id == export_id).values(**values)
            )

    def delete_export(self, export_id: str) -> None:
        """Forget an export (cancelled, or past its expiry)."""
        with self._db.transaction() as conn:
            conn.execute(sa.delete(access_exports).where(access_exports.c.id == export_id))

    def expired_exports(self, now: datetime) -> list[str]:
        """Exports whose files have expired."""
        query = sa.select(access_exports.c.id).where(access_exports.c.expires_at < now)
        with self._db.transaction() as conn:
            return [str(r[0]) for r in conn.execute(query)]


def _fields(row: ExportRow) -> dict[str, Any]:
    return {k: getattr(row, k) for k in row.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class MemberRow:
    """A member as the PAS requests described them (``$member-match``)."""

    member_id: str
    member_system: str | None
    family: str | None
    given: str | None
    birth_date: str | None
    gender: str | None
    coverage_ids: tuple[str, ...]
    """``system|value`` of the member's Coverage identifiers and ``subscriberId``."""


def keep_member(conn: sa.Connection, row: MemberRow, at: datetime) -> None:
    """Record (or refresh) a member's demographics inside the caller's transaction."""
    table = access_members
    values = {
        "member_system": row.member_system,
        "family": row.family.lower()[:128] if row.family else None,
        "given": row.given.lower()[:128] if row.given else None,
        "birth_date": row.birth_date,
        "gender": row.gender,
        "coverage_ids": ("," + ",".join(row.coverage_ids) + ",")[:1024],
        "updated_at": at,
    }
    upsert(conn, table, {"member_id": row.member_id}, values)


def members_born(db: Database, birth_date: str, family: str) -> list[MemberRow]:
    """Members with this birth date and family name (case-insensitive)."""
    table = access_members.c
    query = sa.select(access_members).where(
        table.birth_date == birth_date, table.family == family.lower()
    )
    with db.transaction() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        MemberRow(
            r["member_id"],
            r["member_system"],
            r["family"],
            r["given"],
            r["birth_date"],
            r["gender"],
            tuple(i for i in str(r["coverage_ids"]).split(",") if i),
        )
        for r in rows
    ]


class Disclosures:
    """The AuditEvents of disclosures, written in batches, read per member."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, events: Sequence[tuple[str, str | None, dict[str, Any]]], at: datetime) -> None:
        """Store ``(member id, recipient, AuditEvent)`` rows."""
        if not events:
            return
        rows = [
            {"id": e["id"], "recorded_at": at, "member_id": m, "recipient": r, "event": e}
            for m, r, e in events
        ]
        with self._db.transaction() as conn:
            conn.execute(sa.insert(access_disclosures), rows)

    def of_member(self, member_id: str, *, limit: int = 1000) -> list[dict[str, Any]]:
        """The member's disclosures, newest first."""
        table = access_disclosures.c
        query = (
            sa.select(table.event)
            .where(table.member_id == member_id)
            .order_by(table.recorded_at.desc(), table.id)
            .limit(limit)
        )
        with self._db.transaction() as conn:
            return [dict(r[0]) for r in conn.execute(query)]
