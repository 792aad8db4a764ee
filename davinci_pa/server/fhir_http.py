"""Helpers every FHIR route shares: the payer, the JSON body, the FHIR JSON response."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, request

from davinci_pa.errors import RequestError
from davinci_pa.payer import Payer
from davinci_pa.server.json_input import request_json

FHIR_JSON = "application/fhir+json"
PAYER_KEY = "davinci_pa.payer"


def current_payer() -> Payer:
    """The Payer the app was built with."""
    payer: Payer = current_app.extensions[PAYER_KEY]
    return payer


def json_body() -> Any:
    """The request body as JSON, whatever the declared content type.

    Raises:
        RequestError: the body is not JSON (400).
    """
    if not request.get_data(cache=True):
        raise RequestError("the body must be FHIR JSON")
    return request_json()


def fhir_response(body: Any, status: int = 200) -> Response:
    """A FHIR JSON response."""
    response = jsonify(body)
    response.status_code = status
    response.mimetype = FHIR_JSON
    return response
