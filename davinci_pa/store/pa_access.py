"""Reading authorizations the way the PA-data APIs disclose them: by member, page by page.

Patient Access shows a member the authorizations that are active or changed within the
disclosure window (CMS-0057-F: while active and for a year after the last change); the bulk
exports stream every authorization of a set of members in constant memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from davinci_pa.store.clock import aware_row
from davinci_pa.store.database import Database
from davinci_pa.store.pas_records import Authorization, ItemState, StateChange
from davinci_pa.store.schema import (
    pa_resources,
    pas_authorizations,
    pas_items,
    pas_responses,
    pas_submissions,
)
from davinci_pa.store.upsert import upsert

AUTHS = pas_authorizations.c


@dataclass(frozen=True, slots=True)
class AccessFilter:
    """Which authorizations of a member to list.

    Args:
        member_id: the member (``Patient/{member id}``).
        visible_since: the window start: older unchanged requests are hidden unless pended.
        ids: only these authorization ids (``_id``).
        pre_auth_ref: only the authorization with this ``preAuthRef``.
        claim_identifier: only those with this Claim identifier: ``(system, value)``, the
            system ``None`` for any.
        updated: ``(operator, moment)`` bounds on the last change (``_lastUpdated``), with
            operators ``ge``, ``gt``, ``le``, ``lt``.
    """

    member_id: str
    visible_since: datetime
    ids: tuple[str, ...] = ()
    pre_auth_ref: str | None = None
    claim_identifier: tuple[str | None, str] | None = None
    updated: Sequence[tuple[str, datetime]] = field(default_factory=tuple)


class PaAccessStore:
    """Queries behind Patient Access and the bulk exports."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def page(
        self, wanted: AccessFilter, *, limit: int, offset: int
    ) -> tuple[list[Authorization], int]:
        """One page of a member's visible authorizations, newest change first, and the total."""
        where = _conditions(wanted)
        query = (
            sa.select(pas_authorizations)
            .where(*where)
            .order_by(AUTHS.updated_at.desc(), AUTHS.pa_id)
            .limit(limit)
            .offset(offset)
        )
        count = sa.select(sa.func.count()).select_from(pas_authorizations).where(*where)
        with self._db.transaction() as conn:
            rows = [Authorization(**aware_row(r)) for r in conn.execute(query).mappings()]
            total = int(conn.execute(count).scalar_one())
        return rows, total

    def visible(self, pa_id: str, visible_since: datetime) -> Authorization | None:
        """The authorization ``pa_id`` if it is inside the disclosure window."""
        query = sa.select(pas_authorizations).where(AUTHS.pa_id == pa_id, _in_window(visible_since))
        with self._db.transaction() as conn:
            row = conn.execute(query).mappings().first()
        return Authorization(**aware_row(row)) if row else None

    def of_members(
        self,
        members: Sequence[str],
        *,
        since: datetime | None = None,
        changed_after: datetime | None = None,
        exclude_denied: bool = False,
        batch: int = 500,
    ) -> Iterator[list[str | Exchange]]:
        """Every authorization of ``members``, in batches, as stored PDex JSON text.

        Constant memory; an authorization stored before PDex resources were kept comes as
        its exchange, to be rendered.

        ``since``: only those created from then on (the Payer-to-Payer five years);
        ``changed_after``: only those changed after it (``_since``); ``exclude_denied``:
        leave out requests whose determination was a denial (Payer-to-Payer).
        """
        for start in range(0, len(members), batch):
            chunk = list(members[start : start + batch])
            where: list[sa.ColumnElement[bool]] = [AUTHS.member_id.in_(chunk)]
            if since is not None:
                where.append(AUTHS.created_at >= since)
            if changed_after is not None:
                where.append(AUTHS.updated_at > changed_after)
            if exclude_denied:
                where.append(sa.func.coalesce(AUTHS.determination, "") != "denied")
            text = sa.cast(pa_resources.c.resource, sa.Text).label("stored_resource")
            query = (
                sa.select(pas_authorizations, text)
                .outerjoin(pa_resources, pa_resources.c.pa_id == AUTHS.pa_id)
                .where(*where)
                .order_by(AUTHS.pa_id)
            )
            with self._db.transaction() as conn:
                rows = [dict(r) for r in conn.execute(query).mappings()]
            for first in range(0, len(rows), batch):
                yield self._batch(rows[first : first + batch])

    def stored_resources(self, pa_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The kept PDex resources of these authorizations (those that have one)."""
        query = sa.select(pa_resources.c.pa_id, pa_resources.c.resource).where(
            pa_resources.c.pa_id.in_(pa_ids)
        )
        with self._db.transaction() as conn:
            return {str(r[0]): dict(r[1]) for r in conn.execute(query)}

    def exchanges(self, auths: Sequence[Authorization]) -> list[Exchange]:
        """The exchanges of these authorizations, in their own transaction."""
        with self._db.transaction() as conn:
            return exchanges(conn, auths)

    def _batch(self, rows: list[dict[str, Any]]) -> list[str | Exchange]:
        found: list[str | Exchange] = [
            str(r["stored_resource"]) for r in rows if r["stored_resource"]
        ]
        missing = [
            Authorization(**aware_row({k: v for k, v in r.items() if k != "stored_resource"}))
            for r in rows
            if not r["stored_resource"]
        ]
        if missing:
            found.extend(self.exchanges(missing))
        return found


def exchanges(conn: sa.Connection, auths: Sequence[Authorization]) -> list[Exchange]:
    """The latest request and response and the items of each authorization (3 queries)."""
    ids = [a.pa_id for a in auths]
    requests = _latest_requests(conn, ids)
    responses = _latest_responses(conn, ids)
    items = _items(conn, ids)
    return [
        Exchange(a, items.get(a.pa_id, []), requests[a.pa_id], responses[a.pa_id])
        for a in auths
        if a.pa_id in requests and a.pa_id in responses
    ]


def exchange_of(conn: sa.Connection, change: StateChange) -> Exchange | None:
    """The exchange of the authorization a saved change touched, inside its transaction.

    The response, and the request when the change is a submission, are the change's own
    (the request Bundle is the largest value stored: it is not read back).
    """
    pa_id = change.authorization.pa_id
    row = conn.execute(sa.select(pas_authorizations).where(AUTHS.pa_id == pa_id)).mappings().first()
    if row is None:
        return None
    submission = change.submission
    request = submission.request if submission is not None else latest_request(conn, pa_id)
    if request is None:
        return None
    items = _items(conn, [pa_id]).get(pa_id, [])
    return Exchange(Authorization(**aware_row(row)), items, request, change.response)


def keep_resource(conn: sa.Connection, exchange: Exchange, resource: dict[str, Any]) -> None:
    """Keep an authorization's PDex resource (in the caller's transaction)."""
    values = {"resource": resource, "updated_at": exchange.authorization.updated_at}
    upsert(conn, pa_resources, {"pa_id": exchange.authorization.pa_id}, values)


@dataclass(frozen=True, slots=True)
class Exchange:
    """An authorization with what its PDex resource is made from."""

    authorization: Authorization
    items: list[ItemState]
    request: dict[str, object]
    response: dict[str, object]


def latest_request(conn: sa.Connection, pa_id: str) -> dict[str, Any] | None:
    """The newest request Bundle of one authorization (inside the caller's transaction)."""
    return _latest_requests(conn, [pa_id]).get(pa_id)


def _items(conn: sa.Connection, ids: Sequence[str]) -> dict[str, list[ItemState]]:
    items: dict[str, list[ItemState]] = {}
    query = sa.select(pas_items).where(pas_items.c.pa_id.in_(ids))
    for r in conn.execute(query.order_by(pas_items.c.pa_id, pas_items.c.sequence)).mappings():
        state = ItemState(r["sequence"], r["item"], r["action"], r["decision"])
        items.setdefault(r["pa_id"], []).append(state)
    return items


def _latest_requests(conn: sa.Connection, ids: Sequence[str]) -> dict[str, dict[str, object]]:
    subs = pas_submissions.c
    newest = (
        sa.select(subs.pa_id, sa.func.max(subs.version).label("version"))
        .where(subs.pa_id.in_(ids))
        .group_by(subs.pa_id)
        .subquery()
    )
    query = sa.select(subs.pa_id, subs.request).join(
        newest, sa.and_(subs.pa_id == newest.c.pa_id, subs.version == newest.c.version)
    )
    return {str(r[0]): dict(r[1]) for r in conn.execute(query)}


def _latest_responses(conn: sa.Connection, ids: Sequence[str]) -> dict[str, dict[str, object]]:
    responses = pas_responses.c
    newest = (
        sa.select(sa.func.max(responses.id))
        .where(responses.pa_id.in_(ids))
        .group_by(responses.pa_id)
    )
    query = sa.select(responses.pa_id, responses.bundle).where(responses.id.in_(newest))
    return {str(r[0]): dict(r[1]) for r in conn.execute(query)}


def _in_window(visible_since: datetime) -> sa.ColumnElement[bool]:
    changed = sa.func.coalesce(AUTHS.updated_at, AUTHS.status_changed_at)
    return sa.or_(AUTHS.status == "pended", changed >= visible_since)


def _conditions(wanted: AccessFilter) -> list[sa.ColumnElement[bool]]:
    where = [AUTHS.member_id == wanted.member_id, _in_window(wanted.visible_since)]
    if wanted.ids:
        where.append(AUTHS.pa_id.in_(wanted.ids))
    if wanted.pre_auth_ref is not None:
        where.append(AUTHS.pre_auth_ref == wanted.pre_auth_ref)
    if wanted.claim_identifier is not None:
        system, value = wanted.claim_identifier
        if system is None:
            where.append(AUTHS.claim_identifier.endswith(f"|{value}", autoescape=True))
        else:
            where.append(AUTHS.claim_identifier == f"{system}|{value}")
    changed = sa.func.coalesce(AUTHS.updated_at, AUTHS.status_changed_at)
    for operator, moment in wanted.updated:
        where.append(
            {
                "ge": changed >= moment,
                "gt": changed > moment,
                "le": changed <= moment,
                "lt": changed < moment,
            }[operator]
        )
    return where
