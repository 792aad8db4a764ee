"""The workbench in a real browser: Playwright driving Debian's ``chromium``.

Playwright's own browser download cannot work here, so the system browser is launched by
path. Screenshots are kept in ``var/test-artifacts/review/`` (docs/review.md uses them).
Without chromium these tests skip, saying how to install it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._shared import REPO
from tests.pas.conftest import Receiver
from tests.review.conftest import PASSWORD, pended, subscribe
from tests.security.conftest import Tenants, claim_bundle

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium: install Debian's package (apt-get install chromium) to run browser tests",
)
ARTEFACTS = REPO / "var" / "test-artifacts" / "review"


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: object) -> Iterator[object]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    yield context.new_page()
    context.close()


def _shot(page: object, name: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def _login(page: object, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/review/login")  # type: ignore[attr-defined]
    page.fill("input[name=username]", username)  # type: ignore[attr-defined]
    page.fill("input[name=password]", password)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]


def test_login_and_a_wrong_password(staff: Tenants, page: object) -> None:
    _login(page, staff.base, "nina", "not her password at all")
    assert "wrong username or password" in page.content()  # type: ignore[attr-defined]
    _shot(page, "login-refused")
    _login(page, staff.base, "nina")
    assert page.url.endswith("/review/queue")  # type: ignore[attr-defined]
    _shot(page, "queue")


def test_the_queue_is_ordered_by_due_time(staff: Tenants, page: object) -> None:
    standard = pended(staff, "browser-standard")
    expedited = pended(staff, "browser-expedited", urgent=True)
    _login(page, staff.base, "nina")
    rows = page.locator("tr[data-pa-id]").evaluate_all(  # type: ignore[attr-defined]
        "rows => rows.map(r => r.dataset.paId)"
    )
    assert rows.index(expedited) < rows.index(standard)


def test_a_nurse_cannot_deny(staff: Tenants, page: object) -> None:
    pa_id = pended(staff, "browser-nurse")
    _login(page, staff.base, "nina")
    page.goto(f"{staff.base}/review/requests/{pa_id}")  # type: ignore[attr-defined]
    options = page.locator("select[name=action] option").all_inner_texts()  # type: ignore[attr-defined]
    assert not any(o.startswith("A3") for o in options)  # the form does not offer it
    _shot(page, "request-nurse")


def test_a_physician_denies_with_a_reason_and_the_provider_hears(
    staff: Tenants, page: object, receiver: Receiver
) -> None:
    subscribe(staff, receiver)
    pa_id = pended(staff, "browser-deny")
    _login(page, staff.base, "phil")
    page.goto(f"{staff.base}/review/requests/{pa_id}")  # type: ignore[attr-defined]
    page.select_option("select[name=action]", "A3")  # type: ignore[attr-defined]
    page.fill("input[name=reason_code]", "T1")  # type: ignore[attr-defined]
    page.click("form.decision button[type=submit]")  # type: ignore[attr-defined]
    assert "'reason' is required" in page.inner_text("p.error")  # type: ignore[attr-defined]
    _shot(page, "deny-without-reason")

    reason = "Walking distance above 50 m: a power wheelchair is not indicated."
    page.select_option("select[name=action]", "A3")  # type: ignore[attr-defined]
    page.fill("input[name=reason_code]", "T1")  # type: ignore[attr-defined]
    page.fill("textarea[name=reason]", reason)  # type: ignore[attr-defined]
    page.click("form.decision button[type=submit]")  # type: ignore[attr-defined]
    assert "A3 · Not Certified" in page.inner_text("tr[data-sequence='1']")  # type: ignore[attr-defined]
    _shot(page, "request-denied")

    assert len(receiver.wait_for(2)) == 2
    answer = staff.post("clinic-a", "/fhir/Claim/$inquire", claim_bundle("browser-deny")).json()
    claim_response = answer["parameter"][0]["resource"]["entry"][0]["resource"]
    assert reason in " ".join(n["text"] for n in claim_response["processNote"])
