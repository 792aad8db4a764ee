"""``GET /healthz`` (the process answers) and ``GET /readyz`` (it can do its work).

``/readyz`` runs a small registry of named checks (``database``, ``rule_pack``; the job
engine adds its worker heartbeat with :func:`add_readiness_check`) and answers 200 when all
pass, else 503 naming each failing part::

    {"status": "unavailable", "failing": ["database"],
     "checks": {"database": {"status": "failing", "error": "..."},
                "rule_pack": {"status": "ok", "detail": "2 payers, 4 topics"}}}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, current_app, jsonify

from davinci_pa.payer import Payer

ReadinessCheck = Callable[[], str]
"""Returns a short detail when the part works; raises (any exception) when it does not."""

_CHECKS = "davinci_pa.readiness"


def install(app: Flask, payer: Payer) -> None:
    """Add both routes and the built-in checks."""
    app.extensions[_CHECKS] = {}
    add_readiness_check(app, "database", lambda: _database(payer))
    add_readiness_check(app, "rule_pack", lambda: _rule_pack(payer))
    app.add_url_rule("/healthz", "healthz", healthz)
    app.add_url_rule("/readyz", "readyz", readyz)


def add_readiness_check(app: Flask, name: str, check: ReadinessCheck) -> None:
    """Register (or replace) a named readiness check."""
    app.extensions[_CHECKS][name] = check


def healthz() -> Response:
    """The process is alive and answering."""
    return jsonify({"status": "ok"})


def readyz() -> Response:
    """Run every readiness check; 503 with the failing parts named."""
    checks: dict[str, ReadinessCheck] = current_app.extensions[_CHECKS]
    results = {name: _run(check) for name, check in checks.items()}
    failing = [name for name, result in results.items() if result["status"] != "ok"]
    body: dict[str, Any] = {"status": "unavailable" if failing else "ok"}
    if failing:
        body["failing"] = failing
    body["checks"] = results
    response = jsonify(body)
    response.status_code = 503 if failing else 200
    response.headers["Cache-Control"] = "no-store"
    return response


def _run(check: ReadinessCheck) -> dict[str, str]:
    try:
        return {"status": "ok", "detail": check()}
    except Exception as error:  # noqa: BLE001 - any failure means "not ready", named below
        return {"status": "failing", "error": f"{type(error).__name__}: {error}"[:300]}


def _database(payer: Payer) -> str:
    with payer.database.transaction() as conn:
        conn.execute(sa.text("SELECT 1"))
    return f"{payer.database.dialect} reachable"


def _rule_pack(payer: Payer) -> str:
    pack = payer.rules.pack
    if not pack.payers or not pack.topics:
        raise RuntimeError("the rule pack has no payers or no topics")
    return f"{len(pack.payers)} payers, {len(pack.topics)} topics"
