"""Fresh migrated databases for the benchmarks, and a row generator in SQL for each dialect.

``fresh_database("postgresql")`` makes a new schema in ``DAVINCI_PA_BENCH_POSTGRES_URL``
(default the test database on 127.0.0.1), dropped afterwards; ``fresh_database("sqlite")``
a new file in a temporary folder. ``NUMBERS`` selects ``g`` = 1..``:n`` in either dialect.
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from davinci_pa.store import Database  # noqa: E402

POSTGRES = os.environ.get(
    "DAVINCI_PA_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
NUMBERS = {
    "postgresql": "SELECT g FROM generate_series(1, CAST(:n AS bigint)) AS g",
    "sqlite": "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < :n) "
    "SELECT g FROM s",
}


@contextmanager
def fresh_database(dialect: str) -> Iterator[Database]:
    """A migrated, empty database of ``dialect``, removed afterwards."""
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            database = Database(f"sqlite:///{folder}/bench.sqlite3")
            database.migrate()
            try:
                yield database
            finally:
                database.dispose()
        return
    admin = sa.create_engine(POSTGRES)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    database = Database(f"{POSTGRES}?options=-csearch_path%3D{schema}")
    try:
        database.migrate()
        yield database
    finally:
        database.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
