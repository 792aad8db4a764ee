"""The job worker of a server process (``DAVINCI_PA_WORKER``) and its readiness check.

``embedded`` (the default) runs a worker in a thread of each server process: with SQLite
that is the only way (``make serve``); with PostgreSQL the embedded workers share the queue
with any ``davinci-pa worker`` processes. ``external`` runs none: deploy ``davinci-pa
worker`` processes (docs/deploy.md §Background work). ``DAVINCI_PA_PAS_DELIVERY_SECONDS=0``
also runs none (tests that drive delivery themselves).
"""

from __future__ import annotations

import time

from flask import Flask

from davinci_pa.jobs.engine import EmbeddedWorker, Work, build_app, connector_for
from davinci_pa.pas.delivery import Notifier
from davinci_pa.payer import Payer
from davinci_pa.server.health import add_readiness_check
from davinci_pa.server.settings import ServerSettings
from davinci_pa.store.pas_outbox import Outbox

GRACE = 30.0
"""Seconds after start before a missing delivery run makes ``/readyz`` fail."""


def work_for(payer: Payer) -> Work:
    """The tasks' view of a payer."""
    notifier = Notifier(
        Outbox(payer.database),
        payer.pas.notifications.subscriptions,
        egress=payer.pas.notifications.egress,
    )
    return Work(notifier, payer.review, payer.pas.records, payer.provider_access)


def delivery_seconds(settings: ServerSettings) -> int:
    """The delivery job's period in whole seconds (the schedule's unit); 0: no worker."""
    wanted = float(settings.pas_delivery_seconds or 2)
    return max(1, round(wanted)) if wanted > 0 else 0


def install(app: Flask, settings: ServerSettings, payer: Payer) -> None:
    """Start the embedded worker unless configured off; add the ``jobs`` readiness check."""
    interval = delivery_seconds(settings)
    if settings.worker != "embedded" or interval == 0:
        return
    work = work_for(payer)
    EmbeddedWorker(build_app(connector_for(settings.database_url), work, delivery_seconds=interval))
    started = time.time()
    limit = max(GRACE, 10.0 * interval)

    def jobs() -> str:
        last = work.finished.get("deliver_notifications")
        if last is None and time.time() - started > limit:
            raise RuntimeError(f"no notification delivery run since start ({limit:.0f} s ago)")
        if last is not None and time.time() - last > limit:
            raise RuntimeError(f"the last notification delivery ran {time.time() - last:.0f} s ago")
        return "embedded worker running" if last else "embedded worker starting"

    add_readiness_check(app, "jobs", jobs)
