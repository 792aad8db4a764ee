"""The job engine's tables on PostgreSQL (procrastinate's own schema; SQLite needs none).

procrastinate keeps its queue in the application's PostgreSQL database
(:mod:`davinci_pa.jobs`). Its schema belongs to the pinned procrastinate release; a later
release that changes it comes with a migration here applying its upgrade scripts.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op
from procrastinate.schema import SchemaManager

revision = "0006"
down_revision = "0005"

_TABLES = (
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_jobs",
    "procrastinate_workers",
)


def upgrade() -> None:
    """Create procrastinate's tables, types and functions (PostgreSQL only)."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # the DBAPI cursor directly: with no parameters psycopg leaves the '%' of the
        # schema's SQL alone, which SQLAlchemy's execution would not
        with bind.connection.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(SchemaManager.get_schema())


def downgrade() -> None:
    """Drop them."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in _TABLES:
            bind.exec_driver_sql(f"DROP TABLE IF EXISTS {table} CASCADE")
