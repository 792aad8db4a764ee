"""``/healthz``, ``/readyz`` (503 naming the failing part), ``/metrics`` and request log lines."""

from __future__ import annotations

import json
import logging

import pytest
import sqlalchemy as sa

from davinci_pa.server.health import add_readiness_check
from davinci_pa.server.logs import JsonFormatter
from tests.ops.conftest import App


def test_healthz_answers_while_the_process_lives(ops_app: App) -> None:
    assert ops_app.client.get("/healthz").json == {"status": "ok"}


def test_readyz_names_each_check(ops_app: App) -> None:
    answer = ops_app.client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json["status"] == "ok"
    assert set(answer.json["checks"]) == {"database", "rule_pack"}
    assert answer.json["checks"]["database"] == {"status": "ok", "detail": "sqlite reachable"}
    assert "topics" in answer.json["checks"]["rule_pack"]["detail"]


def test_readyz_is_503_naming_an_unreachable_database(ops_app: App) -> None:
    payer = ops_app.app.extensions["davinci_pa.payer"]
    payer.database.engine = sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    answer = ops_app.client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json["failing"] == ["database"]
    assert answer.json["checks"]["database"]["status"] == "failing"
    assert answer.json["checks"]["rule_pack"]["status"] == "ok"


def test_a_plugged_in_check_takes_part(ops_app: App) -> None:
    def stale() -> str:
        raise RuntimeError("last heartbeat 300 s ago")

    add_readiness_check(ops_app.app, "job_worker", stale)
    answer = ops_app.client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json["failing"] == ["job_worker"]
    assert "300 s" in answer.json["checks"]["job_worker"]["error"]


def _sample(text: str, prefix: str) -> float:
    values = [
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix)
    ]
    assert values, f"no sample {prefix}"
    return sum(values)


def test_metrics_count_requests_latency_decisions_and_queue(ops_app: App) -> None:
    before = ops_app.client.get("/metrics").get_data(as_text=True)
    assert ops_app.hook().status_code == 200
    text = ops_app.client.get("/metrics").get_data(as_text=True)
    route = 'route="/cds-services/<service_id>"'
    requests = f'davinci_pa_http_requests_total{{method="POST",{route},status="200"}}'
    assert _sample(text, requests) == _sample(before + f"\n{requests} 0", requests) + 1
    assert _sample(text, f"davinci_pa_http_request_duration_seconds_count{{{route}}}") >= 1
    assert (
        _sample(text, 'davinci_pa_crd_decisions_total{covered="covered",pa_needed="auth-needed"}')
        >= 1
    )
    assert _sample(text, "davinci_pa_pas_queue_depth") == 0
    assert _sample(text, "davinci_pa_pas_overdue") == 0
    assert _sample(text, 'davinci_pa_notifications{status="pending"}') == 0
    assert _sample(text, "davinci_pa_notification_retries") == 0
    assert _sample(text, "davinci_pa_job_failures") == 0


def test_each_request_leaves_one_structured_line_without_phi(
    ops_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="davinci_pa.request"):
        answer = ops_app.hook()
    (record,) = [r for r in caplog.records if r.name == "davinci_pa.request"]
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == answer.headers["X-Request-ID"]
    assert line["route"] == "/cds-services/<service_id>"
    assert line["status"] == 200
    assert line["client"] == "https://ehr.example.org/demo"
    assert line["duration_ms"] > 0
    assert "Patient" not in json.dumps(line)
