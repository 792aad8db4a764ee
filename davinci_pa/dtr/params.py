"""Parse and check the inputs of the DTR operations.

``$questionnaire-package`` input (DTR 2.2 ``dtr-qpackage-input-parameters``; ``oper-6``:
coverage plus at least one of questionnaire, context or order), ``$next-question`` input
(a bare QuestionnaireResponse, as the conformance kit sends it, or SDC
``parameters-questionnaire-next-question-in``) and ``$log-questionnaire-errors`` input
(``dtr-log-errors-input-parameters``). Every defect is named in the error's problems.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from davinci_pa.cdshooks.context import ORDER_TYPES as CRD_ORDER_TYPES
from davinci_pa.dtr.errors import DtrRequestError
from davinci_pa.dtr.vocabulary import VERSIONS, DtrVersion
from davinci_pa.fhir.validation.structural import validate_structure
from davinci_pa.types import Resource

ORDER_TYPES = CRD_ORDER_TYPES | {
    "Appointment",
    "Encounter",
    "ImmunizationRecommendation",
    "SupplyRequest",
}
"""``dtr-qpackage-input-parameters`` ``order.resource`` types: CRD's orders and four more."""
PACKAGE_PARAMETERS = frozenset({"coverage", "order", "questionnaire", "context", "changedsince"})


@dataclass(frozen=True)
class PackageRequest:
    """A checked ``$questionnaire-package`` request."""

    coverage: Resource
    orders: tuple[Resource, ...] = ()
    questionnaires: tuple[str, ...] = ()
    context: str | None = None
    changed_since: datetime | None = None
    version: DtrVersion | None = None


def parse_package_request(body: Any) -> PackageRequest:
    """Check a ``$questionnaire-package`` Parameters and return its content.

    Raises:
        DtrRequestError: the body is not a conformant input Parameters (HTTP 400).
    """
    parameters = _parameters(body, "$questionnaire-package")
    problems: list[str] = []
    found: dict[str, list[Any]] = {name: [] for name in PACKAGE_PARAMETERS}
    for index, param in enumerate(parameters):
        name = param.get("name")
        if not isinstance(name, str) or name not in PACKAGE_PARAMETERS:
            problems.append(f"parameter[{index}]: unknown parameter {name!r}")
            continue
        value = _value(param, name, index, problems)
        if value is not None:
            found[name].append(value)
    coverage = _single(found["coverage"], "coverage", problems, required=True)
    context = _single(found["context"], "context", problems)
    changed = _single(found["changedsince"], "changedsince", problems)
    if coverage is not None and not (found["order"] or found["questionnaire"] or context):
        problems.append("give at least one of 'order', 'questionnaire' or 'context' (oper-6)")
    if problems or coverage is None:
        raise DtrRequestError("invalid $questionnaire-package input", problems)
    return PackageRequest(
        coverage=coverage,
        orders=tuple(found["order"]),
        questionnaires=tuple(found["questionnaire"]),
        context=context,
        changed_since=changed,
        version=_declared_version(body),
    )


def _parameters(body: Any, operation: str) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        kind = body.get("resourceType") if isinstance(body, dict) else type(body).__name__
        raise DtrRequestError(f"{operation} expects a Parameters resource, not {kind!r}")
    parameters = body.get("parameter")
    if not isinstance(parameters, list) or not parameters:
        raise DtrRequestError(f"{operation}: Parameters.parameter is empty")
    if not all(isinstance(p, dict) for p in parameters):
        raise DtrRequestError(f"{operation}: every Parameters.parameter must be an object")
    return parameters


def _value(param: dict[str, Any], name: str, index: int, problems: list[str]) -> Any:
    where = f"parameter[{index}] ({name})"
    if name in ("coverage", "order"):
        resource = param.get("resource")
        expected = {"Coverage"} if name == "coverage" else ORDER_TYPES
        return _resource(resource, expected, where, problems)
    if name == "questionnaire":
        value = param.get("valueCanonical")
        if not isinstance(value, str) or not value.startswith(("http://", "https://", "urn:")):
            problems.append(f"{where}: needs a valueCanonical (an absolute canonical URL)")
            return None
        return value
    if name == "context":
        value = param.get("valueString")
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{where}: needs a non-empty valueString")
            return None
        return value.strip()
    return _instant(param.get("valueInstant"), where, problems)


def _resource(
    resource: Any, expected: set[str] | frozenset[str], where: str, problems: list[str]
) -> Any:
    kind = resource.get("resourceType") if isinstance(resource, dict) else None
    if not isinstance(kind, str) or kind not in expected:
        kinds = ", ".join(sorted(expected))
        problems.append(f"{where}: needs a resource of type {kinds}")
        return None
    issues = structure_problems(resource)
    problems.extend(f"{where}: {issue}" for issue in issues)
    return None if issues else resource


def structure_problems(resource: Resource) -> list[str]:
    """Where a resource does not parse as FHIR R4 (wrong JSON shapes, unknown elements)."""
    return [f"{i.path}: {i.message}" for i in validate_structure(resource) if i.severity == "error"]


def checked_response(resource: Any, operation: str) -> Resource:
    """Return ``resource`` if it is a QuestionnaireResponse that parses as FHIR R4.

    Raises:
        DtrRequestError: another resource, or the defects that keep it from parsing (400).
    """
    if not isinstance(resource, dict) or resource.get("resourceType") != "QuestionnaireResponse":
        raise DtrRequestError(f"{operation} expects a QuestionnaireResponse")
    problems = structure_problems(resource)
    if problems:
        raise DtrRequestError(f"{operation}: the QuestionnaireResponse is not valid R4", problems)
    return resource


def _instant(value: Any, where: str, problems: list[str]) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None or "T" not in str(value):
        problems.append(f"{where}: needs a valueInstant with a time zone")
        return None
    return parsed


def _single(values: list[Any], name: str, problems: list[str], *, required: bool = False) -> Any:
    if len(values) > 1:
        problems.append(f"'{name}' may be given only once")
    if required and not values:
        problems.append(f"'{name}' is required")
    return values[0] if values else None


def _declared_version(body: dict[str, Any]) -> DtrVersion | None:
    for profile in (body.get("meta") or {}).get("profile") or []:
        if isinstance(profile, str) and "|" in profile:
            version = VERSIONS.get(profile.rsplit("|", 1)[1])
            if version is not None:
                return version
    return None


def parse_next_question(body: Any) -> Resource:
    """Return the QuestionnaireResponse of a ``$next-question`` call (bare or in Parameters).

    Raises:
        DtrRequestError: no well-formed QuestionnaireResponse was sent (HTTP 400, ``spec-147``).
    """
    if isinstance(body, dict) and body.get("resourceType") == "QuestionnaireResponse":
        return checked_response(body, "$next-question")
    parameters = _parameters(body, "$next-question")
    found = [p.get("resource") for p in parameters if p.get("name") == "questionnaire-response"]
    if len(found) != 1:
        raise DtrRequestError("$next-question needs exactly one 'questionnaire-response' parameter")
    return checked_response(found[0], "$next-question 'questionnaire-response'")


def parse_log_errors(body: Any) -> tuple[list[str], list[Resource]]:
    """Return the questionnaire canonicals and OperationOutcomes of a log call."""
    parameters = _parameters(body, "$log-questionnaire-errors")
    canonicals, outcomes, problems = [], [], []
    for index, param in enumerate(parameters):
        name = param.get("name")
        if name == "questionnaire" and isinstance(param.get("valueCanonical"), str):
            canonicals.append(param["valueCanonical"])
        elif name in ("operationOutcome", "outcome") and _is_outcome(param.get("resource")):
            outcomes.append(param["resource"])
        else:
            problems.append(f"parameter[{index}]: expected 'questionnaire' or 'operationOutcome'")
    if not outcomes:
        problems.append("at least one 'operationOutcome' is required")
    if problems:
        raise DtrRequestError("invalid $log-questionnaire-errors input", problems)
    return canonicals, outcomes


def _is_outcome(resource: Any) -> bool:
    return isinstance(resource, dict) and resource.get("resourceType") == "OperationOutcome"
