"""Structured logs: one JSON object per line, the same under ``davinci-pa serve`` and gunicorn.

Each request leaves one ``davinci_pa.request`` line with ``request_id``, ``method``, the
route *template* (``/fhir/Subscription/<subscription_id>``, never the filled-in path),
``status``, ``duration_ms`` and the authenticated ``client``. Nothing from a body, query
string or header is logged: no PHI.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any

ROOT_LOGGER = "davinci_pa"
REQUEST_LOGGER = "davinci_pa.request"
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON line; ``extra={...}`` fields become top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON object on one line."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update((k, v) for k, v in record.__dict__.items() if k not in _STANDARD)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _JsonHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler this module installed, so it is installed once."""


def configure_logging(level: str = "INFO") -> None:
    """Send ``davinci_pa`` logs to stderr as JSON lines at ``level``.

    Nothing is installed when the host application already configured the root logger
    (an embedding app, the test runner); only the level is set then.
    """
    logger = logging.getLogger(ROOT_LOGGER)
    logger.setLevel(level)
    if logging.getLogger().handlers:
        return
    if not any(isinstance(h, _JsonHandler) for h in logger.handlers):
        handler = _JsonHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)


def log_request(
    *, request_id: str, method: str, route: str, status: int, started: float, client: str | None
) -> None:
    """The one line each request leaves."""
    duration_ms = round((time.perf_counter() - started) * 1000, 2)
    logging.getLogger(REQUEST_LOGGER).info(
        "%s %s %s",
        method,
        route,
        status,
        extra={
            "request_id": request_id,
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": duration_ms,
            "client": client,
        },
    )
