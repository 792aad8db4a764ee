"""PAS routes: ``/fhir`` operations and ``metadata`` (:mod:`davinci_pa.server.capability`).

``Claim/$submit``, ``Claim/$inquire`` and ``Subscription``; reviewers' routes are in
:mod:`davinci_pa.server.review`.

Each route checks the bearer token's scope, calls the framework-free PasService and
serialises FHIR JSON; errors become OperationOutcomes in the app's one error handler.
Queued notifications are delivered by the job engine (:mod:`davinci_pa.jobs`).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request

from davinci_pa.server.auth import audited, authorize, token_url
from davinci_pa.server.capability import capability_statement
from davinci_pa.server.fhir_http import current_payer, fhir_response, json_body

log = logging.getLogger("davinci_pa.server.pas")
blueprint = Blueprint("pas", __name__)


def install(app: Flask) -> None:
    """Add the routes."""
    app.register_blueprint(blueprint)


def _body() -> Any:
    body = json_body()
    if isinstance(body, dict) and body.get("resourceType") == "Parameters":
        for parameter in body.get("parameter") or []:
            if isinstance(parameter, dict) and parameter.get("name") == "resource":
                return parameter.get("resource")
    return body


@blueprint.post("/fhir/Claim/$submit")
@audited("pas.submit")
def submit() -> Response:
    """PAS ``Claim/$submit``."""
    grant = authorize("Claim", "write")
    answer = current_payer().pas.submit(_body(), submitter=grant.client_id)
    g.audit_target = _claim_response_identifier(answer)
    return fhir_response(answer)


@blueprint.post("/fhir/Claim/$inquire")
@audited("pas.inquire")
def inquire() -> Response:
    """PAS ``Claim/$inquire`` (a Parameters of inquiry-response Bundles)."""
    grant = authorize("Claim", "read")
    return fhir_response(current_payer().pas.inquire(_body(), submitter=grant.client_id))


@blueprint.post("/fhir/Subscription")
@audited("pas.subscription.create")
def create_subscription() -> Response:
    """Create a PAS Subscription (answered ``requested``; a handshake follows)."""
    grant = authorize("Subscription", "write")
    created = current_payer().pas.notifications.create(_body(), owner=grant.client_id)
    g.audit_target = f"Subscription/{created['id']}"
    response = fhir_response(created, 201)
    response.headers["Location"] = f"Subscription/{created['id']}"
    return response


@blueprint.get("/fhir/Subscription/<subscription_id>")
@audited("pas.subscription.read")
def read_subscription(subscription_id: str) -> Response:
    """Read a Subscription (its owner only)."""
    grant = authorize("Subscription", "read")
    return fhir_response(
        current_payer().pas.notifications.read(subscription_id, owner=grant.client_id)
    )


@blueprint.put("/fhir/Subscription/<subscription_id>")
@audited("pas.subscription.update")
def update_subscription(subscription_id: str) -> Response:
    """Update a Subscription (its owner only; ``requested`` again, a new handshake)."""
    grant = authorize("Subscription", "write")
    updated = current_payer().pas.notifications.update(
        subscription_id, _body(), owner=grant.client_id
    )
    return fhir_response(updated)


@blueprint.delete("/fhir/Subscription/<subscription_id>")
@audited("pas.subscription.delete")
def delete_subscription(subscription_id: str) -> Response:
    """Delete a Subscription (its owner only)."""
    grant = authorize("Subscription", "write")
    current_payer().pas.notifications.delete(subscription_id, owner=grant.client_id)
    return Response(status=204)


def _claim_response_identifier(answer: dict[str, Any]) -> str | None:
    """The trace number the answer echoes (no PHI): ``system|value`` of the ClaimResponse."""
    entries = answer.get("entry") or [{}]
    identifiers = entries[0].get("resource", {}).get("identifier") or [{}]
    return f"{identifiers[0].get('system')}|{identifiers[0].get('value')}"


@blueprint.get("/fhir/metadata")
def metadata() -> Response:
    """The CapabilityStatement of what this server offers, generated from its routes."""
    base = request.host_url.rstrip("/") + "/fhir"
    statement = capability_statement(current_app.url_map, base, token_url=token_url())
    return fhir_response(statement)
