"""Store fixtures: every store test runs on SQLite and, when reachable, on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from davinci_pa.store import Database

POSTGRES_URL = os.environ.get(
    "DAVINCI_PA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def postgres_schema_url() -> Iterator[str]:
    """Yield a URL bound to a fresh PostgreSQL schema, dropped afterwards; skip if unreachable."""
    admin = sa.create_engine(POSTGRES_URL)
    try:
        with admin.connect():
            pass
    except Exception as exc:  # noqa: BLE001 - any connection failure means "skip"
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {type(exc).__name__}")
    schema = f"davinci_test_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database of each dialect."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'store.sqlite3'}")
        db.migrate()
        yield db
        db.dispose()
        return
    for url in postgres_schema_url():
        db = Database(url)
        db.migrate()
        yield db
        db.dispose()
