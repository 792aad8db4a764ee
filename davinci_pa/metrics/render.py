"""A metrics report as CSV (one row per figure) or as the public HTML page with its charts."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from davinci_pa.metrics.charts import Series, bar_chart
from davinci_pa.metrics.rules import REASONS
from davinci_pa.store.pa_metrics import HOUR_BUCKETS

URGENCIES = ("standard", "expedited")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

ROWS = (
    ("requests", "Requests decided"),
    ("approved", "Approved"),
    ("approved_pct", "Approved (%)"),
    ("denied", "Denied"),
    ("denied_pct", "Denied (%)"),
    ("approved_after_appeal", "Approved after appeal"),
    ("approved_after_appeal_pct", "Approved after appeal (%)"),
    ("extended_then_approved", "Review time extended, then approved"),
    ("extended_then_approved_pct", "Review time extended, then approved (%)"),
    ("decision_hours_mean", "Decision time, mean (hours)"),
    ("decision_hours_median", "Decision time, median (hours)"),
)
"""The figures of the table and the CSV, in the order of the rule's list."""

_TEMPLATES = Environment(
    loader=PackageLoader("davinci_pa.metrics", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def to_csv(report: dict[str, Any]) -> str:
    """``metric,standard,expedited`` rows; an empty cell where a figure is null or not asked."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["year", "plan", "metric", "standard", "expedited"])
    plan = report["plan"] or ""
    for key, _ in ROWS:
        cells = [_cell(report[u].get(key)) for u in URGENCIES]
        writer.writerow([report["year"], plan, key, *cells])
    return out.getvalue()


def to_html(report: dict[str, Any], *, plans: Sequence[str] = (), links: bool = False) -> str:
    """The public page: the figures table, three charts, the item list and counting rules.

    ``links``: add the year and plan form (choosing among ``plans``) and the CSV and JSON
    links, which only work where the page is served.
    """
    template = _TEMPLATES.get_template("prior_authorization.html")
    return template.render(
        report=report,
        rows=[(label, [_shown(report[u], key) for u in URGENCIES]) for key, label in ROWS],
        charts=charts(report),
        reasons=REASONS,
        plans=plans,
        links=links,
    )


def charts(report: dict[str, Any]) -> dict[str, str]:
    """The page's SVG charts by name."""
    standard, expedited = report["standard"], report["expedited"]
    buckets = [label for label, _ in HOUR_BUCKETS]
    return {
        "outcomes": bar_chart(
            "outcomes",
            "Approved and denied requests by urgency",
            ["Standard", "Expedited"],
            [
                Series("Approved", [standard["approved"], expedited["approved"]]),
                Series("Denied", [standard["denied"], expedited["denied"]]),
            ],
        ),
        "times": bar_chart(
            "times",
            "Time from request to decision",
            buckets,
            [
                Series("Standard", [standard["decision_hours_distribution"][b] for b in buckets]),
                Series("Expedited", [expedited["decision_hours_distribution"][b] for b in buckets]),
            ],
        ),
        "months": bar_chart(
            "months",
            "Requests decided per month",
            list(MONTHS),
            [
                Series("Standard", list(standard["per_month"].values())),
                Series("Expedited", list(expedited["per_month"].values())),
            ],
        ),
    }


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _shown(figures: dict[str, Any], key: str) -> str:
    if key not in figures:
        return "not reported"
    value = figures[key]
    if value is None:
        return "–"
    if key.endswith("_pct"):
        return f"{value:.2f}%"
    if key.startswith("decision_hours"):
        return f"{value:.2f}"
    return f"{value:,}"
