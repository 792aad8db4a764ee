"""PAS Subscriptions (R4 backport) and the outbox their notifications leave through.

Subscriptions R4 Backport IG §Notifications: event numbers increase per subscription and a
notification may be delivered more than once, so each row keeps a stable id. Workers claim
due rows with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL) plus a conditional update (every
dialect), take a lease, deliver, then mark the row delivered or schedule a retry with
exponential backoff. A Subscription's notifications leave one at a time in event-number
order: a later one waits while an earlier one is pending, so a subscriber that was down gets
them in order once it is back. A worker killed mid-delivery leaves a lease that expires,
after which another worker delivers the same notification again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from davinci_pa.store.clock import Clock, utc_now
from davinci_pa.store.database import Database
from davinci_pa.store.schema import pas_outbox, pas_subscriptions

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A notification to queue; ``build`` receives the event number it is given."""

    id: str
    subscription_id: str
    kind: str
    build: Callable[[int], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Delivery:
    """A claimed notification and where it goes."""

    id: str
    subscription_id: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    subscription: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SubscriptionRow:
    """A stored Subscription."""

    id: str
    owner: str | None
    status: str
    org_identifier: str
    endpoint: str
    events: int
    resource: dict[str, Any]


def enqueue(conn: Connection, messages: Sequence[OutboxMessage], now: datetime) -> None:
    """Queue notifications inside the caller's transaction, numbering event notifications."""
    for message in messages:
        number = 0
        if message.kind == "event-notification":
            conn.execute(
                sa.update(pas_subscriptions)
                .where(pas_subscriptions.c.id == message.subscription_id)
                .values(events=pas_subscriptions.c.events + 1)
            )
            number = conn.execute(
                sa.select(pas_subscriptions.c.events).where(
                    pas_subscriptions.c.id == message.subscription_id
                )
            ).scalar_one()
        conn.execute(
            sa.insert(pas_outbox).values(
                id=message.id,
                subscription_id=message.subscription_id,
                kind=message.kind,
                event_number=number,
                payload=message.build(number),
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )


class Subscriptions:
    """Stored PAS Subscriptions."""

    def __init__(self, db: Database, *, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock

    def create(self, row: SubscriptionRow, handshake: OutboxMessage | None) -> None:
        """Store a new Subscription and queue its handshake."""
        now = self._clock()
        with self._db.transaction() as conn:
            conn.execute(sa.insert(pas_subscriptions).values(updated_at=now, **_row(row)))
            if handshake is not None:
                enqueue(conn, [handshake], now)

    def replace(self, row: SubscriptionRow, handshake: OutboxMessage) -> None:
        """Replace a Subscription (an update) in one transaction.

        Its pending notifications go and a handshake for the new channel is queued.
        """
        now = self._clock()
        with self._db.transaction() as conn:
            conn.execute(
                sa.delete(pas_outbox).where(
                    pas_outbox.c.subscription_id == row.id, pas_outbox.c.status == PENDING
                )
            )
            conn.execute(
                sa.update(pas_subscriptions)
                .where(pas_subscriptions.c.id == row.id)
                .values(updated_at=now, **_row(row))
            )
            enqueue(conn, [handshake], now)

    def get(self, subscription_id: str) -> SubscriptionRow | None:
        """The Subscription with this id."""
        query = sa.select(pas_subscriptions).where(pas_subscriptions.c.id == subscription_id)
        with self._db.transaction() as conn:
            row = conn.execute(query).mappings().first()
        return _subscription(row) if row else None

    def for_org(self, org_identifier: str) -> list[SubscriptionRow]:
        """Active or requested Subscriptions filtered on this sending-system identifier."""
        query = sa.select(pas_subscriptions).where(
            pas_subscriptions.c.org_identifier == org_identifier,
            pas_subscriptions.c.status.in_(("active", "requested")),
        )
        with self._db.transaction() as conn:
            return [_subscription(r) for r in conn.execute(query).mappings()]

    def set_status(self, subscription_id: str, status: str, resource: dict[str, Any]) -> None:
        """Record a status change (handshake answered, error, off)."""
        with self._db.transaction() as conn:
            conn.execute(
                sa.update(pas_subscriptions)
                .where(pas_subscriptions.c.id == subscription_id)
                .values(status=status, resource=resource, updated_at=self._clock())
            )

    def delete(self, subscription_id: str) -> None:
        """Remove a Subscription and its undelivered notifications."""
        with self._db.transaction() as conn:
            conn.execute(
                sa.delete(pas_outbox).where(
                    pas_outbox.c.subscription_id == subscription_id,
                    pas_outbox.c.status == PENDING,
                )
            )
            conn.execute(
                sa.delete(pas_subscriptions).where(pas_subscriptions.c.id == subscription_id)
            )


class Outbox:
    """Claims, completes and retries queued notifications."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock = utc_now,
        lease: timedelta = timedelta(seconds=30),
        max_attempts: int = 8,
        base_backoff: timedelta = timedelta(seconds=2),
    ) -> None:
        self._db = db
        self._clock = clock
        self._lease = lease
        self._max_attempts = max_attempts
        self._backoff = base_backoff

    def claim(self, limit: int = 10) -> list[Delivery]:
        """Take a lease on up to ``limit`` due notifications, each its Subscription's next.

        A notification waits while an earlier one (lower event number) of its Subscription is
        pending, leased or in backoff: each Subscription gets its notifications one at a time,
        in event order, whichever worker delivers them.
        """
        now = self._clock()
        earlier = pas_outbox.alias("earlier")
        waiting = (
            sa.select(earlier.c.id)
            .where(
                earlier.c.subscription_id == pas_outbox.c.subscription_id,
                earlier.c.status == PENDING,
                earlier.c.event_number < pas_outbox.c.event_number,
            )
            .exists()
        )
        query = (
            sa.select(pas_outbox, pas_subscriptions.c.resource.label("subscription"))
            .join(pas_subscriptions, pas_subscriptions.c.id == pas_outbox.c.subscription_id)
            .where(pas_outbox.c.status == PENDING, pas_outbox.c.next_attempt_at <= now, ~waiting)
            .order_by(pas_outbox.c.created_at, pas_outbox.c.event_number)
            .limit(limit)
        )
        if self._db.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True, of=pas_outbox)
        claimed = []
        with self._db.transaction() as conn:
            for row in conn.execute(query).mappings().all():
                if row["attempts"] >= self._max_attempts:  # its worker died mid-attempt
                    _give_up(conn, row["id"], f"attempt limit reached; {row['last_error']}")
                    continue
                taken = conn.execute(
                    sa.update(pas_outbox)
                    .where(
                        pas_outbox.c.id == row["id"],
                        pas_outbox.c.next_attempt_at == row["next_attempt_at"],
                    )
                    .values(next_attempt_at=now + self._lease, attempts=row["attempts"] + 1)
                )
                if taken.rowcount == 1:
                    claimed.append(_delivery(row))
        return claimed

    def delivered(self, message_id: str) -> None:
        """Mark a notification delivered."""
        with self._db.transaction() as conn:
            conn.execute(
                sa.update(pas_outbox)
                .where(pas_outbox.c.id == message_id)
                .values(status=DELIVERED, delivered_at=self._clock(), last_error=None)
            )

    def failed(self, delivery: Delivery, error: str) -> bool:
        """Schedule a retry with backoff; return False once attempts are exhausted."""
        attempts = delivery.attempts + 1
        exhausted = attempts >= self._max_attempts
        retry_at = self._clock() + self._backoff * (2 ** (attempts - 1))
        with self._db.transaction() as conn:
            conn.execute(
                sa.update(pas_outbox)
                .where(pas_outbox.c.id == delivery.id)
                .values(
                    status=FAILED if exhausted else PENDING,
                    next_attempt_at=retry_at,
                    last_error=error[:500],
                )
            )
        return not exhausted

    def status_counts(self) -> dict[str, int]:
        """How many notifications are in each status."""
        query = sa.select(pas_outbox.c.status, sa.func.count()).group_by(pas_outbox.c.status)
        with self._db.transaction() as conn:
            return {str(row[0]): int(row[1]) for row in conn.execute(query).all()}

    def messages(self, subscription_id: str) -> list[dict[str, Any]]:
        """Every queued notification of a Subscription, in event order (for tests and audits)."""
        query = (
            sa.select(pas_outbox)
            .where(pas_outbox.c.subscription_id == subscription_id)
            .order_by(pas_outbox.c.event_number, pas_outbox.c.created_at)
        )
        with self._db.transaction() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]


def _give_up(conn: Connection, message_id: str, reason: str) -> None:
    conn.execute(
        sa.update(pas_outbox)
        .where(pas_outbox.c.id == message_id)
        .values(status=FAILED, last_error=reason[:500])
    )


def _row(row: SubscriptionRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "owner": row.owner,
        "status": row.status,
        "org_identifier": row.org_identifier,
        "endpoint": row.endpoint,
        "events": row.events,
        "resource": row.resource,
    }


def _subscription(row: Any) -> SubscriptionRow:
    return SubscriptionRow(**{k: row[k] for k in SubscriptionRow.__dataclass_fields__})


def _delivery(row: Any) -> Delivery:
    return Delivery(
        row["id"],
        row["subscription_id"],
        row["kind"],
        row["payload"],
        row["attempts"],
        row["subscription"],
    )
