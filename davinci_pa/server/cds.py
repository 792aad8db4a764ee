"""CDS Hooks routes: discovery, service calls and feedback (CDS Hooks 2.0 §Discovery, §Calling)."""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request

from davinci_pa.errors import InvalidHookRequest
from davinci_pa.server.fhir_http import current_payer
from davinci_pa.server.json_input import request_json
from davinci_pa.server.metrics import count_crd_decisions

blueprint = Blueprint("cds", __name__, url_prefix="/cds-services")


@blueprint.get("")
def discovery() -> Response:
    """List the six CRD services; a JWT is checked when one is sent."""
    payer = current_payer()
    if request.headers.get("Authorization"):
        audience = payer.service_url("").rstrip("/")
        payer.authenticate(request.headers.get("Authorization"), audience=audience)
    return jsonify(payer.discovery())


@blueprint.post("/<service_id>")
def call_service(service_id: str) -> Response:
    """Answer a hook call with cards and system actions."""
    payer = current_payer()
    payer.services.get(service_id)
    caller = payer.authenticate(
        request.headers.get("Authorization"), audience=payer.service_url(service_id)
    )
    g.audit_actor = caller.issuer
    answer = payer.handle_hook(
        service_id, request_json(InvalidHookRequest), caller=caller, request_id=g.request_id
    )
    count_crd_decisions(answer)
    return jsonify(answer)


@blueprint.post("/<service_id>/feedback")
def feedback(service_id: str) -> Response:
    """Store card feedback (CDS Hooks §Feedback); duplicates are expected and kept."""
    payer = current_payer()
    payer.services.get(service_id)
    audiences = [f"{payer.service_url(service_id)}/feedback", payer.service_url(service_id)]
    caller = payer.authenticate(request.headers.get("Authorization"), audience=audiences)
    count = payer.record_feedback(service_id, request_json(InvalidHookRequest), caller=caller)
    return jsonify({"received": count})
