"""Payer-to-Payer member matching: HRex ``$member-match`` and PDex ``$bulk-member-match``.

The matched Group of ``Group/$bulk-member-match`` is exported through the Bulk Data routes of
:mod:`davinci_pa.server.provider_access` (docs/access.md).

Only SMART Backend Services clients whose ``DAVINCI_PA_CLIENTS`` entry has the ``payer``
role (another health plan) and ``system/Patient.read`` may ask. No single match is 422.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, Flask, Response

from davinci_pa.server.auth import audited, authorize, require_role
from davinci_pa.server.fhir_http import current_payer, fhir_response, json_body

blueprint = Blueprint("member_match", __name__)


def install(app: Flask) -> None:
    """Register the route."""
    app.register_blueprint(blueprint)


@blueprint.post("/fhir/Patient/$member-match")
@audited("payer-to-payer.member-match")
def member_match() -> Response:
    """Match a member of another payer's request to ours."""
    grant = authorize("Patient", "read")
    require_role(grant, "payer")
    answer = current_payer().member_match.match(json_body(), recipient=grant.client_id)
    return fhir_response(answer)


@blueprint.post("/fhir/Group/$bulk-member-match")
@audited("payer-to-payer.bulk-member-match")
def bulk_member_match() -> Response:
    """Match many members (PDex); the matched Group can then be exported."""
    grant = authorize("Patient", "read")
    require_role(grant, "payer")
    payer = current_payer()
    answer = payer.member_match.bulk_match(
        json_body(), owner=grant.client_id, new_id=lambda: str(uuid.uuid4())
    )
    return fhir_response(answer)
