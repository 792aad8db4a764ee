"""The workbench over real HTTP: login, sessions, CSRF, decisions by role, appeals, escaping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from davinci_pa.pas.submission import identifier_key
from davinci_pa.review.sessions import _hash
from tests.pas.conftest import Receiver
from tests.review.conftest import Browser, pended, subscribe
from tests.security.conftest import Tenants, claim_bundle


def _item_action(tenants: Tenants, pa_id: str, sequence: int = 1) -> str:
    items = {i.sequence: i for i in tenants.payer.pas.records.items(pa_id)}
    return items[sequence].action


def _deny(reason: str = "Not medically necessary: criteria 3b unmet.") -> dict[str, Any]:
    return {"sequence": "1", "action": "A3", "reason_code": "T1", "reason": reason}


def test_login_form_carries_the_contract_fields(browser: Browser) -> None:
    page = browser.get("/review/login").text
    for field in ('name="username"', 'name="password"', 'type="hidden" name="csrf_token"'):
        assert field in page


def test_login_sets_a_protected_session_cookie(browser: Browser) -> None:
    answer = browser.http.post(
        browser.base + "/review/login",
        data={"username": "nina", "password": "x", "csrf_token": "forged"},
        timeout=10,
    )
    assert answer.status_code == 400  # no login cookie: the form's token is forged
    answer = browser.login("nina")
    assert answer.url.endswith("/review/queue")
    cookie = answer.history[0].headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/review" in cookie


def test_a_wrong_password_is_refused_without_saying_which_part(browser: Browser) -> None:
    answer = browser.login("nina", "wrong password, clearly")
    assert answer.status_code == 401
    assert "wrong username or password" in answer.text
    assert browser.login("nobody-at-all").status_code == 401
    assert "davinci_pa_review" not in browser.http.cookies


def test_after_logout_the_session_is_gone(browser: Browser) -> None:
    browser.login("nina")
    cookie = browser.http.cookies.get("davinci_pa_review", path="/review")
    assert browser.post("/review/logout", {}).url.endswith("/review/login")
    browser.http.cookies.set("davinci_pa_review", cookie, path="/review")  # replay it
    assert browser.get("/review/queue").url.endswith("/review/login")


def test_the_queue_lists_soonest_due_first(staff: Tenants, browser: Browser) -> None:
    standard = pended(staff, "queue-standard")
    expedited = pended(staff, "queue-expedited", urgent=True)
    browser.login("nina")
    page = browser.get("/review/queue").text
    assert page.index(f'data-pa-id="{expedited}"') < page.index(f'data-pa-id="{standard}"')
    assert "queue-expedited" in page
    assert "expedited" in page


def test_a_nurse_cannot_deny(staff: Tenants, browser: Browser) -> None:
    pa_id = pended(staff, "nurse-deny")
    browser.login("nina")
    answer = browser.post(f"/review/requests/{pa_id}/decision", _deny())
    assert answer.status_code == 403
    assert "a nurse may not record" in answer.text
    assert _item_action(staff, pa_id) == "A4"


def test_a_nurse_approves(staff: Tenants, browser: Browser) -> None:
    pa_id = pended(staff, "nurse-approve")
    browser.login("nina")
    answer = browser.post(
        f"/review/requests/{pa_id}/decision", {"sequence": "1", "action": "A1", "reason": ""}
    )
    assert answer.status_code == 200
    assert answer.url.endswith(f"/review/requests/{pa_id}")
    assert _item_action(staff, pa_id) == "A1"
    assert "nina (nurse)" in answer.text  # the history names who decided


def test_a_denial_without_reason_or_code_is_refused_naming_the_field(
    staff: Tenants, browser: Browser
) -> None:
    pa_id = pended(staff, "deny-no-reason")
    browser.login("phil")
    no_reason = browser.post(f"/review/requests/{pa_id}/decision", _deny(reason=""))
    assert no_reason.status_code == 422
    assert "&#39;reason&#39; is required" in no_reason.text
    no_code = browser.post(f"/review/requests/{pa_id}/decision", {**_deny(), "reason_code": ""})
    assert no_code.status_code == 400
    assert "reason_code" in no_code.text
    assert _item_action(staff, pa_id) == "A4"


def test_a_forged_or_missing_csrf_token_changes_nothing(staff: Tenants, browser: Browser) -> None:
    pa_id = pended(staff, "csrf")
    browser.login("phil")
    path = f"/review/requests/{pa_id}/decision"
    assert browser.post(path, _deny(), csrf=False).status_code == 400
    assert browser.post(path, {**_deny(), "csrf_token": "forged"}, csrf=False).status_code == 400
    assert _item_action(staff, pa_id) == "A4"


def test_the_request_page_shows_what_was_ordered(staff: Tenants, browser: Browser) -> None:
    """The kit's item says only '3' (X12 service type); the ServiceRequest it names, K0800."""
    pa_id = pended(staff, "ordered-code")
    browser.login("nina")
    page = browser.get(f"/review/requests/{pa_id}").text
    items = page[page.index("<tbody>") : page.index("</tbody>")]
    assert items.index('<span class="code">K0800</span>') < items.index(
        '<span class="code">3</span>'
    )


def test_free_text_is_shown_escaped(staff: Tenants, browser: Browser) -> None:
    pa_id = pended(staff, "escape")
    browser.login("phil")
    page = browser.post(
        f"/review/requests/{pa_id}/decision", _deny("<script>alert('x')</script>")
    ).text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page


def test_a_decision_on_a_final_item_is_409_naming_it(staff: Tenants, browser: Browser) -> None:
    pa_id = pended(staff, "final")
    browser.login("phil")
    browser.post(f"/review/requests/{pa_id}/decision", _deny())
    again = browser.post(f"/review/requests/{pa_id}/decision", {"sequence": "1", "action": "A1"})
    assert again.status_code == 409
    assert "item 1 is already final" in again.text


def test_an_unknown_request_is_404(browser: Browser) -> None:
    browser.login("nina")
    assert browser.get("/review/requests/no-such-request").status_code == 404
    assert browser.post("/review/requests/nope/decision", _deny()).status_code == 404


def test_an_admin_decides_nothing(staff: Tenants, browser: Browser) -> None:
    pa_id = pended(staff, "admin")
    browser.login("adam")
    page = browser.get(f"/review/requests/{pa_id}").text
    assert "Record decision" not in page
    approve = {"sequence": "1", "action": "A1"}
    assert browser.post(f"/review/requests/{pa_id}/decision", approve).status_code == 403


def test_extension_once_for_a_standard_request_and_the_provider_hears(
    staff: Tenants, browser: Browser, receiver: Receiver
) -> None:
    subscribe(staff, receiver)
    pa_id = pended(staff, "extend")
    browser.login("nina")
    path = f"/review/requests/{pa_id}/extension"
    answer = browser.post(path, {"reason": "Awaiting the sleep study report."})
    assert answer.status_code == 200, answer.text
    review = staff.payer.pas.records.review(pa_id)
    assert review is not None
    assert review.extended_due_at is not None
    assert (review.extended_due_at - review.queued_at).days == 14
    assert browser.post(path, {"reason": "more"}).status_code == 409
    notes = [
        n["text"]
        for _, bundle in receiver.wait_for(2)[1:]
        for e in bundle["entry"]
        if e["resource"].get("resourceType") == "Bundle"
        for n in e["resource"]["entry"][0]["resource"].get("processNote", [])
    ]
    assert any("Awaiting the sleep study report." in n for n in notes)


def test_an_appeal_goes_to_another_physician(staff: Tenants, browser: Browser) -> None:
    pa_id = pended(staff, "appeal")
    browser.login("phil")
    browser.post(f"/review/requests/{pa_id}/decision", _deny())
    appeal = {"items": "1", "received": "2027-01-05T09:30:00Z", "from": "Dr. Who", "note": ""}
    assert browser.post(f"/review/requests/{pa_id}/appeal", appeal).status_code == 200
    overturn = {"sequence": "1", "action": "A1"}
    refused = browser.post(f"/review/requests/{pa_id}/decision", overturn)
    assert refused.status_code == 403
    assert "other than its denier" in refused.text

    other = Browser(staff.base)
    other.login("petra")
    assert other.post(f"/review/requests/{pa_id}/decision", overturn).status_code == 200
    assert _item_action(staff, pa_id) == "A1"
    (decided,) = staff.payer.review.appeals.of(pa_id)
    assert (decided.decided_by, dict(decided.outcome or {})) == ("petra", {"1": "A1"})
    assert decided.deniers == {"1": "phil"}


def test_a_physicians_denial_reaches_the_provider_and_inquire(
    staff: Tenants, browser: Browser, receiver: Receiver
) -> None:
    subscribe(staff, receiver)
    pa_id = pended(staff, "deny-notify")
    browser.login("phil")
    reason = "Oxygen saturation above the coverage threshold."
    assert browser.post(f"/review/requests/{pa_id}/decision", _deny(reason)).status_code == 200
    assert len(receiver.wait_for(2)) == 2
    bundle = claim_bundle("deny-notify")
    answer = staff.post("clinic-a", "/fhir/Claim/$inquire", bundle).json()
    claim_response = answer["parameter"][0]["resource"]["entry"][0]["resource"]
    assert reason in " ".join(n["text"] for n in claim_response["processNote"])
    assert identifier_key(claim_response["identifier"][0]).endswith("|deny-notify")


def test_a_partial_approval_grants_the_quantity(staff: Tenants, browser: Browser) -> None:
    pa_id = pended(staff, "partial")
    browser.login("phil")
    form = {"sequence": "1", "action": "A6", "reason": "One unit, not two.", "quantity": "1"}
    answer = browser.post(f"/review/requests/{pa_id}/decision", form)
    assert answer.status_code == 200, answer.text
    assert _item_action(staff, pa_id) == "A6"
    bundle = staff.payer.pas.records.responses(pa_id)[-1]
    added = bundle["entry"][0]["resource"]["addItem"][0]
    assert added["quantity"] == {"value": 1, "unit": "unit"}  # PAS prof-2: value and unit
    bad = browser.post(
        f"/review/requests/{pa_id}/decision", {**form, "sequence": "2", "quantity": "lots"}
    )
    assert bad.status_code == 400
    assert "quantity" in bad.text


def test_an_idle_session_ends(staff: Tenants, browser: Browser) -> None:
    browser.login("nina")
    token = browser.http.cookies.get("davinci_pa_review", path="/review")
    sessions = staff.payer.review.sessions
    live = sessions.resolve(token)
    assert live is not None
    idle = sessions._idle
    sessions._store.touch(_hash(token), datetime.now(UTC) - idle - timedelta(seconds=1))
    assert browser.get("/review/queue").url.endswith("/review/login")
