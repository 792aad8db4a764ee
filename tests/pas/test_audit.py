"""Every PAS and token call leaves an audit event, refused ones included (no PHI)."""

from __future__ import annotations

from typing import Any

import pytest

from davinci_pa.auth.client import sign_client_assertion, token_form
from davinci_pa.store.audit import AuditEvent, AuditLog
from tests.auth.conftest import private_jwk
from tests.pas.conftest import Server, kit, with_code


def _newest(server: Server) -> AuditEvent:
    return AuditLog(server.payer.database).recent(limit=1)[0]


def _submit(server: Server, body: Any, token: str | None = None) -> int:
    return server.post("/fhir/Claim/$submit", body, token=token).status_code


@pytest.mark.parametrize(
    ("token", "body", "status", "outcome", "actor"),
    [
        ("not-a-jwt", {}, 401, "unauthenticated", None),
        (None, {"resourceType": "Bundle"}, 400, "invalid-pas-bundle", "ehr"),
        (None, {"resourceType": "Patient"}, 400, "invalid-pas-bundle", "ehr"),
    ],
)
def test_refused_submissions_are_audited(
    server: Server, token: str | None, body: Any, status: int, outcome: str, actor: str | None
) -> None:
    assert _submit(server, body, token) == status
    event = _newest(server)
    assert (event.action, event.outcome, event.status, event.actor) == (
        "pas.submit",
        outcome,
        status,
        actor,
    )
    assert event.request_id


def test_wrong_scope_is_audited_as_forbidden(server: Server) -> None:
    reviewer = server.token(admin=True)  # system/ClaimResponse.write only
    assert _submit(server, {}, reviewer) == 403
    event = _newest(server)
    assert (event.outcome, event.status, event.actor) == ("forbidden", 403, "reviewer")


def test_accepted_submission_is_audited_with_its_trace_number(server: Server) -> None:
    bundle = with_code(
        kit("v2.2.1", "pended_pa_submit_request_payload.json")[0], "E0250", trace="audit-1"
    )
    assert _submit(server, bundle) == 200
    event = _newest(server)
    assert (event.action, event.outcome, event.status, event.actor) == (
        "pas.submit",
        "ok",
        200,
        "ehr",
    )
    assert event.target is not None
    assert event.target.endswith("|audit-1")


def test_refused_decision_and_subscription_are_audited(server: Server) -> None:
    response = server.post(
        "/admin/pas/no-such-pa/decision", {"items": [{"sequence": 1, "action": "A1"}]}, admin=True
    )
    assert response.status_code == 404
    event = _newest(server)
    assert (event.action, event.outcome, event.target) == (
        "pas.decide",
        "resource-not-found",
        "no-such-pa",
    )
    assert server.post("/fhir/Subscription", {"resourceType": "Subscription"}).status_code == 400
    assert _newest(server).outcome == "invalid-subscription"


def test_token_requests_are_audited(server: Server) -> None:
    stranger = private_jwk("ES384", "stranger-1")
    assertion = sign_client_assertion(
        stranger, client_id="ehr", token_url=server.base + "/auth/token"
    )
    refused = server.session.post(
        server.base + "/auth/token", data=token_form(assertion, "system/Claim.read")
    )
    assert refused.status_code == 401
    event = _newest(server)
    assert (event.action, event.outcome, event.status, event.actor) == (
        "auth.token",
        "invalid_client",
        401,
        None,
    )
    assert event.target == "claimed client ehr"
    server._token = ""
    server.token()
    event = _newest(server)
    assert (event.action, event.outcome, event.actor) == ("auth.token", "ok", "ehr")
