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


_FUNCTIONS = """
SELECT p.oid::regprocedure::text FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = current_schema() AND starts_with(p.proname, 'procrastinate_')
"""
_TYPES = """
SELECT t.typname FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_class c ON c.oid = t.typrelid
WHERE n.nspname = current_schema() AND starts_with(t.typname, 'procrastinate_')
  AND (t.typtype = 'e' OR c.relkind = 'c')
"""


def downgrade() -> None:
    """Drop them: tables, then every procrastinate function and type (enum or composite)."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table in _TABLES:
        bind.exec_driver_sql(f"DROP TABLE IF EXISTS {table} CASCADE")
    for (function,) in bind.exec_driver_sql(_FUNCTIONS).all():
        bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {function} CASCADE")
    for (name,) in bind.exec_driver_sql(_TYPES).all():
        bind.exec_driver_sql(f'DROP TYPE IF EXISTS "{name}" CASCADE')
