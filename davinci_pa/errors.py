"""The exception tree of davinci-pa.

Every error the library raises on purpose derives from :class:`DavinciError`. Each class
carries a stable ``code`` (a kebab-case slug documented in ``docs/errors.md``) and the HTTP
status a server should answer with. Errors render themselves as a FHIR OperationOutcome or a
CDS Hooks error body; they never build a framework response.

::

    DavinciError
    ├── ConfigurationError            bad settings, bad rule pack               500 (operator)
    │   └── SchemaNotCurrent          database not migrated to this version     503
    ├── RequestError                  the caller sent something unusable        400
    │   ├── InvalidHookRequest        CDS Hooks envelope or context is invalid  400
    │   ├── PayerNotServed            Coverage names a payer we do not serve    400 (CRD hook-13)
    │   ├── PayerNotIdentified        Coverage names no payer we can identify   400 (CRD hook-13)
    │   ├── UnknownService            no CDS service with that id               404
    │   └── PrefetchUnavailable       data missing and cannot be queried        412 (CDS Hooks)
    ├── AuthenticationError           missing or invalid credentials            401
    │   └── ForbiddenError            valid credentials, not allowed            403
    ├── FhirError
    │   ├── ResourceNotFound          404
    │   └── FhirServerError           the EHR's FHIR server failed              502
    ├── CqlError
    │   ├── ElmLoadError              malformed or unsupported ELM              500
    │   └── CqlEvaluationError        a define failed; names library/define/locator
    └── StoreError                    persistence failed                        503
"""

from __future__ import annotations

from typing import Any, ClassVar

DOCS_URL = "docs/errors.md"


class DavinciError(Exception):
    """Base class: a stable ``code``, an HTTP status, a message and optional details."""

    code: ClassVar[str] = "davinci-error"
    http_status: ClassVar[int] = 500
    issue_type: ClassVar[str] = "exception"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}

    def __str__(self) -> str:
        return f"{self.message} (see {DOCS_URL}#{self.code})"

    def diagnostics(self) -> list[str]:
        """Return the human-readable lines describing this error, most important first."""
        return [self.message, *[str(p) for p in self.details.get("problems", [])]]

    def to_operation_outcome(self) -> dict[str, Any]:
        """Render as a FHIR R4 OperationOutcome, one issue per diagnostic line."""
        issues = [
            {
                "severity": "error",
                "code": self.issue_type,
                "details": {"coding": [_error_coding(self.code)], "text": self.message},
                "diagnostics": line,
            }
            for line in self.diagnostics()
        ]
        return {"resourceType": "OperationOutcome", "issue": issues}

    def to_cds_error(self) -> dict[str, Any]:
        """Render as a CDS Hooks error body (a JSON object with an OperationOutcome)."""
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        body["operationOutcome"] = self.to_operation_outcome()
        return body


def _error_coding(code: str) -> dict[str, str]:
    return {"system": "https://davinci-pa.dev/error-codes", "code": code}


class ConfigurationError(DavinciError):
    """Settings, a rule pack or shipped content is unusable: an operator must fix it."""

    code = "configuration-error"


class SchemaNotCurrent(ConfigurationError):
    """The database schema is not at the revision this version needs: run ``db upgrade``."""

    code = "schema-not-current"
    http_status = 503


class RequestError(DavinciError):
    """The caller sent something we cannot use."""

    code = "invalid-request"
    http_status = 400
    issue_type = "invalid"


class ReviewConflict(RequestError):
    """A review action the request's current state does not allow (HTTP 409).

    An item already final, a second extension, an appeal of an item that was not denied.
    """

    code = "review-conflict"
    http_status = 409
    issue_type = "conflict"


class InvalidHookRequest(RequestError):
    """The CDS Hooks request body or its hook context is invalid."""

    code = "invalid-hook-request"


class PayerNotServed(RequestError):
    """The order's Coverage names a payer this endpoint does not serve (CRD ``hook-13``)."""

    code = "payer-not-served"
    issue_type = "not-supported"


class PayerNotIdentified(RequestError):
    """The order's Coverage names no payer at all that can be identified (CRD ``hook-13``).

    No ``payor`` identifier or name in the Coverage, and the payor Organization is neither in
    the request nor at a FHIR server we may query: whose coverage it is cannot be determined.
    """

    code = "payer-not-identified"
    issue_type = "incomplete"


class UnknownService(RequestError):
    """No CDS service with that id."""

    code = "unknown-service"
    http_status = 404
    issue_type = "not-found"


class PrefetchUnavailable(RequestError):
    """Needed data was not prefetched and the EHR's FHIR server cannot be queried."""

    code = "prefetch-unavailable"
    http_status = 412
    issue_type = "incomplete"


class AuthenticationError(DavinciError):
    """Credentials are missing or invalid."""

    code = "unauthenticated"
    http_status = 401
    issue_type = "login"


class ForbiddenError(AuthenticationError):
    """Credentials are valid but do not allow this call."""

    code = "forbidden"
    http_status = 403
    issue_type = "forbidden"


class FhirError(DavinciError):
    """A FHIR-level failure."""

    code = "fhir-error"


class ResourceNotFound(FhirError):
    """The requested FHIR resource does not exist."""

    code = "resource-not-found"
    http_status = 404
    issue_type = "not-found"


class FhirServerError(FhirError):
    """The EHR's FHIR server could not be reached or answered with an error."""

    code = "fhir-server-error"
    http_status = 502
    issue_type = "transient"


class CqlError(DavinciError):
    """A CQL/ELM failure."""

    code = "cql-error"


class ElmLoadError(CqlError):
    """ELM could not be loaded: malformed JSON, an unsupported node or a missing include."""

    code = "elm-load-error"


class CqlEvaluationError(CqlError):
    """Evaluating a define failed; the message names library, define and source locator."""

    code = "cql-evaluation-error"


class StoreError(DavinciError):
    """The persistence layer failed."""

    code = "store-error"
    http_status = 503
    issue_type = "transient"
