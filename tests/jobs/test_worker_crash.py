"""Two ``davinci-pa`` job workers on PostgreSQL, 500 jobs, one worker SIGKILLed mid-run.

Every job must be done exactly once: the killed worker's running job goes back to the
queue once its heartbeat is missed (``retry_stalled_jobs``), and a job that had already done
its work before the kill finds it done (our tasks are idempotent, docs/deploy.md
§Background work). The test task records its key in a table with a unique key, and every
attempt in another, so re-runs are visible.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Iterator

import procrastinate
import pytest
import sqlalchemy as sa

from davinci_pa.jobs.engine import add_stalled_job_recovery, connector_for
from davinci_pa.store import Database
from tests.store.conftest import postgres_schema_url

JOBS = 500
STALLED_AFTER = 3.0


def _app(url: str) -> procrastinate.App:
    app = procrastinate.App(
        connector=connector_for(url),
        worker_defaults={"update_heartbeat_interval": 0.5, "stalled_worker_timeout": 2},
    )
    engine = sa.create_engine(url)
    add_stalled_job_recovery(app, cron="* * * * * *", stalled_after=STALLED_AFTER)

    @app.task(name="tests.record")
    def record(key: str) -> None:
        with engine.begin() as conn:
            conn.execute(
                sa.text("INSERT INTO job_runs (key, pid) VALUES (:k, :p)"),
                {"k": key, "p": os.getpid()},
            )
            time.sleep(0.02)
            conn.execute(
                sa.text("INSERT INTO job_effects (key) VALUES (:k) ON CONFLICT DO NOTHING"),
                {"k": key},
            )

    return app


def _work(url: str, name: str) -> None:
    _app(url).run_worker(name=name, install_signal_handlers=True)


@pytest.fixture
def pg_url() -> Iterator[str]:
    for url in postgres_schema_url():
        database = Database(url)
        database.migrate()
        with database.engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE job_effects (key text PRIMARY KEY)"))
            conn.execute(sa.text("CREATE TABLE job_runs (key text, pid int)"))
        database.dispose()
        yield url


def _count(engine: sa.Engine, query: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(query)).scalar_one())


def test_every_job_done_exactly_once_when_a_worker_is_killed(pg_url: str) -> None:
    app = _app(pg_url)
    with app.open():
        for n in range(JOBS):
            app.tasks["tests.record"].defer(key=f"job-{n}")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_work, args=(pg_url, f"w{i}")) for i in (1, 2)]
    for worker in workers:
        worker.start()
    engine = sa.create_engine(pg_url)
    try:
        deadline = time.monotonic() + 60
        while _count(engine, "SELECT count(*) FROM job_effects") < JOBS // 5:
            assert time.monotonic() < deadline, "the workers made no progress"
            time.sleep(0.05)
        victim = workers[0]
        assert victim.pid is not None
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(10)
        deadline = time.monotonic() + 120
        while _count(engine, "SELECT count(*) FROM job_effects") < JOBS:
            assert time.monotonic() < deadline, "jobs were lost"
            time.sleep(0.1)
        time.sleep(STALLED_AFTER + 2)  # let any retried job of the dead worker run too
        assert _count(engine, "SELECT count(*) FROM job_effects") == JOBS
        left = _count(
            engine,
            "SELECT count(*) FROM procrastinate_jobs "
            "WHERE task_name = 'tests.record' AND status <> 'succeeded'",
        )
        assert left == 0
        reruns = _count(engine, "SELECT count(*) - count(DISTINCT key) FROM job_runs")
        assert reruns <= 1  # at most the job the killed worker was running
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join(15)
        engine.dispose()
