"""Findings 2 and 4: Subscriptions reach only their owner's data and only allowed endpoints.

The tenants server allowlists ``http://127.0.0.1:*/notify`` (the test receivers), so its
own admin routes and other loopback ports stay refused like any private address.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests._shared import load_shared_json
from tests.pas.conftest import Receiver
from tests.security.conftest import CLINIC_A, Tenants, claim_bundle


def subscription(endpoint: str, org: str = CLINIC_A, **channel: Any) -> dict[str, Any]:
    sub: dict[str, Any] = copy.deepcopy(
        load_shared_json("fixtures", "pas", "v2.2.1", "subscription_resource.json")
    )
    sub["end"] = "2099-01-01T00:00:00Z"
    sub["_criteria"]["extension"][0]["valueString"] = f"org-identifier={org}"
    sub["channel"].update(endpoint=endpoint, header=["Authorization: Bearer hook"], **channel)
    return sub


def _problems(answer: Any) -> str:
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["resourceType"] == "OperationOutcome"
    return str(body)


def test_filtering_on_another_clinics_organization_is_forbidden(
    tenants: Tenants, receiver: Receiver
) -> None:
    """PAS spec-59: a Subscription monitoring a sending system's authorizations may be
    created only by that sending system (here another clinic tries: 403)."""
    answer = tenants.post("clinic-b", "/fhir/Subscription", subscription(receiver.url))
    assert answer.status_code == 403
    assert "may filter only on the client's own organizations" in answer.text


def test_a_client_without_organizations_hears_only_of_its_own_claims(tenants: Tenants) -> None:
    """Finding 2: B's Subscription on A's organization never receives A's decisions."""
    eavesdropper, owner = Receiver(), Receiver()
    try:
        assert tenants.post("loner", "/fhir/Subscription", subscription(eavesdropper.url)).ok
        assert tenants.post("clinic-a", "/fhir/Subscription", subscription(owner.url)).ok
        assert len(eavesdropper.wait_for(1)) == len(owner.wait_for(1)) == 1  # handshakes

        assert tenants.post("clinic-a", "/fhir/Claim/$submit", claim_bundle("heard")).ok
        pa_id = tenants.authorization("heard", "clinic-a").pa_id
        decision = {"items": [{"sequence": 1, "action": "A1"}, {"sequence": 2, "action": "A1"}]}
        assert tenants.post("reviewer", f"/admin/pas/{pa_id}/decision", decision).ok

        assert len(owner.wait_for(2)) == 2
        assert len(eavesdropper.wait_for(2, timeout=1.0)) == 1
    finally:
        for r in (eavesdropper, owner):
            r.http.shutdown()
            r.http.server_close()


@pytest.mark.parametrize(
    ("endpoint", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "must be an https URL"),
        ("https://169.254.169.254/latest/meta-data/", "not a public address"),
        ("http://127.0.0.1:22/", "must be an https URL"),
        ("https://127.0.0.1:22/", "not a public address"),
        ("https://[::1]/notify", "not a public address"),
        ("https://[::ffff:127.0.0.1]/notify", "not a public address"),
        ("https://10.0.0.5/notify", "not a public address"),
        ("https://100.64.0.1/notify", "not a public address"),
        ("https://0.0.0.0/notify", "not a public address"),
        ("https://user:secret@hooks.example.org/notify", "must not carry credentials"),
        ("ftp://hooks.example.org/notify", "must be an https URL"),
        ("https://hooks.example.org:99999/", "not a well-formed URL"),
    ],
)
def test_private_and_malformed_endpoints_are_refused_at_creation(
    tenants: Tenants, endpoint: str, reason: str
) -> None:
    """Finding 4: the cloud metadata service, loopback ports, private ranges, credentials."""
    assert reason in _problems(tenants.post("loner", "/fhir/Subscription", subscription(endpoint)))


def test_the_servers_own_admin_routes_are_not_an_endpoint(tenants: Tenants) -> None:
    own = f"{tenants.base}/admin/pas/x/decision"
    assert "must be an https URL" in _problems(
        tenants.post("loner", "/fhir/Subscription", subscription(own))
    )


@pytest.mark.parametrize(
    "header",
    [
        "Host: internal.example",
        "Content-Type: text/plain",
        "Cookie: session=1",
        "X-Trace: a\r\nHost: internal.example",
        "X-Empty:",
        "no colon here",
    ],
)
def test_only_authorization_and_x_headers_are_accepted(
    tenants: Tenants, receiver: Receiver, header: str
) -> None:
    sub = subscription(receiver.url)
    sub["channel"]["header"] = [header]
    assert "channel.header[0]" in _problems(tenants.post("loner", "/fhir/Subscription", sub))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"payload": "text/html"}, "channel.payload"),
        ({"type": "websocket"}, "rest-hook"),
        ({"endpoint": 42}, "channel.endpoint"),
        ({"header": "Authorization: Bearer x"}, "channel.header"),
        ({"header": [7]}, "channel.header[0]"),
    ],
)
def test_every_channel_field_is_checked_at_creation(
    tenants: Tenants, receiver: Receiver, change: dict[str, Any], field: str
) -> None:
    """Finding 5's cause: a channel no notification could be sent with is refused up front."""
    sub = subscription(receiver.url)
    sub["channel"].update(change)
    assert field in _problems(tenants.post("loner", "/fhir/Subscription", sub))


def test_a_lone_surrogate_escape_is_refused_before_parsing(
    tenants: Tenants, receiver: Receiver
) -> None:
    raw = (
        b'{"resourceType": "Subscription", "channel": {"payload": "\\ud800", '
        b'"endpoint": "' + receiver.url.encode() + b'"}}'
    )
    answer = tenants.raw("loner", "/fhir/Subscription", raw)
    assert answer.status_code == 400
    assert "unpaired UTF-16 surrogate" in answer.text
