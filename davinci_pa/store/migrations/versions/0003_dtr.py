"""DTR: QuestionnaireResponses (drafts and received versions) and client error logs.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    """Create the DTR tables."""
    op.create_table(
        "dtr_questionnaire_responses",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("response_id", sa.String(64), nullable=False),
        sa.Column("questionnaire", sa.String(512), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject_ref", sa.String(256), nullable=True),
        sa.Column("order_ref", sa.String(256), nullable=True),
        sa.Column("coverage_ref", sa.String(256), nullable=True),
        sa.Column("assertion_id", sa.String(64), nullable=True),
        sa.Column("client", sa.String(512), nullable=True),
        sa.Column("resource", sa.JSON, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    for column in ("response_id", "order_ref", "assertion_id"):
        op.create_index(
            f"ix_dtr_questionnaire_responses_{column}", "dtr_questionnaire_responses", [column]
        )
    op.create_table(
        "dtr_error_logs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("questionnaires", sa.JSON, nullable=False),
        sa.Column("outcomes", sa.JSON, nullable=False),
        sa.Column("client", sa.String(512), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop the DTR tables."""
    op.drop_table("dtr_error_logs")
    op.drop_table("dtr_questionnaire_responses")
