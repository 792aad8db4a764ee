"""Patient Access routes: ``GET /fhir/ExplanationOfBenefit`` (search) and ``/{id}`` (read).

The bearer token is a patient-facing access token from the payer's authorization server
(``DAVINCI_PA_PATIENT_TOKEN_ISSUERS``; :mod:`davinci_pa.access.tokens`), its ``aud`` our FHIR
base URL. Results are PDex Prior Authorizations (docs/access.md); paging uses ``_count`` and
``_offset`` with ``next`` links.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, current_app, g, request

from davinci_pa.access.patient import SearchPage
from davinci_pa.access.tokens import PatientGrant, PatientTokenVerifier
from davinci_pa.errors import AuthenticationError
from davinci_pa.server.auth import audited
from davinci_pa.server.fhir_http import current_payer, fhir_response
from davinci_pa.server.settings import ServerSettings

blueprint = Blueprint("access", __name__)
_VERIFIER = "davinci_pa.patient_tokens"
_FHIR_BASE = "davinci_pa.fhir_base"


def install(app: Flask, settings: ServerSettings) -> None:
    """Register the routes with the configured patient-token issuers."""
    fhir_base = settings.public_base_url.rstrip("/") + "/fhir"
    app.extensions[_VERIFIER] = PatientTokenVerifier(
        settings.load_patient_token_issuers(), fhir_base
    )
    app.extensions[_FHIR_BASE] = fhir_base
    app.register_blueprint(blueprint)


@blueprint.get("/fhir/ExplanationOfBenefit")
@audited("patient-access.search")
def search() -> Response:
    """Search a member's prior authorizations."""
    grant = _grant()
    params = {k: request.args.getlist(k) for k in request.args}
    page = current_payer().patient_access.search(grant, params)
    return fhir_response(_bundle(page, params))


@blueprint.get("/fhir/ExplanationOfBenefit/<pa_id>")
@audited("patient-access.read")
def read(pa_id: str) -> Response:
    """Read one of the member's prior authorizations."""
    return fhir_response(current_payer().patient_access.read(_grant(), pa_id))


def _grant() -> PatientGrant:
    verifier: PatientTokenVerifier = current_app.extensions[_VERIFIER]
    if not verifier.configured:
        raise AuthenticationError(
            "Patient Access is not configured: no DAVINCI_PA_PATIENT_TOKEN_ISSUERS"
        )
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("a patient access token is required (Authorization: Bearer)")
    grant = verifier.verify(token.strip())
    g.audit_actor = f"patient:{grant.issuer}"
    return grant


def _bundle(page: SearchPage, params: dict[str, list[str]]) -> dict[str, object]:
    fhir = current_app.extensions[_FHIR_BASE]
    base = f"{fhir}/ExplanationOfBenefit"
    kept = {k: v for k, v in params.items() if k != "_offset"}
    self_query = urlencode([(k, x) for k, v in params.items() for x in v])
    links = [{"relation": "self", "url": f"{base}?{self_query}" if self_query else base}]
    if page.next_offset is not None:
        query = urlencode(
            [*((k, x) for k, v in kept.items() for x in v), ("_offset", str(page.next_offset))]
        )
        links.append({"relation": "next", "url": f"{base}?{query}"})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": page.total,
        "link": links,
        "entry": [
            {
                "fullUrl": f"{fhir}/ExplanationOfBenefit/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in page.resources
        ],
    }
