"""Utilization review: reviewer accounts, the request history, appeals, deadline flags.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the review tables; add the deadline flag to the review queue."""
    op.create_table(
        "reviewers",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("failed_logins", sa.Integer, nullable=False),
        sa.Column("locked_until", _WHEN, nullable=True),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
    )
    op.create_table(
        "review_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, index=True),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("last_seen_at", _WHEN, nullable=False),
        sa.Column("ended_at", _WHEN, nullable=True),
    )
    op.create_table(
        "pas_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("pa_id", sa.String(64), nullable=False, index=True),
        sa.Column("at", _WHEN, nullable=False),
        sa.Column("actor", sa.String(256), nullable=True),
        sa.Column("role", sa.String(16), nullable=True),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_table(
        "pas_appeals",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("pa_id", sa.String(64), nullable=False, index=True),
        sa.Column("items", sa.JSON, nullable=False),
        sa.Column("received_at", _WHEN, nullable=False),
        sa.Column("received_from", sa.String(256), nullable=True),
        sa.Column("note", sa.String(2000), nullable=True),
        sa.Column("deniers", sa.JSON, nullable=False),
        sa.Column("recorded_by", sa.String(256), nullable=False),
        sa.Column("recorded_at", _WHEN, nullable=False),
        sa.Column("decided_at", _WHEN, nullable=True),
        sa.Column("decided_by", sa.String(256), nullable=True),
        sa.Column("outcome", sa.JSON, nullable=True),
    )
    with op.batch_alter_table("pas_review_queue") as batch:
        batch.add_column(sa.Column("flag", sa.String(16), nullable=True))
        batch.add_column(sa.Column("topics", sa.String(512), nullable=True))
    op.create_index("ix_pas_review_queue_open", "pas_review_queue", ["closed_at", "due_at"])


def downgrade() -> None:
    """Drop what :func:`upgrade` created."""
    op.drop_index("ix_pas_review_queue_open", "pas_review_queue")
    with op.batch_alter_table("pas_review_queue") as batch:
        batch.drop_column("topics")
        batch.drop_column("flag")
    op.drop_table("pas_appeals")
    op.drop_table("pas_history")
    op.drop_table("review_sessions")
    op.drop_table("reviewers")
