"""The tasks, the procrastinate app that runs them, and the worker entry points.

Every task is idempotent, so a job run twice (its worker died after the work but before
the job was marked done) changes nothing the second time: delivery leases each notification
from the outbox (stable ids, at-least-once, PAS spec-57), the sweep sets flags, the purge
deletes what is past retention. Periodic schedule:

* ``davinci_pa.deliver_notifications``: every ``delivery_seconds`` seconds;
* ``davinci_pa.sweep_deadlines``: every minute (docs/review.md §Deadlines);
* ``davinci_pa.purge_retention``: every hour, at minute 17 (with expired export files);
* ``davinci_pa.run_exports``: every ``delivery_seconds`` seconds, the waiting bulk exports;
* ``davinci_pa.retry_stalled_jobs``: every minute, jobs of workers silent for
  :data:`STALLED_AFTER` seconds go back to the queue.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import procrastinate
from procrastinate.testing import InMemoryConnector

from davinci_pa.access.provider import ProviderAccess
from davinci_pa.pas.delivery import Notifier
from davinci_pa.review.service import ReviewService
from davinci_pa.store.pas_records import PasRecords

log = logging.getLogger(__name__)

STALLED_AFTER = 15.0
"""Seconds without a worker heartbeat after which its running jobs are retried."""
HEARTBEAT = 2.0


@dataclass
class Work:
    """What the tasks act on, and when each last finished (for ``/readyz``)."""

    notifier: Notifier
    review: ReviewService
    records: PasRecords
    exports: ProviderAccess | None = None
    finished: dict[str, float] = field(default_factory=dict)

    def done(self, name: str) -> None:
        """Record that ``name`` just finished."""
        self.finished[name] = time.time()


def connector_for(database_url: str) -> Any:
    """Procrastinate's PostgreSQL connector for a PostgreSQL URL, else the in-memory one."""
    if database_url.startswith("postgresql"):
        conninfo = "postgresql://" + database_url.partition("://")[2]  # drop "+psycopg"
        return procrastinate.PsycopgConnector(conninfo=conninfo)
    return InMemoryConnector()


def build_app(connector: Any, work: Work, *, delivery_seconds: int = 2) -> procrastinate.App:
    """The procrastinate app with our tasks registered."""
    seconds = min(max(int(delivery_seconds), 1), 59)
    app = procrastinate.App(
        connector=connector,
        worker_defaults={
            "delete_jobs": "successful",
            "update_heartbeat_interval": HEARTBEAT,
            "stalled_worker_timeout": STALLED_AFTER,
        },
    )
    _periodic(app, "deliver_notifications", f"*/{seconds} * * * * *", work, _deliver)
    _periodic(app, "sweep_deadlines", "* * * * *", work, lambda w: w.review.sweep())
    _periodic(app, "purge_retention", "17 * * * *", work, _purge)
    _periodic(app, "run_exports", f"*/{seconds} * * * * *", work, _run_exports)

    add_stalled_job_recovery(app, on_done=lambda: work.done("retry_stalled_jobs"))
    return app


def add_stalled_job_recovery(
    app: procrastinate.App,
    *,
    cron: str = "* * * * *",
    stalled_after: float = STALLED_AFTER,
    on_done: Callable[[], None] = lambda: None,
) -> None:
    """Retry, on schedule, the running jobs of workers whose heartbeat stopped (killed)."""

    @app.periodic(cron=cron, periodic_id="retry_stalled_jobs")
    @app.task(name="davinci_pa.retry_stalled_jobs", queueing_lock="retry_stalled_jobs")
    async def retry_stalled_jobs(timestamp: int) -> None:
        stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after)
        for job in stalled:
            log.warning("retrying job %s of a stalled worker", job.id)
            await app.job_manager.retry_job(job)
        on_done()


def _periodic(
    app: procrastinate.App, name: str, cron: str, work: Work, run: Callable[[Work], Any]
) -> None:
    def task(timestamp: int) -> None:
        run(work)
        work.done(name)

    task.__name__ = name
    wrapped = app.task(name=f"davinci_pa.{name}", queueing_lock=name)(task)
    app.periodic(cron=cron, periodic_id=name)(wrapped)


def _purge(work: Work) -> None:
    work.records.purge_expired()
    if work.exports is not None:
        work.exports.purge()


def _run_exports(work: Work) -> None:
    """Run every waiting export (each is leased, so several workers share them)."""
    while work.exports is not None and work.exports.run_next() is not None:
        pass


def _deliver(work: Work) -> None:
    while work.notifier.run_once(limit=50) == 50:  # a backlog: keep going
        pass


def run_worker(app: procrastinate.App, *, name: str | None = None) -> None:
    """Run a worker in the foreground until SIGINT or SIGTERM (``davinci-pa worker``)."""
    app.run_worker(name=name or "davinci-pa", install_signal_handlers=True)


class EmbeddedWorker:
    """A worker in a daemon thread of this process (``make serve``, one-box setups).

    :meth:`stop` lets its running job finish; call it before the interpreter shuts down
    (``stop_embedded_workers`` from gunicorn's ``worker_exit``), since jobs run in threads
    that cannot start once shutdown begins.
    """

    def __init__(self, app: procrastinate.App) -> None:
        self._app = app
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="davinci-pa-jobs", daemon=True)
        _RUNNING.append(self)
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking jobs and wait for the running one."""
        self._stopping.set()
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self.thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                asyncio.run(self._serve())
            except asyncio.CancelledError:
                return
            except Exception:  # noqa: BLE001 - the embedded worker restarts after any failure
                log.exception("embedded job worker stopped; restarting in 5 s")
                self._stopping.wait(5)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        async with self._app.open_async():
            self._task = asyncio.current_task()
            await self._app.run_worker_async(name="embedded", install_signal_handlers=False)


_RUNNING: list[EmbeddedWorker] = []


def stop_embedded_workers() -> None:
    """Stop every embedded worker of this process."""
    while _RUNNING:
        _RUNNING.pop().stop()
