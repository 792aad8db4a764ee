"""Prometheus metrics at ``GET /metrics`` (prometheus-client; multiprocess under gunicorn).

Counters and histograms live in this process, or, when ``PROMETHEUS_MULTIPROC_DIR`` is set
(the gunicorn configuration in :mod:`davinci_pa.gunicorn_conf` sets it), in files every
worker writes and any worker aggregates. Pended-work and notification figures are read
from the shared database at scrape time, so every worker reports the same values.

| metric | type | labels |
| --- | --- | --- |
| ``davinci_pa_http_requests_total`` | counter | ``route``, ``method``, ``status`` |
| ``davinci_pa_http_request_duration_seconds`` | histogram | ``route`` |
| ``davinci_pa_crd_decisions_total`` | counter | ``covered``, ``pa_needed`` |
| ``davinci_pa_pas_queue_depth`` | gauge | pended authorizations awaiting a decision |
| ``davinci_pa_pas_overdue`` | gauge | of those, past their due time |
| ``davinci_pa_notifications`` | gauge | ``status`` (outbox ``pending``/``delivered``/``failed``) |
| ``davinci_pa_notification_retries`` | gauge | pending notifications that failed at least once |
| ``davinci_pa_job_failures`` | gauge | background deliveries given up after every retry |
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

from davinci_pa.crd.coverage_info import COVERAGE_INFO_URL
from davinci_pa.fhir.json import obj, objects
from davinci_pa.store import Database
from davinci_pa.store.clock import utc_now
from davinci_pa.store.ops_stats import queue_stats

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "davinci_pa_http_requests", "HTTP requests answered", ["route", "method", "status"]
)
LATENCY = Histogram(
    "davinci_pa_http_request_duration_seconds",
    "Time from request to response, by route",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
CRD_DECISIONS = Counter(
    "davinci_pa_crd_decisions",
    "CRD coverage-information decisions sent, by covered and pa-needed code",
    ["covered", "pa_needed"],
)


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request and its latency."""
    REQUESTS.labels(route, method, str(status)).inc()
    LATENCY.labels(route).observe(seconds)


def count_crd_decisions(answer: dict[str, Any]) -> None:
    """Count each coverage-information extension of a CRD answer (CRD §coverage-information)."""
    for action in objects(answer.get("systemActions")):
        for ext in objects(obj(action.get("resource")).get("extension")):
            if ext.get("url") == COVERAGE_INFO_URL:
                parts = {e.get("url"): e.get("valueCode") for e in objects(ext.get("extension"))}
                CRD_DECISIONS.labels(
                    str(parts.get("covered") or "none"), str(parts.get("pa-needed") or "none")
                ).inc()


def exposition(database: Database) -> bytes:
    """Every metric in the Prometheus text format."""
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        process_metrics = generate_latest(registry)
    else:
        process_metrics = generate_latest(REGISTRY)
    stats = CollectorRegistry()
    stats.register(_QueueCollector(database))
    return process_metrics + generate_latest(stats)


class _QueueCollector(Collector):
    """Gauges read from the database when scraped."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def collect(self) -> Iterator[Metric]:
        """Yield the pended-work and notification gauges."""
        stats = queue_stats(self._database, utc_now())
        yield GaugeMetricFamily(
            "davinci_pa_pas_queue_depth",
            "Pended PAS authorizations awaiting a decision",
            value=stats.queue_depth,
        )
        yield GaugeMetricFamily(
            "davinci_pa_pas_overdue", "Pended authorizations past due", value=stats.overdue
        )
        by_status = GaugeMetricFamily(
            "davinci_pa_notifications", "Subscription notifications by status", labels=["status"]
        )
        for status in ("pending", "delivered", "failed"):
            by_status.add_metric([status], stats.notifications.get(status, 0))
        yield by_status
        yield GaugeMetricFamily(
            "davinci_pa_notification_retries",
            "Pending notifications that failed at least once",
            value=stats.retrying,
        )
        yield GaugeMetricFamily(
            "davinci_pa_job_failures",
            "Background deliveries given up after every retry",
            value=stats.notifications.get("failed", 0),
        )
