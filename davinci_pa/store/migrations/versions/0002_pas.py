"""PAS: authorizations, submissions, responses, items, review queue, subscriptions, outbox.

Also the shared access-token signing key of the SMART Backend Services token endpoint.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the PAS and auth tables."""
    _authorizations()
    _claims_and_responses()
    _review_and_notifications()
    op.create_table(
        "auth_signing_keys",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("jwk", sa.JSON, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )


def _authorizations() -> None:
    op.create_table(
        "pas_authorizations",
        sa.Column("pa_id", sa.String(64), primary_key=True),
        sa.Column("pre_auth_ref", sa.String(64), nullable=False),
        sa.Column("claim_identifier", sa.String(512), nullable=False),
        sa.Column("member_id", sa.String(128), nullable=True),
        sa.Column("provider_ids", sa.String(512), nullable=False),
        sa.Column("sender_org", sa.String(256), nullable=True),
        sa.Column("submitter", sa.String(256), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("urgent", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("status_changed_at", _TS, nullable=False),
        sa.Column("retain_until", _TS, nullable=False),
        sa.UniqueConstraint("pre_auth_ref", name="uq_pas_authorizations_pre_auth_ref"),
    )
    for column in ("claim_identifier", "member_id", "retain_until"):
        op.create_index(f"ix_pas_authorizations_{column}", "pas_authorizations", [column])


def _claims_and_responses() -> None:
    op.create_table(
        "pas_submissions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("pa_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("dedupe_key", sa.String(128), nullable=False),
        sa.Column("received_at", _TS, nullable=False),
        sa.Column("request", sa.JSON, nullable=False),
        sa.UniqueConstraint("dedupe_key", name="uq_pas_submissions_dedupe_key"),
    )
    op.create_index("ix_pas_submissions_pa_id", "pas_submissions", ["pa_id"])
    op.create_table(
        "pas_responses",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("pa_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("submission_id", sa.String(64), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("bundle", sa.JSON, nullable=False),
    )
    op.create_index("ix_pas_responses_pa_id", "pas_responses", ["pa_id"])
    op.create_table(
        "pas_items",
        sa.Column("pa_id", sa.String(64), primary_key=True),
        sa.Column("sequence", sa.Integer, primary_key=True),
        sa.Column("item", sa.JSON, nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("decision", sa.JSON, nullable=False),
        sa.Column("decided_at", _TS, nullable=False),
    )


def _review_and_notifications() -> None:
    op.create_table(
        "pas_review_queue",
        sa.Column("pa_id", sa.String(64), primary_key=True),
        sa.Column("urgent", sa.Boolean, nullable=False),
        sa.Column("queued_at", _TS, nullable=False),
        sa.Column("due_at", _TS, nullable=False),
        sa.Column("extended_due_at", _TS, nullable=True),
        sa.Column("extension_reason", sa.String(512), nullable=True),
        sa.Column("closed_at", _TS, nullable=True),
        sa.Column("late", sa.Boolean, nullable=True),
    )
    op.create_index("ix_pas_review_queue_due_at", "pas_review_queue", ["due_at"])
    op.create_table(
        "pas_subscriptions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(256), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("org_identifier", sa.String(256), nullable=False),
        sa.Column("endpoint", sa.String(1024), nullable=False),
        sa.Column("events", sa.Integer, nullable=False),
        sa.Column("resource", sa.JSON, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_index("ix_pas_subscriptions_org_identifier", "pas_subscriptions", ["org_identifier"])
    op.create_table(
        "pas_outbox",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("subscription_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("event_number", sa.Integer, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("last_error", sa.String(512), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("delivered_at", _TS, nullable=True),
    )
    op.create_index("ix_pas_outbox_subscription_id", "pas_outbox", ["subscription_id"])
    op.create_index("ix_pas_outbox_next_attempt_at", "pas_outbox", ["next_attempt_at"])


def downgrade() -> None:
    """Drop the PAS and auth tables."""
    for table in (
        "auth_signing_keys",
        "pas_outbox",
        "pas_subscriptions",
        "pas_review_queue",
        "pas_items",
        "pas_responses",
        "pas_submissions",
        "pas_authorizations",
    ):
        op.drop_table(table)
