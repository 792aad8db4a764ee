"""DTR routes under ``/fhir`` (DTR 2.2 §Payer obligations; SMART Backend Services, ``spec-120``).

``Questionnaire/$questionnaire-package``, ``Questionnaire/$next-question`` (answers a bare
QuestionnaireResponse, as the conformance kit expects), ``$log-questionnaire-errors``,
``Questionnaire/$populate`` (payer-side prepopulation), reads and canonical searches of
Questionnaire, Library and ValueSet, and QuestionnaireResponse intake. Every route checks
the bearer token's scope first; errors become OperationOutcomes in the app's error handler.
``?dtrVersion=2.0.1`` asks for the DTR 2.0.1 package shape.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from davinci_pa.dtr.service import DtrService
from davinci_pa.errors import RequestError
from davinci_pa.payer import Payer
from davinci_pa.server.auth import authorize

blueprint = Blueprint("dtr", __name__, url_prefix="/fhir")
FHIR_JSON = "application/fhir+json"
KINDS = ("Questionnaire", "Library", "ValueSet")


def _service() -> DtrService:
    payer: Payer = current_app.extensions["davinci_pa.payer"]
    return payer.dtr


def _body() -> Any:
    body = request.get_json(silent=True, force=True)
    if body is None:
        raise RequestError("the body must be FHIR JSON")
    return body


def _fhir(body: Any, status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.mimetype = FHIR_JSON
    return response


@blueprint.post("/Questionnaire/$questionnaire-package")
def questionnaire_package() -> Response:
    """The forms, libraries, value sets and draft responses for an order (DTR §4.4.1)."""
    grant = authorize("Questionnaire", "read")
    version = request.args.get("dtrVersion")
    return _fhir(_service().questionnaire_package(_body(), version=version, client=grant.client_id))


@blueprint.post("/Questionnaire/$next-question")
def next_question() -> Response:
    """The next items of an adaptive form, or the completed response (SDC $next-question)."""
    authorize("Questionnaire", "read")
    return _fhir(_service().next_question(_body()))


@blueprint.post("/Questionnaire/$populate")
def populate() -> Response:
    """Prepopulate a form from a patient record sent with the call (payer-side use)."""
    authorize("Questionnaire", "read")
    return _fhir(_service().populate(_body()))


@blueprint.post("/$log-questionnaire-errors")
@blueprint.post("/Questionnaire/$log-questionnaire-errors")
def log_errors() -> Response:
    """Record the errors a DTR client met in our forms (``oper-1``)."""
    grant = authorize("Questionnaire", "write")
    return _fhir(_service().log_errors(_body(), client=grant.client_id))


@blueprint.post("/QuestionnaireResponse")
def create_response() -> Response:
    """Validate and store a QuestionnaireResponse, linked to its order and assertion."""
    grant = authorize("QuestionnaireResponse", "write")
    return _fhir(_service().receive_response(_body(), client=grant.client_id), 201)


@blueprint.get("/<any(Questionnaire, Library, ValueSet):kind>/<resource_id>")
def read(kind: str, resource_id: str) -> Response:
    """Read a Questionnaire, Library or ValueSet by id."""
    authorize(kind, "read")
    return _fhir(_service().read(kind, resource_id))


@blueprint.get("/<any(Questionnaire, Library, ValueSet):kind>")
def search(kind: str) -> Response:
    """Search by canonical: ``?url=...&version=...`` (``url=a|v`` also works)."""
    authorize(kind, "read")
    return _fhir(_service().search(kind, request.args.get("url"), request.args.get("version")))
