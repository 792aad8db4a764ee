"""``GET /reports/prior-authorization`` over HTTP: public, no PHI, HTML / JSON / CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.metrics.conftest import Site
from tests.metrics.seed import YEAR_2026

PAGE = "/reports/prior-authorization"


def test_json_by_accept_header_is_the_library_report(site: Site) -> None:
    answer = site.get(f"{PAGE}?year=2026", Accept="application/json")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    served = answer.json()
    direct = site.payer.metrics.report(2026)
    assert {k: v for k, v in served.items() if k != "generated"} == {
        k: v for k, v in direct.items() if k != "generated"
    }
    assert served["standard"]["approved_pct"] == 66.67


def test_csv_has_one_row_per_figure(site: Site) -> None:
    answer = site.get(f"{PAGE}?year=2026&format=csv")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/csv")
    assert "prior-authorization-2026.csv" in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    by_metric = {r["metric"]: r for r in rows}
    assert by_metric["approved_pct"]["standard"] == "66.67"
    assert by_metric["denied"]["expedited"] == "1"
    assert by_metric["approved_after_appeal"]["expedited"] == ""  # not asked for expedited
    assert {r["year"] for r in rows} == {"2026"}


def test_html_page_needs_no_login_and_has_the_charts(site: Site) -> None:
    answer = site.get(f"{PAGE}?year=2026&plan=acme-health-plan", Accept="text/html")
    assert answer.status_code == 200
    page = answer.text
    assert "<h1>Prior authorization metrics, 2026</h1>" in page
    assert page.count('role="img"') == 3
    assert "Approved and denied requests by urgency" in page
    assert 'option value="acme-health-plan" selected' in page


def test_no_phi_reaches_the_public_page(site: Site) -> None:
    """Aggregates only: no member, request, Claim or submitter identifiers."""
    for fmt in ("json", "csv", "html"):
        text = site.get(f"{PAGE}?year=2026&format={fmt}").text
        assert not re.search(r"\bM1\b|urn:test|PA-S\d|clinic", text), fmt
        assert not any(f"PA-{name}" in text for name in YEAR_2026)


def test_the_default_year_is_the_previous_one(site: Site) -> None:
    report = site.get(PAGE, Accept="application/json").json()
    assert report["year"] == datetime.now(UTC).year - 1


def test_bad_questions_are_4xx_with_an_operation_outcome(site: Site) -> None:
    for query, status, words in [
        ("year=20x6", 400, "calendar year"),
        ("year=²⁰²⁶", 400, "calendar year"),
        ("year=2026&format=xml", 400, "format"),
        ("year=2026&plan=nobody", 404, "no plan 'nobody'"),
    ]:
        answer = site.get(f"{PAGE}?{query}")
        assert answer.status_code == status, query
        outcome = answer.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert words in outcome["issue"][0]["diagnostics"]


def test_an_empty_year_is_a_page_that_says_so(site: Site) -> None:
    answer = site.get(f"{PAGE}?year=2019")
    assert answer.status_code == 200
    assert "no prior-authorization determinations on record for 2019" in answer.text


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    query=st.dictionaries(
        st.sampled_from(["year", "plan", "format", "x"]), st.text(max_size=12), max_size=4
    )
)
def test_report_query_fuzz(site: Site, query: dict[str, str]) -> None:
    """Whatever the query, a report or a 4xx OperationOutcome."""
    answer = requests.get(site.base + PAGE, params=query, timeout=30)
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert answer.json()["resourceType"] == "OperationOutcome"
