"""Subscription → handshake → pended submit → reviewer decision → notification (rest-hook)."""

from __future__ import annotations

from typing import Any

from tests._shared import load_shared_json
from tests.pas.conftest import Receiver, Server, kit, with_code


def _subscription(receiver: Receiver) -> dict[str, Any]:
    sub: dict[str, Any] = load_shared_json(
        "fixtures", "pas", "v2.2.1", "subscription_resource.json"
    )
    sub["end"] = "2099-01-01T00:00:00Z"  # the kit's end lies in 2020
    sub["channel"]["endpoint"] = receiver.url
    sub["channel"]["header"] = ["Authorization: Bearer receiver-token", "X-Trace: pas-test"]
    return sub


def test_pended_decision_is_notified(server: Server, receiver: Receiver) -> None:
    """PAS spec-51 (the final answer of a pended request comes by Subscription), spec-54
    (R4 Backport shape: history Bundle, SubscriptionStatus first, handshake then
    event-notification), spec-60 (a notification when the response changes), spec-61 (it
    carries the full PAS Response Bundle as its focus), spec-56 (rest-hook POST)."""
    created = server.post("/fhir/Subscription", _subscription(receiver))
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "requested"
    headers, handshake = receiver.wait_for(1)[0]
    status = handshake["entry"][0]["resource"]
    assert handshake["type"] == "history"
    assert handshake["entry"][0]["request"]["url"].endswith(
        f"Subscription/{created.json()['id']}/$status"
    )
    assert {"name": "type", "valueCode": "handshake"} in status["parameter"]
    assert headers["Authorization"] == "Bearer receiver-token"
    assert headers["X-Trace"] == "pas-test"

    pended = with_code(
        kit("v2.2.1", "pended_pa_submit_request_payload.json")[0], "K0800", trace="sub"
    )
    answer = server.post("/fhir/Claim/$submit", pended).json()
    pa_ref = answer["entry"][0]["resource"]
    assert "preAuthRef" not in pa_ref  # nothing granted yet
    pa_id = _pa_id(server, pended)

    decided = server.post(
        f"/admin/pas/{pa_id}/decision",
        {"items": [{"sequence": 1, "action": "A1"}, {"sequence": 2, "action": "A3"}]},
        admin=True,
    )
    assert decided.status_code == 422  # a denial without a specific reason is refused
    decided = server.post(
        f"/admin/pas/{pa_id}/decision",
        {
            "items": [
                {"sequence": 1, "action": "A1"},
                {
                    "sequence": 2,
                    "action": "A3",
                    "reason": "Second chair within 5 years.",
                    "reasonCodes": ["T1"],  # shape-checked: no payer code list configured
                },
            ]
        },
        admin=True,
    )
    assert decided.status_code == 200, decided.text
    received = receiver.wait_for(2)
    assert len(received) == 2
    headers, note = received[1]
    assert headers["Content-Type"].startswith("application/fhir+json")
    params = note["entry"][0]["resource"]["parameter"]
    assert {"name": "status", "valueCode": "active"} in params
    event = next(p for p in params if p["name"] == "notification-event")
    focus = next(x for x in event["part"] if x["name"] == "focus")["valueReference"]["reference"]
    focus_entry = next(e for e in note["entry"] if e["fullUrl"] == focus)
    assert focus_entry["resource"]["type"] == "collection"
    assert focus_entry["resource"]["entry"][0]["resource"]["resourceType"] == "ClaimResponse"


def _pa_id(server: Server, bundle: dict[str, Any]) -> str:
    from davinci_pa.pas.submission import identifier_key

    app_payer = server.payer
    ident = identifier_key(bundle["entry"][0]["resource"]["identifier"][0])
    auth = app_payer.pas.records.by_claim_identifier(ident, "ehr")
    assert auth is not None
    return auth.pa_id
