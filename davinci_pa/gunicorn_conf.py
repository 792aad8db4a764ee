r"""gunicorn settings for davinci-pa: checks before forking, JSON logs, multiprocess metrics.

Use it with ``-c``::

    davinci-pa db upgrade
    gunicorn -c python:davinci_pa.gunicorn_conf --workers 4 \
        --bind 0.0.0.0:8080 'davinci_pa.server:create_app()'

Before any worker starts, the master reads every ``DAVINCI_PA_*`` setting, loads the rule
pack and checks the database schema is current; a problem is one line on stderr and exit
status 2, not four workers failing to boot. gunicorn's own logs are JSON lines like the
app's. Prometheus counters are shared through ``PROMETHEUS_MULTIPROC_DIR`` (a fresh
temporary folder unless set; a given folder is emptied at start).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Set before prometheus_client is imported anywhere (it picks its value class at import).
_created = None if os.environ.get(MULTIPROCESS_ENV) else tempfile.mkdtemp(prefix="davinci-pa-")
if _created:
    os.environ[MULTIPROCESS_ENV] = _created

accesslog = None  # the app logs one JSON line per request itself
control_socket_disable = True  # several services may share a host
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "davinci_pa.server.logs.JsonFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    "root": {"handlers": ["stderr"], "level": "INFO"},
    "loggers": {
        "gunicorn.error": {"handlers": [], "level": "INFO", "propagate": True},
        "gunicorn.access": {"handlers": [], "level": "WARNING", "propagate": True},
        "alembic": {"handlers": [], "level": "WARNING", "propagate": True},
    },
}


def on_starting(server: Any) -> None:
    """Check the whole configuration once, in the master; exit 2 with one line if it fails."""
    from davinci_pa.errors import DavinciError
    from davinci_pa.server import build_payer
    from davinci_pa.server.settings import ServerSettings

    _empty(Path(os.environ[MULTIPROCESS_ENV]))
    try:
        payer = build_payer(ServerSettings.from_environ(os.environ))
    except DavinciError as error:
        sys.stderr.write(f"davinci-pa: {error}\n")
        sys.exit(2)
    payer.database.dispose()


def worker_exit(server: Any, worker: Any) -> None:
    """Let the worker's embedded job worker finish its job before the process ends."""
    from davinci_pa.jobs.engine import stop_embedded_workers

    stop_embedded_workers()


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges from the shared metrics."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    """Remove the metrics folder this configuration created."""
    if _created:
        shutil.rmtree(_created, ignore_errors=True)


def _empty(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
