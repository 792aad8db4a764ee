"""Table definitions (SQLAlchemy Core). Alembic migrations in ``migrations/`` create them."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "pk": "pk_%(table_name)s",
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
    }
)

hook_calls = sa.Table(
    "hook_calls",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("service_id", sa.String(128), nullable=False),
    sa.Column("hook", sa.String(64), nullable=False),
    sa.Column("hook_instance", sa.String(64), nullable=False),
    sa.Column("client", sa.String(512), nullable=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("duration_ms", sa.Float, nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("response", sa.JSON, nullable=True),
    sa.Index("ix_hook_calls_received_at", "received_at"),
)
"""CRD found-37: every hook invocation and the answer given."""

coverage_assertions = sa.Table(
    "coverage_assertions",
    metadata,
    sa.Column("assertion_id", sa.String(64), primary_key=True),
    sa.Column("request_id", sa.String(64), nullable=False, index=True),
    sa.Column("order_ref", sa.String(256), nullable=False),
    sa.Column("coverage_ref", sa.String(512), nullable=True),
    sa.Column("payer_id", sa.String(128), nullable=True),
    sa.Column("topic_id", sa.String(128), nullable=True),
    sa.Column("rule_source", sa.String(256), nullable=False),
    sa.Column("decision", sa.JSON, nullable=False),
    sa.Column("satisfied_pa_id", sa.String(64), nullable=True, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
"""CRD found-11: retained guidance; DTR and PAS look decisions up by assertion id."""

hook_feedback = sa.Table(
    "hook_feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("service_id", sa.String(128), nullable=False),
    sa.Column("card_uuid", sa.String(64), nullable=False, index=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("accepted_suggestions", sa.JSON, nullable=True),
    sa.Column("override_reason", sa.JSON, nullable=True),
    sa.Column("outcome_timestamp", sa.String(64), nullable=False),
    sa.Column("client", sa.String(512), nullable=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)
"""CDS Hooks §Feedback: kept as received; duplicates are expected and kept."""

jwt_replay = sa.Table(
    "jwt_replay",
    metadata,
    sa.Column("issuer", sa.String(512), primary_key=True),
    sa.Column("jti", sa.String(256), primary_key=True),
    sa.Column("expires_at", sa.Float, nullable=False, index=True),
)
"""CDS Hooks §Trusting CDS Clients: ``jti`` seen before its token expired is a replay."""

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("request_id", sa.String(64), nullable=True),
    sa.Column("actor", sa.String(512), nullable=True),
    sa.Column("action", sa.String(128), nullable=False),
    sa.Column("target", sa.String(512), nullable=True),
    sa.Column("outcome", sa.String(64), nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
)
"""Who did what, with which outcome: one row per call (no PHI)."""
