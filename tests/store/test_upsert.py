"""Two transactions recording the same new member at once (PAS submissions racing).

The member index was written with an UPDATE, then an INSERT when nothing was updated: on
PostgreSQL the second of two concurrent first submissions for one member failed on the
primary key, and its ``$submit`` was answered 409 "this submission was already recorded"
(found by tests/faults/test_database_cut.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from davinci_pa.store import Database
from davinci_pa.store.access_records import MemberRow, keep_member
from davinci_pa.store.schema import access_members
from davinci_pa.store.upsert import upsert
from tests.store.conftest import postgres_schema_url
from tests.support.gunicorn import wait_until

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def pg() -> Iterator[Database]:
    for url in postgres_schema_url():
        database = Database(url)
        database.migrate()
        yield database
        database.dispose()


def _member(given: str) -> MemberRow:
    return MemberRow("M-1", "http://payer/members", "Doe", given, "1970-01-01", "female", ("C1",))


def _waiting_on_a_lock(database: Database) -> bool:
    query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
    with database.engine.connect() as conn:
        return int(conn.execute(sa.text(query)).scalar_one()) > 0


def test_a_member_recorded_by_two_transactions_at_once(pg: Database) -> None:
    failures: list[BaseException] = []

    def second() -> None:
        try:
            with pg.engine.begin() as conn:
                keep_member(conn, _member("Jo"), T0)
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            failures.append(exc)

    with pg.engine.begin() as first:
        keep_member(first, _member("Jane"), T0)
        racing = threading.Thread(target=second)
        racing.start()
        assert wait_until(lambda: _waiting_on_a_lock(pg), 10), "the second did not wait"
    racing.join(10)
    assert failures == []
    with pg.engine.connect() as conn:
        rows = conn.execute(sa.select(access_members.c.member_id, access_members.c.given)).all()
    assert rows == [("M-1", "jo")]


def test_insert_only_columns_keep_their_first_value(database: Database) -> None:
    """What a PAS authorization saved again does with its ``created_at``."""
    for given, at in (("ann", T0), ("anne", datetime(2026, 4, 1, tzinfo=UTC))):
        values = {
            "family": f"doe-{given}",
            "given": given,
            "coverage_ids": ",C1,",
            "updated_at": at,
        }
        with database.transaction() as conn:
            upsert(conn, access_members, {"member_id": "M-2"}, values, insert_only={"family"})
    with database.engine.connect() as conn:
        row = conn.execute(sa.select(access_members.c.given, access_members.c.family)).one()
    assert tuple(row) == ("anne", "doe-ann")
