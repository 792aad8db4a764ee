"""The public metrics page in a real browser (Debian's chromium): a screenshot and axe-core.

axe-core checks the WCAG 2.x A and AA rules, headings, form labels, table headers and colour
contrast among them. Screenshots go to ``var/test-artifacts/metrics/`` (docs/metrics.md uses
one). Without chromium these tests skip, saying how to install it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests._shared import REPO
from tests.metrics.conftest import Site

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
axe = pytest.importorskip(
    "axe_playwright_python.sync_playwright", reason="pip install axe-playwright-python"
)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium: install Debian's package (apt-get install chromium) to run browser tests",
)
ARTEFACTS = REPO / "var" / "test-artifacts" / "metrics"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        yield context.new_page()
        browser.close()


def _violations(page: Any) -> list[str]:
    options = {"runOnly": {"type": "tag", "values": WCAG_AA}, "resultTypes": ["violations"]}
    results = axe.Axe().run(page, options=options)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes, e.g. {v['nodes'][0]['html'][:120]})"
        for v in results.response["violations"]
    ]


def test_the_page_renders_and_passes_axe(site: Site, page: Any) -> None:
    page.goto(f"{site.base}/reports/prior-authorization?year=2026")
    assert page.locator("h1").inner_text() == "Prior authorization metrics, 2026"
    assert page.locator("svg[role=img]").count() == 3
    first_row = page.locator("table").first.locator("tbody tr").first
    assert first_row.inner_text().split("\t") == ["Requests decided", "9", "3"]
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "prior-authorization-2026.png"), full_page=False)
    page.locator("#charts").scroll_into_view_if_needed()
    page.locator("section[aria-labelledby=charts]").screenshot(path=str(ARTEFACTS / "charts.png"))
    assert _violations(page) == []


def test_the_form_chooses_a_plan_and_an_empty_year_passes_axe(site: Site, page: Any) -> None:
    page.goto(f"{site.base}/reports/prior-authorization?year=2026")
    page.select_option("select#plan", "medicare-demo")
    page.click("button[type=submit]")
    page.wait_for_url("**plan=medicare-demo**")
    assert "Plan medicare-demo" in page.locator("header").inner_text()
    page.goto(f"{site.base}/reports/prior-authorization?year=2019")
    assert "no prior-authorization determinations" in page.locator("[role=status]").inner_text()
    assert _violations(page) == []
