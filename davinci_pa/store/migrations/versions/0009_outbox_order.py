"""PAS notifications in event order: index a Subscription's pending notifications.

A notification is claimed only when no earlier one of its Subscription is pending; the
partial index keeps that check to the few pending rows however many were delivered.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"

_PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    """Create the partial index."""
    op.create_index(
        "ix_pas_outbox_pending",
        "pas_outbox",
        ["subscription_id", "event_number"],
        postgresql_where=_PENDING,
        sqlite_where=_PENDING,
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_index("ix_pas_outbox_pending", table_name="pas_outbox")
