"""Insert-or-update of one row by its key, atomic under concurrency (``INSERT ... ON CONFLICT``).

An ``UPDATE`` followed by an ``INSERT`` when nothing was updated races: two transactions
that both find no row both insert, and the second fails on the key. PostgreSQL and SQLite
both resolve the conflict inside one statement instead.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def upsert(
    conn: sa.Connection,
    table: sa.Table,
    key: Mapping[str, Any],
    values: Mapping[str, Any],
    *,
    insert_only: Collection[str] = (),
) -> None:
    """Insert ``key`` + ``values`` into ``table``, or set ``values`` on the row with ``key``.

    Columns named in ``insert_only`` are written when the row is new and left as they are
    on an existing row (a creation time, say).
    """
    statement = _statement(
        conn.dialect.name, table, tuple(key), tuple(values), frozenset(insert_only)
    )
    conn.execute(statement, {**key, **values})


@functools.lru_cache(maxsize=256)
def _statement(
    dialect: str,
    table: sa.Table,
    key: tuple[str, ...],
    columns: tuple[str, ...],
    insert_only: frozenset[str],
) -> Any:
    """The upsert of one shape, built once and bound per call (SQLAlchemy caches it compiled)."""
    insert = dialect_insert(dialect)(table)
    changed = {name: insert.excluded[name] for name in columns if name not in insert_only}
    return insert.on_conflict_do_update(index_elements=list(key), set_=changed)


def dialect_insert(dialect: str) -> Callable[[sa.Table], Any]:
    """The ``insert`` with ``ON CONFLICT`` support of ``dialect`` (PostgreSQL or SQLite)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert
