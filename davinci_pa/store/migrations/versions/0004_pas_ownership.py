"""PAS ownership: one authorization per (Claim identifier, submitter); who sent each request.

A Claim identifier names one authorization per submitting system (docs/pas.md §Duplicates
and resubmissions). Databases written before this revision may hold several authorizations
under one identifier and submitter; the newest keeps the identifier and the older ones get
``#<pa_id>`` appended, so each stays readable by its id and ``preAuthRef``. (SQL counts
NULLs as distinct, so the index binds submitting clients; the payer's own calls without a
submitter rely on the service's lookup.)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

_AUTHS = sa.table(
    "pas_authorizations",
    sa.column("pa_id", sa.String),
    sa.column("claim_identifier", sa.String),
    sa.column("submitter", sa.String),
    sa.column("created_at", sa.DateTime),
)


def upgrade() -> None:
    """Add ``pas_submissions.submitter`` and the unique (identifier, submitter) index."""
    with op.batch_alter_table("pas_submissions") as batch:
        batch.add_column(sa.Column("submitter", sa.String(256), nullable=True))
    _rename_older_duplicates()
    op.create_index(
        "ux_pas_authorizations_claim_submitter",
        "pas_authorizations",
        ["claim_identifier", "submitter"],
        unique=True,
    )


def _rename_older_duplicates() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_AUTHS.c.pa_id, _AUTHS.c.claim_identifier, _AUTHS.c.submitter).order_by(
            _AUTHS.c.created_at.desc()
        )
    ).all()
    seen: set[tuple[str, str]] = set()
    for pa_id, identifier, submitter in rows:
        key = (identifier, submitter or "")
        if key in seen:
            conn.execute(
                sa.update(_AUTHS)
                .where(_AUTHS.c.pa_id == pa_id)
                .values(claim_identifier=f"{identifier}#{pa_id}"[:512])
            )
        seen.add(key)


def downgrade() -> None:
    """Drop the index and the column."""
    op.drop_index("ux_pas_authorizations_claim_submitter", "pas_authorizations")
    with op.batch_alter_table("pas_submissions") as batch:
        batch.drop_column("submitter")
