"""Every migration can be undone: down to an empty schema on PostgreSQL, then up again."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

import davinci_pa.store
from davinci_pa.store import Database
from tests.store.conftest import postgres_schema_url

MIGRATIONS = Path(davinci_pa.store.__file__).parent / "migrations"
LEFT = """
SELECT 'table ' || tablename FROM pg_tables WHERE schemaname = current_schema()
UNION ALL SELECT 'function ' || p.proname FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = current_schema()
UNION ALL SELECT 'type ' || t.typname FROM pg_type t
  JOIN pg_namespace n ON n.oid = t.typnamespace LEFT JOIN pg_class c ON c.oid = t.typrelid
  WHERE n.nspname = current_schema() AND (t.typtype = 'e' OR c.relkind = 'c')
"""


def _down_to_base(database: Database) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with database.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")


def test_downgrade_to_base_leaves_nothing_and_upgrade_runs_again() -> None:
    for url in postgres_schema_url():
        database = Database(url)
        try:
            database.migrate()
            _down_to_base(database)
            with database.engine.connect() as conn:
                left = sorted(conn.execute(sa.text(LEFT)).scalars())
            assert left == ["table alembic_version"]
            database.migrate()
            database.require_current()
        finally:
            database.dispose()
