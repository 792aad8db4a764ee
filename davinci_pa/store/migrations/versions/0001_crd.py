"""CRD: hook calls, coverage assertions, feedback, JWT replay cache, audit events.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    """Create the CRD tables."""
    op.create_table(
        "hook_calls",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("service_id", sa.String(128), nullable=False),
        sa.Column("hook", sa.String(64), nullable=False),
        sa.Column("hook_instance", sa.String(64), nullable=False),
        sa.Column("client", sa.String(512), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("response", sa.JSON, nullable=True),
    )
    op.create_index("ix_hook_calls_received_at", "hook_calls", ["received_at"])
    op.create_table(
        "coverage_assertions",
        sa.Column("assertion_id", sa.String(64), primary_key=True),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("order_ref", sa.String(256), nullable=False),
        sa.Column("coverage_ref", sa.String(512), nullable=True),
        sa.Column("payer_id", sa.String(128), nullable=True),
        sa.Column("topic_id", sa.String(128), nullable=True),
        sa.Column("rule_source", sa.String(256), nullable=False),
        sa.Column("decision", sa.JSON, nullable=False),
        sa.Column("satisfied_pa_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("satisfied_pa_id", name="uq_coverage_assertions_satisfied_pa_id"),
    )
    op.create_index("ix_coverage_assertions_request_id", "coverage_assertions", ["request_id"])
    op.create_table(
        "hook_feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("service_id", sa.String(128), nullable=False),
        sa.Column("card_uuid", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("accepted_suggestions", sa.JSON, nullable=True),
        sa.Column("override_reason", sa.JSON, nullable=True),
        sa.Column("outcome_timestamp", sa.String(64), nullable=False),
        sa.Column("client", sa.String(512), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_hook_feedback_card_uuid", "hook_feedback", ["card_uuid"])
    op.create_table(
        "jwt_replay",
        sa.Column("issuer", sa.String(512), primary_key=True),
        sa.Column("jti", sa.String(256), primary_key=True),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_jwt_replay_expires_at", "jwt_replay", ["expires_at"])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("actor", sa.String(512), nullable=True),
        sa.Column("action", sa.String(128), nullable=False),
        sa.Column("target", sa.String(512), nullable=True),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
    )
    op.create_index("ix_audit_events_recorded_at", "audit_events", ["recorded_at"])


def downgrade() -> None:
    """Drop the CRD tables."""
    for table in ("audit_events", "jwt_replay", "hook_feedback", "coverage_assertions"):
        op.drop_table(table)
    op.drop_table("hook_calls")
