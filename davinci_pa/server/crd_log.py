"""``GET /admin/crd/calls/{hookInstance}``: the kept record of a hook call (CRD found-38).

CRD found-37 keeps every hook invocation and its answer with the coverage assertions it made;
found-38 asks that authorized people can reach those logs quickly to resolve discrepancies.
This route gives them to a client registered with ``"roles": ["auditor"]`` whose token grants
``AuditEvent`` read access: the call (service, hook, client, time, status, duration), the
answer as sent and each coverage assertion with its decision. Reading it is audited.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Flask, Response, jsonify

from davinci_pa.errors import ResourceNotFound
from davinci_pa.server.auth import audited, authorize, require_role
from davinci_pa.server.fhir_http import current_payer
from davinci_pa.store.crd_records import LoggedCall
from davinci_pa.types import JsonObject

blueprint = Blueprint("crd_log", __name__)
AUDITOR = "auditor"


def install(app: Flask) -> None:
    """Register the route."""
    app.register_blueprint(blueprint)


@blueprint.get("/admin/crd/calls/<hook_instance>")
@audited("crd.log.read")
def logged_calls(hook_instance: str) -> Response:
    """Every kept call with this hookInstance, oldest first (404 when there is none)."""
    grant = authorize("AuditEvent", "read")
    require_role(grant, AUDITOR)
    found = current_payer().crd_records.logged_calls(hook_instance)
    if not found:
        raise ResourceNotFound(f"no hook call with hookInstance {hook_instance!r} is kept")
    return jsonify({"hookInstance": hook_instance, "calls": [_entry(c) for c in found]})


def _entry(logged: LoggedCall) -> JsonObject:
    call = logged.call
    return {
        "requestId": call.request_id,
        "service": call.service_id,
        "hook": call.hook,
        "client": call.client,
        "received": _iso(logged.received_at),
        "status": call.status,
        "durationMs": call.duration_ms,
        "response": call.response,
        "assertions": [
            {
                "coverageAssertionId": a.assertion_id,
                "order": a.order_ref,
                "coverage": a.coverage_ref,
                "payer": a.payer_id,
                "topic": a.topic_id,
                "ruleSource": a.rule_source,
                "decision": a.decision,
                "satisfiedPaId": a.satisfied_pa_id,
            }
            for a in logged.assertions
        ],
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
