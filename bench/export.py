"""Provider Access bulk export: 100,000 authorizations for a Group of 20,000 members.

    .venv/bin/python bench/export.py [--authorizations 100000] [--members 20000] [--sqlite]

Submits one real PAS request (the PAS kit's pended referral) through the library, then has
the database copy its rows (authorization, request, response, items and the stored PDex
resource, given the copy's id) ``--authorizations`` times over ``--members`` members,
writes one attribution Group of all members and runs the export job as the worker does
(``ProviderAccess.run_next``: member batches, the stored resources copied to NDJSON). Prints the
resources per second and the peak RSS before and after, at two sizes, so memory can be seen
to stay flat. PostgreSQL (``DAVINCI_PA_BENCH_POSTGRES_URL``, default the test database on
127.0.0.1) unless ``--sqlite``. Goal: >= 5,000 resources/s on PostgreSQL, memory flat.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.fresh_databases import NUMBERS, fresh_database  # noqa: E402
from davinci_pa import shipped  # noqa: E402
from davinci_pa.pas.options import PasOptions  # noqa: E402
from davinci_pa.payer import Payer  # noqa: E402
from davinci_pa.store import Database  # noqa: E402
from davinci_pa.store.schema import pa_resources, pas_authorizations  # noqa: E402
from tests.security.conftest import claim_bundle  # noqa: E402

COPIES = (
    """INSERT INTO pas_authorizations (pa_id, pre_auth_ref, claim_identifier, member_id,
        provider_ids, sender_org, submitter, status, urgent, version, created_at,
        status_changed_at, retain_until, payer_id, determined_at, determination, updated_at)
    SELECT 'x' || g, 'PA-X' || g, 'bench|' || g, 'M' || (g % :members), provider_ids, sender_org,
        submitter, status, urgent, version, created_at, status_changed_at, retain_until,
        payer_id, determined_at, determination, updated_at
    FROM pas_authorizations, ({rows}) AS numbers WHERE pa_id = :seed""",
    """INSERT INTO pas_submissions (id, pa_id, version, dedupe_key, received_at, request,
        submitter)
    SELECT 'xs' || g, 'x' || g, version, 'xk' || g, received_at, request, submitter
    FROM pas_submissions, ({rows}) AS numbers WHERE pa_id = :seed""",
    """INSERT INTO pas_responses (pa_id, version, submission_id, created_at, bundle)
    SELECT 'x' || g, version, NULL, created_at, bundle
    FROM pas_responses, ({rows}) AS numbers WHERE pa_id = :seed""",
    """INSERT INTO pas_items (pa_id, sequence, item, action, decision, decided_at)
    SELECT 'x' || g, sequence, item, action, decision, decided_at
    FROM pas_items, ({rows}) AS numbers WHERE pa_id = :seed""",
    """INSERT INTO pa_resources (pa_id, resource, updated_at)
    SELECT 'x' || g, {with_id}, updated_at
    FROM pa_resources, ({rows}) AS numbers WHERE pa_id = :seed""",
)
_WITH_ID = {
    "postgresql": "CAST(jsonb_set(CAST(resource AS jsonb), '{id}', to_jsonb('x' || g)) AS json)",
    "sqlite": "json_set(resource, '$.id', 'x' || g)",
}
"""The stored PDex resource of each copy, under the copy's id (as every PAS change writes it)."""


def fill(payer: Payer, authorizations: int, members: int) -> None:
    """One real submission, copied by the database; one Group of every member."""
    payer.pas.submit(claim_bundle("bench-seed", urgent=False), submitter="bench")
    with payer.database.transaction() as conn:
        seed = conn.execute(sa.select(pas_authorizations.c.pa_id)).scalar_one()
        rows = NUMBERS[payer.database.dialect]
        for statement in COPIES:
            params = {"n": authorizations, "members": members, "seed": seed}
            sql = statement.format(rows=rows, with_id=_WITH_ID[payer.database.dialect])
            conn.execute(sa.text(sql), params)
        for table in (pas_authorizations, pa_resources):
            conn.execute(sa.delete(table).where(table.c.pa_id == seed))
        if payer.database.dialect == "postgresql":
            conn.execute(sa.text("ANALYZE"))
    group = {
        "resourceType": "Group", "type": "person", "actual": True,
        "member": [{"entity": {"reference": f"Patient/M{m}"}} for m in range(members)],
    }  # fmt: skip
    payer.provider_access.put_group(group, group_id="bench", owner="bench")


def measure(
    database: Database, authorizations: int, members: int, folder: Path
) -> dict[str, float]:
    """Fill, export once, return the figures."""
    payer = Payer.from_rule_pack(
        shipped.rule_pack(),
        database=database,
        pas_options=PasOptions(default_payer="medicare-demo"),
        export_folder=folder,
    )
    print(f"filling {authorizations:,} authorizations ...", file=sys.stderr, flush=True)
    fill(payer, authorizations, members)
    rss_before = _peak_rss_mib()
    export = payer.provider_access.kick_off("bench", "bench", {}, "bench")
    print("exporting ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    payer.provider_access.run_next()
    seconds = time.perf_counter() - started
    row = payer.provider_access.status(export.id, "bench")
    count = int((row.output or [{}])[0].get("count", 0))
    return {"count": count, "seconds": seconds, "rate": count / seconds,
            "rss_before": rss_before, "rss_after": _peak_rss_mib()}  # fmt: skip


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--authorizations", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    args = parser.parse_args()
    name = "sqlite" if args.sqlite else "postgresql"
    print(f"started {datetime.now(UTC):%H:%M:%S} UTC", file=sys.stderr)
    print(f"{'database':<11} {'exported':>9} {'seconds':>8} {'resources/s':>12} "
          f"{'RSS before':>11} {'RSS after':>10}")  # fmt: skip
    for size in (args.authorizations // 10, args.authorizations):
        with tempfile.TemporaryDirectory() as folder, fresh_database(name) as database:
            m = measure(database, size, args.members, Path(folder))
        print(f"{name:<11} {int(m['count']):>9,} {m['seconds']:>8.1f} {m['rate']:>12,.0f} "
              f"{m['rss_before']:>10.0f}M {m['rss_after']:>9.0f}M")  # fmt: skip


if __name__ == "__main__":
    main()
