"""The one place errors become HTTP responses.

Library errors carry their status and body; CDS Hooks routes answer with the CDS Hooks
error body (which embeds an OperationOutcome), FHIR routes with a bare OperationOutcome.
A database failure that escaped the store's own wrapping is still a 503 ``store-error``.
Unexpected exceptions are logged with their traceback and answered with a generic 500:
no stack trace ever reaches the caller.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from davinci_pa.errors import DavinciError, RequestError, StoreError

log = logging.getLogger("davinci_pa.server")


class HttpError(RequestError):
    """A routing-level failure (unknown URL, wrong method, body too large)."""

    code = "http-error"

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self._status = status

    @property
    def status(self) -> int:
        """The HTTP status to answer with."""
        return self._status


def register_error_handlers(app: Flask) -> None:
    """Install the handlers for library errors, HTTP errors and everything else."""
    app.register_error_handler(DavinciError, _davinci_error)
    app.register_error_handler(HTTPException, _http_exception)
    app.register_error_handler(SQLAlchemyError, _database_error)
    app.register_error_handler(Exception, _unexpected)


def _davinci_error(error: DavinciError) -> Response:
    status = error.status if isinstance(error, HttpError) else error.http_status
    log.info("request %s failed: %s %s", _request_id(), status, error.code)
    return _render(error, status)


def _http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    message = {404: "no such endpoint", 405: "method not allowed", 413: "request body too large"}
    return _render(HttpError(status, message.get(status, error.name)), status)


def _database_error(error: SQLAlchemyError) -> Response:
    log.warning("request %s: database failure %s", _request_id(), type(error).__name__)
    return _davinci_error(StoreError(f"database operation failed: {type(error).__name__}"))


def _unexpected(error: Exception) -> Response:
    log.exception("request %s failed unexpectedly", _request_id())
    failure = DavinciError(f"internal error; quote request id {_request_id()}")
    return _render(failure, 500)


def _render(error: DavinciError, status: int) -> Response:
    body: dict[str, Any]
    if request.path.startswith("/cds-services"):
        body = error.to_cds_error()
    else:
        body = error.to_operation_outcome()
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="davinci-pa"'
    if status == 503:
        response.headers["Retry-After"] = "5"
    if not request.path.startswith("/cds-services"):
        response.mimetype = "application/fhir+json"
    return response


def _request_id() -> str:
    return str(getattr(g, "request_id", "-"))
