"""Provider Access routes: attribution Groups and the Bulk Data export (docs/access.md).

* ``POST /fhir/Group``, ``PUT /fhir/Group/{id}`` (``system/Group.write``), ``GET
  /fhir/Group/{id}`` (``system/Group.read``): PDex ``pdex-provider-group`` attribution lists;
* ``GET /fhir/Group/{id}/$davinci-data-export`` and ``/$export``: 202 with
  ``Content-Location`` (clients whose ``DAVINCI_PA_CLIENTS`` entry has the ``provider`` role,
  ``system/ExplanationOfBenefit.read``);
* ``GET /bulk/status/{id}``: 202 with ``X-Progress`` while it runs, then the manifest;
  ``DELETE`` cancels; ``GET /bulk/files/{id}/{name}``: an NDJSON file.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, g, request, send_file

from davinci_pa.access.provider import ExportFailed
from davinci_pa.errors import RequestError
from davinci_pa.server.auth import audited, authorize, require_role
from davinci_pa.server.fhir_http import current_payer, fhir_response, json_body
from davinci_pa.store.access_records import COMPLETE, ERROR, ExportRow

blueprint = Blueprint("provider_access", __name__)


def install(app: Flask) -> None:
    """Register the routes."""
    app.register_blueprint(blueprint)


@blueprint.post("/fhir/Group")
@audited("provider-access.group.create")
def create_group() -> Response:
    """Create an attribution Group under a new id."""
    grant = authorize("Group", "write")
    group, _ = current_payer().provider_access.put_group(
        json_body(), group_id=None, owner=grant.client_id
    )
    response = fhir_response(group, 201)
    response.headers["Location"] = f"{_fhir_base()}/Group/{group['id']}"
    return response


@blueprint.put("/fhir/Group/<group_id>")
@audited("provider-access.group.update")
def put_group(group_id: str) -> Response:
    """Create or replace the attribution Group ``group_id``."""
    grant = authorize("Group", "write")
    group, created = current_payer().provider_access.put_group(
        json_body(), group_id=group_id, owner=grant.client_id
    )
    return fhir_response(group, 201 if created else 200)


@blueprint.get("/fhir/Group/<group_id>")
@audited("provider-access.group.read")
def read_group(group_id: str) -> Response:
    """Read an attribution Group."""
    authorize("Group", "read")
    return fhir_response(current_payer().provider_access.group(group_id))


@blueprint.route("/fhir/Group/<group_id>/$davinci-data-export", methods=["GET", "POST"])
@blueprint.route("/fhir/Group/<group_id>/$export", methods=["GET", "POST"])
@audited("provider-access.export")
def export(group_id: str) -> Response:
    """Bulk Data kick-off: queue the export of the Group's prior authorizations."""
    grant = authorize("ExplanationOfBenefit", "read")
    params = {k: request.args.getlist(k) for k in request.args}
    if request.method == "POST":  # the body first: its size and shape are checked whatever else
        params |= _parameters(json_body())
    access = current_payer().provider_access
    kind = access.export_kind(group_id, grant.client_id)
    require_role(grant, kind)  # provider: Provider Access; payer: its own match Group
    row = access.kick_off(group_id, grant.client_id, params, request.url, kind=kind)
    g.audit_target = f"Group/{group_id}"
    response = Response(status=202)
    response.headers["Content-Location"] = f"{_base()}/bulk/status/{row.id}"
    return response


@blueprint.get("/bulk/status/<export_id>")
def status(export_id: str) -> Response:
    """The export's progress (202) or its manifest (200)."""
    grant = authorize("ExplanationOfBenefit", "read")
    row = current_payer().provider_access.status(export_id, grant.client_id)
    if row.status == ERROR:
        raise ExportFailed(f"export {export_id} failed: {row.error}")
    if row.status != COMPLETE:
        response = Response(status=202)
        response.headers["X-Progress"] = row.status
        response.headers["Retry-After"] = "2"
        return response
    return fhir_response(_manifest(row))


@blueprint.delete("/bulk/status/<export_id>")
def cancel(export_id: str) -> Response:
    """Cancel an export and delete its files."""
    grant = authorize("ExplanationOfBenefit", "read")
    current_payer().provider_access.cancel(export_id, grant.client_id)
    return Response(status=202)


@blueprint.get("/bulk/files/<export_id>/<name>")
@audited("provider-access.disclosure")
def download(export_id: str, name: str) -> Response:
    """One NDJSON output file; every download is an audited disclosure."""
    grant = authorize("ExplanationOfBenefit", "read")
    path = current_payer().provider_access.output_file(export_id, name, grant.client_id)
    g.audit_target = f"bulk-export/{export_id}"
    return send_file(path, mimetype="application/fhir+ndjson", max_age=0)


def _manifest(row: ExportRow) -> dict[str, object]:
    """Bulk Data Access IG 2.0 §Complete status: the files and when they were made."""
    return {
        "transactionTime": (row.completed_at or row.requested_at)
        .isoformat()
        .replace("+00:00", "Z"),
        "request": row.request_url,
        "requiresAccessToken": True,
        "output": [
            {
                "type": o["type"],
                "url": f"{_base()}/bulk/files/{row.id}/{o['url']}",
                "count": o["count"],
            }
            for o in row.output or ()
        ],
        "error": [],
    }


def _parameters(body: Any) -> dict[str, list[str]]:
    """Bulk Data POST kick-off: a Parameters of ``_since``, ``_type``, ``_outputFormat``."""
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise RequestError("a POST kick-off takes a FHIR Parameters resource")
    found: dict[str, list[str]] = {}
    for parameter in body.get("parameter") or []:
        if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str):
            raise RequestError("each Parameters.parameter needs a name")
        value = next((v for k, v in parameter.items() if k.startswith("value")), None)
        if not isinstance(value, str):
            raise RequestError(f"parameter '{parameter['name']}' needs a string value")
        found.setdefault(parameter["name"], []).append(value)
    return found


def _base() -> str:
    return current_payer().options.security.public_base_url.rstrip("/")


def _fhir_base() -> str:
    return current_payer().options.security.public_base_url.rstrip("/") + "/fhir"
