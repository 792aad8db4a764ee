"""PA data access: Groups, member choices and index, bulk exports, stored PDex resources.

Each authorization's PDex resource is written with every later change; exports render those
written before this revision on the fly.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the seven tables."""
    op.create_table(
        "access_groups",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(256), nullable=True),
        sa.Column("resource", sa.JSON, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
    )
    op.create_table(
        "access_group_members",
        sa.Column("group_id", sa.String(64), primary_key=True),
        sa.Column("member_id", sa.String(128), primary_key=True),
    )
    op.create_table(
        "access_member_choices",
        sa.Column("member_id", sa.String(128), primary_key=True),
        sa.Column("provider_access_opt_out", sa.Boolean, nullable=False),
        sa.Column("payer_to_payer_opt_in", sa.Boolean, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
    )
    op.create_table(
        "access_exports",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("group_id", sa.String(64), nullable=False),
        sa.Column("client", sa.String(256), nullable=True),
        sa.Column("since", _WHEN, nullable=True),
        sa.Column("request_url", sa.String(2048), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("requested_at", _WHEN, nullable=False),
        sa.Column("leased_until", _WHEN, nullable=True),
        sa.Column("completed_at", _WHEN, nullable=True),
        sa.Column("expires_at", _WHEN, nullable=True, index=True),
        sa.Column("output", sa.JSON, nullable=True),
        sa.Column("error", sa.String(512), nullable=True),
    )

    op.create_table(
        "access_members",
        sa.Column("member_id", sa.String(128), primary_key=True),
        sa.Column("member_system", sa.String(256), nullable=True),
        sa.Column("family", sa.String(128), nullable=True, index=True),
        sa.Column("given", sa.String(128), nullable=True),
        sa.Column("birth_date", sa.String(10), nullable=True, index=True),
        sa.Column("gender", sa.String(16), nullable=True),
        sa.Column("coverage_ids", sa.String(1024), nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
    )
    op.create_table(
        "access_disclosures",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("recorded_at", _WHEN, nullable=False, index=True),
        sa.Column("member_id", sa.String(128), nullable=False, index=True),
        sa.Column("recipient", sa.String(256), nullable=True),
        sa.Column("event", sa.JSON, nullable=False),
    )
    op.create_table(
        "pa_resources",
        sa.Column("pa_id", sa.String(64), primary_key=True),
        sa.Column("resource", sa.JSON, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
    )


def downgrade() -> None:
    """Drop them."""
    tables = (
        "access_disclosures",
        "pa_resources",
        "access_members",
        "access_exports",
        "access_member_choices",
    )
    for table in (*tables, "access_group_members", "access_groups"):
        op.drop_table(table)
