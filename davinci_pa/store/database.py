"""The database handle: engine creation, dialect tuning and Alembic migrations."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from davinci_pa.errors import ConfigurationError, SchemaNotCurrent, StoreError

DEFAULT_URL = "sqlite:///davinci-pa.sqlite3"
_MIGRATIONS = Path(__file__).parent / "migrations"
_VERSION_TABLE = "alembic_version"
_MIGRATION_LOCK = 0x6461766E  # pg_advisory_lock key shared by every worker


class Database:
    """A SQLAlchemy engine plus the operations every repository needs.

    Args:
        url: SQLAlchemy URL; ``sqlite:///file.sqlite3`` (default) or
            ``postgresql+psycopg://user@host/db``.
        echo: log SQL statements (never enable in production: statements carry PHI).
    """

    def __init__(self, url: str = DEFAULT_URL, *, echo: bool = False) -> None:
        try:
            self.engine: Engine = _create_engine(url, echo=echo)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise ConfigurationError(f"cannot use database URL: {exc}") from exc
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @property
    def dialect(self) -> str:
        """The SQL dialect name (``sqlite`` or ``postgresql``)."""
        return self.engine.dialect.name

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (``davinci-pa db upgrade``).

        Run it once per deployment, before the workers start; concurrent calls on
        PostgreSQL wait for each other under an advisory lock.
        """
        config = _alembic_config()
        with self.transaction() as conn:
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def revision(self) -> str | None:
        """The schema's current Alembic revision (``None`` for an empty database)."""
        with self.transaction() as conn:
            if not sa.inspect(conn).has_table(_VERSION_TABLE):
                return None
            return conn.execute(sa.text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalar()

    def require_current(self) -> None:
        """Check the schema is at the newest revision; the server refuses to start otherwise.

        Raises:
            SchemaNotCurrent: the database was never migrated, or is behind or ahead.
        """
        current, head = self.revision(), head_revision()
        if current != head:
            raise SchemaNotCurrent(
                f"database schema is at revision {current or 'none (empty database)'}, "
                f"this version needs {head}: run `davinci-pa db upgrade` first"
            )

    @contextmanager
    def transaction(self, *, conflicts: bool = False) -> Iterator[Connection]:
        """Run the block in one transaction; database failures become StoreError (503).

        With ``conflicts=True`` a unique-constraint violation is raised as SQLAlchemy's
        ``IntegrityError`` for the caller to handle (insert-once patterns).
        """
        try:
            with self.engine.begin() as conn:
                yield conn
        except IntegrityError:
            if conflicts:
                raise
            raise StoreError("database operation failed: IntegrityError") from None
        except SQLAlchemyError as exc:
            raise StoreError(f"database operation failed: {type(exc).__name__}") from exc

    @contextmanager
    def statements(self) -> Iterator[Connection]:
        """Run each statement of the block as its own transaction (autocommit).

        For single statements that are atomic by themselves: no BEGIN and COMMIT round
        trips. Database failures become StoreError (503).
        """
        try:
            with self._autocommit.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"database operation failed: {type(exc).__name__}") from exc

    def dispose(self) -> None:
        """Close every pooled connection (call after fork and at shutdown)."""
        self.engine.dispose()


def head_revision() -> str:
    """The newest revision the shipped migrations define."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None, "the shipped migrations define a head revision"
    return head


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def _json_loads(text: str | bytes) -> Any:
    """Read a JSON column with orjson, else the standard parser (escaped lone surrogates)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _json_dumps(value: Any) -> str:
    """Write a JSON column with orjson, else the standard encoder (what orjson refuses)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError: lone surrogates, non-string keys, big ints
        return json.dumps(value)


def _create_engine(url: str, *, echo: bool) -> Engine:
    options: dict[str, Any] = {
        "echo": echo,
        "future": True,
        "json_serializer": _json_dumps,
        "json_deserializer": _json_loads,
    }
    if url.startswith("sqlite"):
        options["connect_args"] = {"check_same_thread": False, "timeout": 30}
        engine = sa.create_engine(url, **options)
        sa.event.listen(engine, "connect", _tune_sqlite)
        return engine
    engine = sa.create_engine(url, pool_size=5, max_overflow=5, **options)
    sa.event.listen(engine, "checkin", _note_checkin)
    sa.event.listen(engine, "checkout", functools.partial(_ping_if_idle, engine.dialect))
    return engine


IDLE_PING_SECONDS = 1.0
"""A pooled connection idle longer than this is pinged before use."""


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in"] = time.monotonic()


def _ping_if_idle(dialect: Dialect, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Ping a connection that sat idle; a dead one is replaced (the pool retries).

    Pinging on every checkout (``pool_pre_ping``) costs a round trip per transaction, a
    tenth of a CRD call's time under load. A connection in steady use needs none: a
    failure on it invalidates the whole pool (SQLAlchemy's disconnect handling), so after an
    outage every connection is new.
    """
    idle = time.monotonic() - record.info.get("checked_in", time.monotonic())
    if idle <= IDLE_PING_SECONDS:
        return
    try:
        dialect.do_ping(dbapi_connection)
    except dialect.loaded_dbapi.Error as exc:
        raise sa.exc.DisconnectionError("the pooled connection is gone") from exc


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoints, no fsync per commit
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
