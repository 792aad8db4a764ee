"""A migrated SQLite file for tests that build the app (which refuses an unmigrated schema)."""

from __future__ import annotations

from pathlib import Path

from davinci_pa.store import Database


def migrated_sqlite(path: Path) -> str:
    """Migrate a SQLite database at ``path`` (as ``davinci-pa db upgrade`` does); its URL."""
    url = f"sqlite:///{path}"
    database = Database(url)
    database.migrate()
    database.dispose()
    return url
