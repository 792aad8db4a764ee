"""The reviewers' JSON API (the contract of docs/review.md §API) and the accounts rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from davinci_pa.cli import main
from davinci_pa.review.accounts import MAX_FAILURES, AccountError, LoginRefused
from davinci_pa.store.schema import pas_review_queue
from tests.review.conftest import PASSWORD, pended
from tests.security.conftest import Tenants

QUEUE_KEYS = {"pa_id", "claim_identifier", "urgent", "received", "due", "overdue", "items"}


def test_queue_api_lists_soonest_due_first_with_the_contract_keys(staff: Tenants) -> None:
    standard = pended(staff, "api-standard")
    expedited = pended(staff, "api-expedited", urgent=True)
    answer = staff.session.get(
        staff.base + "/review/api/queue?per_page=200",
        headers={"Authorization": f"Bearer {staff.token('reviewer')}"},
        timeout=10,
    )
    assert answer.status_code == 200
    rows = answer.json()
    assert all(row.keys() >= QUEUE_KEYS for row in rows)
    ids = [row["pa_id"] for row in rows]
    assert ids.index(expedited) < ids.index(standard)
    dues = [row["due"] for row in rows]
    assert dues == sorted(dues)
    mine = next(r for r in rows if r["pa_id"] == standard)
    assert mine["claim_identifier"].endswith("|api-standard")
    assert "|" in mine["claim_identifier"]
    assert int(answer.headers["X-Total-Count"]) >= 2


def test_queue_api_needs_a_reviewer(staff: Tenants) -> None:
    anonymous = staff.session.get(staff.base + "/review/api/queue", timeout=10)
    assert anonymous.status_code == 401
    clinic = staff.session.get(
        staff.base + "/review/api/queue",
        headers={"Authorization": f"Bearer {staff.token('clinic-a')}"},
        timeout=10,
    )
    assert clinic.status_code == 403


@pytest.mark.parametrize(
    "query", ["urgency=soon", "flag=late", "page=x", "per_page=-1", "topic=" + "t" * 200]
)
def test_queue_api_refuses_bad_filters(staff: Tenants, query: str) -> None:
    answer = staff.session.get(
        f"{staff.base}/review/api/queue?{query}",
        headers={"Authorization": f"Bearer {staff.token('reviewer')}"},
        timeout=10,
    )
    assert answer.status_code == 400
    assert answer.json()["resourceType"] == "OperationOutcome"


def test_extension_api_once_and_standard_only(staff: Tenants) -> None:
    standard = pended(staff, "api-extend")
    first = staff.post("reviewer", f"/admin/pas/{standard}/extension", {"reason": "Records due."})
    assert first.status_code == 200, first.text
    assert first.json()["reason"] == "Records due."
    again = staff.post("reviewer", f"/admin/pas/{standard}/extension", {"reason": "More."})
    assert again.status_code == 409
    expedited = pended(staff, "api-extend-expedited", urgent=True)
    refused = staff.post("reviewer", f"/admin/pas/{expedited}/extension", {"reason": "x"})
    assert refused.status_code == 409
    assert staff.post("reviewer", f"/admin/pas/{standard}/extension", {}).status_code == 400
    missing = staff.post("reviewer", "/admin/pas/nope/extension", {"reason": "x"})
    assert missing.status_code == 404


def test_appeal_api_and_its_outcome_in_the_store(staff: Tenants) -> None:
    pa_id = pended(staff, "api-appeal")
    deny = {"sequence": 1, "action": "A3", "reason": "Criteria unmet.", "reasonCodes": ["T1"]}
    approve_2 = {"sequence": 2, "action": "A1"}
    assert staff.post("reviewer", f"/admin/pas/{pa_id}/decision", {"items": [deny, approve_2]}).ok
    not_denied = staff.post(
        "reviewer",
        f"/admin/pas/{pa_id}/appeal",
        {"items": [2], "received": "2027-01-04T10:00:00Z"},
    )
    assert not_denied.status_code == 409
    bad_time = staff.post(
        "reviewer", f"/admin/pas/{pa_id}/appeal", {"items": [1], "received": "yesterday"}
    )
    assert bad_time.status_code == 400
    recorded = staff.post(
        "reviewer",
        f"/admin/pas/{pa_id}/appeal",
        {"items": [1], "received": "2027-01-04T10:00:00Z", "note": "New imaging attached."},
    )
    assert recorded.status_code == 201, recorded.text
    approve = {"items": [{"sequence": 1, "action": "A1"}]}
    by_denier = staff.post("reviewer", f"/admin/pas/{pa_id}/decision", approve)
    assert by_denier.status_code == 403  # the appeal goes to someone else
    assert staff.post("dual", f"/admin/pas/{pa_id}/decision", approve).ok
    (appeal,) = staff.payer.review.appeals.of(pa_id)
    assert appeal.outcome == {"1": "A1"}  # "approved after appeal" is countable
    assert appeal.approved is True
    first = staff.payer.pas.authorization(pa_id)
    assert first.determination == "partial"  # the metrics count the first determination
    assert first.determined_at is not None
    events = [e.event for e in staff.payer.review.history.of(pa_id)]
    assert events == ["submitted", "decided", "appealed", "decided"]


def test_a_decision_on_a_final_item_over_the_api_is_409(staff: Tenants) -> None:
    pa_id = pended(staff, "api-final")
    approve = {"items": [{"sequence": 1, "action": "A1"}]}
    assert staff.post("reviewer", f"/admin/pas/{pa_id}/decision", approve).ok
    again = staff.post("reviewer", f"/admin/pas/{pa_id}/decision", approve)
    assert again.status_code == 409
    assert "item 1 is already final" in again.text


def test_the_deadline_sweep_flags_due_soon_and_overdue(staff: Tenants) -> None:
    pa_id = pended(staff, "sweep", urgent=True)
    review = staff.payer.review
    queued = staff.payer.pas.records.review(pa_id)
    assert queued is not None
    hour = timedelta(hours=1)
    flagged = review._queue.flag_deadlines(queued.due_at - hour, queued.due_at + hour)
    assert pa_id in flagged["due-soon"]
    flagged = review._queue.flag_deadlines(queued.due_at + hour, queued.due_at + 2 * hour)
    assert pa_id in flagged["overdue"]
    events = [e.event for e in review.history.of(pa_id)]
    assert events[-2:] == ["due-soon", "overdue"]


def test_accounts_hash_lock_and_disable(staff: Tenants) -> None:
    accounts = staff.payer.review.accounts
    accounts.add("locky", "nurse", PASSWORD)
    stored = accounts._reviewers.get("locky")
    assert stored is not None
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash
    for _ in range(MAX_FAILURES):
        with pytest.raises(LoginRefused):
            accounts.authenticate("locky", "not the password")
    with pytest.raises(LoginRefused):  # locked now, even with the right password
        accounts.authenticate("locky", PASSWORD)
    locked = accounts._reviewers.get("locky")
    assert locked is not None
    assert locked.locked_until is not None
    assert locked.locked_until > datetime.now(UTC) + timedelta(minutes=14)
    accounts.add("leaver", "physician", PASSWORD)
    session = staff.payer.review.sessions.open(accounts.authenticate("leaver", PASSWORD))
    accounts.disable("leaver")
    assert staff.payer.review.sessions.resolve(session.token) is None
    with pytest.raises(LoginRefused):
        accounts.authenticate("leaver", PASSWORD)


@pytest.mark.parametrize(
    ("username", "role", "password"),
    [
        ("Bad Name", "nurse", PASSWORD),
        ("ok-name", "surgeon", PASSWORD),
        ("ok-name", "nurse", "short"),
        ("nina", "nurse", PASSWORD),  # taken
    ],
)
def test_account_creation_refuses_bad_input(
    staff: Tenants, username: str, role: str, password: str
) -> None:
    with pytest.raises(AccountError):
        staff.payer.review.accounts.add(username, role, password)


def test_review_overdue_lists_late_work(staff: Tenants, capsys: pytest.CaptureFixture[str]) -> None:
    pa_id = pended(staff, "cli-overdue", urgent=True)
    late = datetime.now(UTC) - timedelta(hours=1)
    with staff.payer.database.transaction() as conn:
        conn.execute(
            sa.update(pas_review_queue).where(pas_review_queue.c.pa_id == pa_id).values(due_at=late)
        )
    url = str(staff.payer.database.engine.url)
    assert main(["review", "overdue", "--json", "--database-url", url]) == 0
    rows = json.loads(capsys.readouterr().out)
    mine = next(r for r in rows if r["pa_id"] == pa_id)
    assert mine["claim_identifier"].endswith("|cli-overdue")
    assert mine["hours_overdue"] >= 1
    assert main(["review", "overdue", "--database-url", url]) == 0
    assert "cli-overdue" in capsys.readouterr().out
