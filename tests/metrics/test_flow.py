"""Through the real exchanges: PAS submissions, review decisions, an extension and an appeal
over HTTP, then the public page counts them (the data model the metrics rest on)."""

from __future__ import annotations

from datetime import UTC, datetime

import requests

from tests.review.conftest import pended
from tests.review.conftest import staff as staff
from tests.security.conftest import Tenants
from tests.security.conftest import keys as keys
from tests.security.conftest import tenants as tenants


def test_decisions_extensions_and_appeals_are_counted(staff: Tenants) -> None:
    denied = pended(staff, "metrics-denied")
    deny = [
        {"sequence": s, "action": "A3", "reason": "Criteria unmet.", "reasonCodes": ["T1"]}
        for s in (1, 2)
    ]
    assert staff.post("reviewer", f"/admin/pas/{denied}/decision", {"items": deny}).ok
    appeal = {"items": [1], "received": "2026-12-01T10:00:00Z"}
    assert staff.post("reviewer", f"/admin/pas/{denied}/appeal", appeal).status_code == 201
    approve_1 = {"items": [{"sequence": 1, "action": "A1"}]}
    assert staff.post("dual", f"/admin/pas/{denied}/decision", approve_1).ok
    approve = {"items": [{"sequence": s, "action": "A1"} for s in (1, 2)]}
    extended = pended(staff, "metrics-extended")
    assert staff.post("reviewer", f"/admin/pas/{extended}/extension", {"reason": "Records due."}).ok
    assert staff.post("reviewer", f"/admin/pas/{extended}/decision", approve).ok
    still_open = pended(staff, "metrics-open", urgent=True)

    first = staff.payer.pas.authorization(denied)
    assert (first.determination, first.payer_id) == ("denied", "medicare-demo")
    assert staff.payer.pas.authorization(still_open).determined_at is None

    year = datetime.now(UTC).year
    report = requests.get(
        f"{staff.base}/reports/prior-authorization",
        params={"year": str(year), "plan": "medicare-demo", "format": "json"},
        timeout=30,
    ).json()
    standard = report["standard"]
    assert (standard["requests"], standard["approved"], standard["denied"]) == (2, 1, 1)
    assert (standard["approved_after_appeal"], standard["approved_after_appeal_pct"]) == (1, 100.0)
    assert (standard["extended_then_approved"], standard["extended_then_approved_pct"]) == (1, 50.0)
    assert report["expedited"]["requests"] == 0  # the expedited one is still pended
