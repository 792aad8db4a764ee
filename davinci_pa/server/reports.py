"""``GET /reports/prior-authorization``: the public CMS-0057-F prior-authorization metrics.

No authentication and no PHI: aggregates only (docs/metrics.md). ``?year=`` (default: the
previous calendar year, the one a payer publishes by 31 March), ``?plan=``; the page is
HTML, the same figures are JSON with ``Accept: application/json`` or ``?format=json`` and
CSV with ``?format=csv``. Reports are kept for a few minutes per question, so the public
page cannot be used to load the database.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from davinci_pa.errors import RequestError
from davinci_pa.metrics.render import to_csv, to_html
from davinci_pa.metrics.rules import CountingRules
from davinci_pa.server.fhir_http import current_payer
from davinci_pa.server.settings import ServerSettings

blueprint = Blueprint("reports", __name__)
_RULES = "davinci_pa.metrics_rules"
_CACHE = "davinci_pa.metrics_cache"
CACHE_SECONDS = 300.0
FORMATS = ("html", "json", "csv")


def install(app: Flask, settings: ServerSettings) -> None:
    """Register the page with the counting rules of ``DAVINCI_PA_METRICS_RULES``.

    Raises:
        BadCountingRules: the rules file is unusable (the server does not start).
    """
    rules = CountingRules()
    if settings.metrics_rules:
        rules = CountingRules.from_file(Path(settings.metrics_rules))
    app.extensions[_RULES] = rules
    app.extensions[_CACHE] = _ReportCache()
    app.register_blueprint(blueprint)


@blueprint.get("/reports/prior-authorization")
def prior_authorization() -> Response:
    """The report of one year (and plan) as HTML, JSON or CSV."""
    year = _year(request.args.get("year"))
    plan = request.args.get("plan") or None
    wanted = _format()
    report = current_app.extensions[_CACHE].report(year, plan)
    if wanted == "json":
        return jsonify(report)
    if wanted == "csv":
        name = f"prior-authorization-{year}{'-' + plan if plan else ''}.csv"
        return Response(
            to_csv(report),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    plans = [p.id for p in current_payer().rules.pack.payers]
    return Response(to_html(report, plans=plans, links=True), mimetype="text/html")


class _ReportCache:
    """Reports by (year, plan), each kept :data:`CACHE_SECONDS`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[tuple[int, str | None], tuple[float, dict[str, Any]]] = {}

    def report(self, year: int, plan: str | None) -> dict[str, Any]:
        key, now = (year, plan), time.monotonic()
        with self._lock:
            kept = self._kept.get(key)
        if kept and now - kept[0] < CACHE_SECONDS:
            return kept[1]
        rules = current_app.extensions[_RULES]
        report = current_payer().metrics.report(year, plan=plan, rules=rules)
        with self._lock:
            self._kept = {k: v for k, v in self._kept.items() if now - v[0] < CACHE_SECONDS}
            self._kept[key] = (now, report)
        return report


def _year(raw: str | None) -> int:
    if raw is None or raw == "":
        return datetime.now(UTC).year - 1
    if not (raw.isdecimal() and len(raw) == 4):
        raise RequestError(f"'year' must be a calendar year such as 2026, not '{raw[:20]}'")
    return int(raw)


def _format() -> str:
    given = request.args.get("format")
    if given is not None:
        if given not in FORMATS:
            raise RequestError(f"'format' must be one of {list(FORMATS)}")
        return given
    best = request.accept_mimetypes.best_match(["text/html", "application/json", "text/csv"])
    return {"application/json": "json", "text/csv": "csv"}.get(best or "", "html")
