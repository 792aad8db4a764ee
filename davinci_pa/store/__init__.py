"""Persistence: SQLAlchemy Core tables, Alembic migrations, and repositories per concern.

SQLite file by default; PostgreSQL (``postgresql+psycopg://``) in production. Every write is
a short transaction; nothing is cached in process, so any number of workers share one
database.
"""

from __future__ import annotations

from davinci_pa.store.database import Database

__all__ = ["Database"]
