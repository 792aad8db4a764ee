"""Determination, plan and last change of each authorization; appeals that approved.

``determined_at`` is when the request first had no pended item left (the payer's
determination), ``determination`` what it was: ``approved`` (every live item certified in
total), ``denied`` (every live item not certified) or ``partial`` (anything between, or a
modified or partial certification). Rows written before this revision are filled from their
current items: the time the status last changed and what the items say now (an appeal
decided before the upgrade therefore counts as the determination; there is no earlier
record to tell them apart). ``payer_id`` stays empty for them: the plan was not recorded.
``pas_appeals.approved`` tells whether a decided appeal approved any item, from its outcome.
``updated_at`` is the last change of any kind, filled from the newest response version.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"

_AUTHS = sa.table(
    "pas_authorizations",
    sa.column("pa_id", sa.String),
    sa.column("status", sa.String),
    sa.column("status_changed_at", sa.DateTime),
    sa.column("determined_at", sa.DateTime),
    sa.column("determination", sa.String),
    sa.column("updated_at", sa.DateTime),
)
_RESPONSES = sa.table(
    "pas_responses", sa.column("pa_id", sa.String), sa.column("created_at", sa.DateTime)
)
_ITEMS = sa.table("pas_items", sa.column("pa_id", sa.String), sa.column("action", sa.String))
_APPEALS = sa.table(
    "pas_appeals",
    sa.column("id", sa.String),
    sa.column("outcome", sa.JSON),
    sa.column("approved", sa.Boolean),
)
_APPROVALS = {"A1", "A2", "A6"}


def upgrade() -> None:
    """Add the columns and their indexes, then fill them for decided requests."""
    with op.batch_alter_table("pas_authorizations") as batch:
        batch.add_column(sa.Column("payer_id", sa.String(128), nullable=True))
        batch.add_column(sa.Column("determined_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("determination", sa.String(16), nullable=True))
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_pas_authorizations_payer_id", "pas_authorizations", ["payer_id"])
    op.create_index("ix_pas_authorizations_updated_at", "pas_authorizations", ["updated_at"])
    op.create_index("ix_pas_authorizations_determined_at", "pas_authorizations", ["determined_at"])
    op.get_bind().execute(
        sa.update(_AUTHS)
        .where(_AUTHS.c.status == "decided")
        .values(determined_at=_AUTHS.c.status_changed_at, determination=_backfilled())
    )
    newest = (
        sa.select(sa.func.max(_RESPONSES.c.created_at))
        .where(_RESPONSES.c.pa_id == _AUTHS.c.pa_id)
        .scalar_subquery()
    )
    op.get_bind().execute(
        sa.update(_AUTHS).values(updated_at=sa.func.coalesce(newest, _AUTHS.c.status_changed_at))
    )
    with op.batch_alter_table("pas_appeals") as batch:
        batch.add_column(sa.Column("approved", sa.Boolean, nullable=True))
    _backfill_appeals()


def _backfilled() -> sa.ColumnElement[str]:
    def has(*actions: str) -> sa.Exists:
        return sa.exists().where(_ITEMS.c.pa_id == _AUTHS.c.pa_id, _ITEMS.c.action.in_(actions))

    return sa.case(
        (has("A2", "A6") | (has("A1") & has("A3")), "partial"),
        (has("A1"), "approved"),
        (has("A3"), "denied"),
        else_=None,
    )


def _backfill_appeals() -> None:
    conn = op.get_bind()
    decided = conn.execute(
        sa.select(_APPEALS.c.id, _APPEALS.c.outcome).where(_APPEALS.c.outcome.is_not(None))
    ).all()
    for appeal_id, outcome in decided:
        approved = any(action in _APPROVALS for action in dict(outcome).values())
        conn.execute(
            sa.update(_APPEALS).where(_APPEALS.c.id == appeal_id).values(approved=approved)
        )


def downgrade() -> None:
    """Drop the columns and their indexes."""
    with op.batch_alter_table("pas_appeals") as batch:
        batch.drop_column("approved")
    op.drop_index("ix_pas_authorizations_determined_at", "pas_authorizations")
    op.drop_index("ix_pas_authorizations_updated_at", "pas_authorizations")
    op.drop_index("ix_pas_authorizations_payer_id", "pas_authorizations")
    with op.batch_alter_table("pas_authorizations") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("determination")
        batch.drop_column("determined_at")
        batch.drop_column("payer_id")
