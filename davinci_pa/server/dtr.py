"""DTR routes under ``/fhir`` (DTR 2.2 §Payer obligations; SMART Backend Services, ``spec-120``).

``Questionnaire/$questionnaire-package``, ``Questionnaire/$next-question`` (answers a bare
QuestionnaireResponse, as the conformance kit expects), ``$log-questionnaire-errors``,
``Questionnaire/$populate`` (payer-side prepopulation), ``ValueSet/$expand``, reads and
canonical searches of Questionnaire, Library and ValueSet, and QuestionnaireResponse intake.
Every route checks the bearer token's scope first; errors become OperationOutcomes in the
app's error handler.
``?dtrVersion=2.0.1`` asks for the DTR 2.0.1 package shape.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from davinci_pa.dtr.service import DtrService
from davinci_pa.server.auth import audited, authorize
from davinci_pa.server.fhir_http import current_payer, fhir_response, json_body

blueprint = Blueprint("dtr", __name__, url_prefix="/fhir")
KINDS = ("Questionnaire", "Library", "ValueSet")


def _service() -> DtrService:
    return current_payer().dtr


@blueprint.post("/Questionnaire/$questionnaire-package")
@audited("dtr.questionnaire-package")
def questionnaire_package() -> Response:
    """The forms, libraries, value sets and draft responses for an order (DTR §4.4.1)."""
    grant = authorize("Questionnaire", "read")
    version = request.args.get("dtrVersion")
    return fhir_response(
        _service().questionnaire_package(json_body(), version=version, client=grant.client_id)
    )


@blueprint.post("/Questionnaire/$next-question")
@audited("dtr.next-question")
def next_question() -> Response:
    """The next items of an adaptive form, or the completed response (SDC $next-question)."""
    authorize("Questionnaire", "read")
    return fhir_response(_service().next_question(json_body()))


@blueprint.post("/Questionnaire/$populate")
@audited("dtr.populate")
def populate() -> Response:
    """Prepopulate a form from a patient record sent with the call (payer-side use)."""
    authorize("Questionnaire", "read")
    return fhir_response(_service().populate(json_body()))


@blueprint.post("/$log-questionnaire-errors")
@blueprint.post("/Questionnaire/$log-questionnaire-errors")
@audited("dtr.log-questionnaire-errors")
def log_errors() -> Response:
    """Record the errors a DTR client met in our forms (``oper-1``)."""
    grant = authorize("Questionnaire", "write")
    return fhir_response(_service().log_errors(json_body(), client=grant.client_id))


@blueprint.get("/ValueSet/$expand")
@blueprint.post("/ValueSet/$expand")
@blueprint.get("/ValueSet/<value_set_id>/$expand")
@audited("dtr.expand")
def expand(value_set_id: str | None = None) -> Response:
    """``ValueSet/$expand`` by ``url`` (and ``valueSetVersion``) or by id.

    The parameters come in the query or, for POST, a Parameters body.
    """
    authorize("ValueSet", "read")
    args = dict(request.args.items())
    if request.method == "POST":
        args.update(_parameters(json_body()))
    return fhir_response(
        _service().expand(
            url=args.get("url"), version=args.get("valueSetVersion"), value_set_id=value_set_id
        )
    )


def _parameters(body: object) -> dict[str, str]:
    """The string-valued parameters of a Parameters body (``valueUri``, ``valueString``...)."""
    found: dict[str, str] = {}
    params = body.get("parameter") if isinstance(body, dict) else None
    for param in params if isinstance(params, list) else []:
        if not isinstance(param, dict) or not isinstance(param.get("name"), str):
            continue
        values = [v for k, v in param.items() if k.startswith("value") and isinstance(v, str)]
        if values:
            found[param["name"]] = values[0]
    return found


@blueprint.post("/QuestionnaireResponse")
@audited("dtr.questionnaire-response")
def create_response() -> Response:
    """Validate and store a QuestionnaireResponse, linked to its order and assertion."""
    grant = authorize("QuestionnaireResponse", "write")
    return fhir_response(_service().receive_response(json_body(), client=grant.client_id), 201)


@blueprint.get("/<any(Questionnaire, Library, ValueSet):kind>/<resource_id>")
@audited("dtr.read")
def read(kind: str, resource_id: str) -> Response:
    """Read a Questionnaire, Library or ValueSet by id."""
    authorize(kind, "read")
    return fhir_response(_service().read(kind, resource_id))


@blueprint.get("/<any(Questionnaire, Library, ValueSet):kind>")
@audited("dtr.search")
def search(kind: str) -> Response:
    """Search by canonical: ``?url=...&version=...`` (``url=a|v`` also works)."""
    authorize(kind, "read")
    return fhir_response(
        _service().search(kind, request.args.get("url"), request.args.get("version"))
    )
