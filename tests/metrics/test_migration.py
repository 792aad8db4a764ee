"""Migration 0007 fills the determination of requests decided before it, and appeal outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

import davinci_pa.store
from davinci_pa.store import Database
from davinci_pa.store.schema import pas_appeals, pas_authorizations, pas_items

MIGRATIONS = Path(davinci_pa.store.__file__).parent / "migrations"
T0 = datetime(2026, 5, 1, tzinfo=UTC)


def _upgrade(database: Database, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with database.transaction() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def _authorization(pa_id: str, status: str) -> dict[str, object]:
    return {
        "pa_id": pa_id, "pre_auth_ref": f"PA-{pa_id}", "claim_identifier": f"x|{pa_id}",
        "member_id": None, "provider_ids": "", "sender_org": None, "submitter": "c",
        "status": status, "urgent": False, "version": 1, "created_at": T0,
        "status_changed_at": T0 + timedelta(hours=5), "retain_until": T0 + timedelta(days=99),
    }  # fmt: skip


def test_backfill_from_current_items(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    _upgrade(database, "0006")
    items = {"ok": ["A1", "A1"], "no": ["A3"], "mixed": ["A1", "A3"], "mod": ["A6"], "open": ["A4"]}
    new_columns = {"payer_id", "determined_at", "determination"}
    old_auths = sa.table("pas_authorizations", *_columns(pas_authorizations, new_columns))
    old_appeals = sa.table("pas_appeals", *_columns(pas_appeals, {"approved"}))
    with database.transaction() as conn:
        for pa_id, actions in items.items():
            status = "pended" if "A4" in actions else "decided"
            conn.execute(sa.insert(old_auths).values(**_authorization(pa_id, status)))
            for sequence, action in enumerate(actions, 1):
                conn.execute(
                    sa.insert(pas_items).values(
                        pa_id=pa_id, sequence=sequence, item={}, action=action, decision={},
                        decided_at=T0,
                    )
                )  # fmt: skip
        for appeal_id, outcome in (("won", {"1": "A1"}), ("lost", {"1": "A3"})):
            conn.execute(
                sa.insert(old_appeals).values(
                    id=appeal_id, pa_id="no", items=[1], received_at=T0, deniers={},
                    recorded_by="n", recorded_at=T0, outcome=outcome,
                )
            )  # fmt: skip
    _upgrade(database, "head")
    with database.transaction() as conn:
        query = sa.select(pas_authorizations.c.pa_id, pas_authorizations.c.determination)
        found = {r[0]: r[1] for r in conn.execute(query)}
        times = {r[0] for r in conn.execute(sa.select(pas_authorizations.c.determined_at))}
        appeals = {
            r[0]: r[1] for r in conn.execute(sa.select(pas_appeals.c.id, pas_appeals.c.approved))
        }
    assert found == {"ok": "approved", "no": "denied", "mixed": "partial", "mod": "partial",
                     "open": None}  # fmt: skip
    assert len(times - {None}) == 1  # the time the status last changed
    assert appeals == {"won": True, "lost": False}
    database.dispose()


def _columns(table: sa.Table, added: set[str]) -> list[sa.ColumnClause[object]]:
    """The table's columns before the revision added ``added``."""
    return [sa.column(c.name, c.type) for c in table.columns if c.name not in added]
