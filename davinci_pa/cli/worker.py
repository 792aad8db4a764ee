"""``davinci-pa worker``: run background jobs (delivery, deadline sweep, retention purge).

Needs PostgreSQL (``DAVINCI_PA_DATABASE_URL``): run as many as you like on as many
machines; they share the queue. Stop with SIGINT or SIGTERM (running jobs finish first).
Start the web servers with ``DAVINCI_PA_WORKER=external`` when these do all the work.
"""

from __future__ import annotations

import argparse
import os
import sys

from davinci_pa.errors import ConfigurationError


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``worker``."""
    worker = commands.add_parser("worker", help="run background jobs (PostgreSQL)")
    worker.add_argument("--database-url", help="SQLAlchemy URL (DAVINCI_PA_DATABASE_URL)")
    worker.add_argument("--name", help="worker name in logs and the job tables")
    worker.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Build the payer the settings describe and work until stopped."""
    from davinci_pa.jobs.engine import build_app, connector_for, run_worker
    from davinci_pa.server import build_payer
    from davinci_pa.server.background import delivery_seconds, work_for
    from davinci_pa.server.logs import configure_logging
    from davinci_pa.server.settings import ServerSettings

    settings = ServerSettings.from_environ(os.environ, database_url=args.database_url)
    if not settings.database_url.startswith("postgresql"):
        raise ConfigurationError(
            "davinci-pa worker needs PostgreSQL (DAVINCI_PA_DATABASE_URL); with SQLite "
            "`davinci-pa serve` runs the jobs in-process"
        )
    configure_logging(settings.log_level)
    payer = build_payer(settings)
    interval = delivery_seconds(settings) or 2
    app = build_app(
        connector_for(settings.database_url), work_for(payer), delivery_seconds=interval
    )
    print(f"worker {args.name or 'davinci-pa'} started", file=sys.stderr, flush=True)
    run_worker(app, name=args.name)
    return 0
