"""Validation issues and their rendering as a FHIR OperationOutcome.

An :class:`Issue` names one problem found in an instance: severity, a FHIRPath-like location
(``Bundle.entry[2].resource.item[0].productOrService``), a message and the profile that
raised it. :func:`issues_to_operation_outcome` renders a list of them as an R4
OperationOutcome (FHIR R4 §OperationOutcome, ``issue.expression`` carries the location).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from davinci_pa.errors import RequestError

Severity = Literal["error", "warning", "information"]

_ORDER: dict[str, int] = {"error": 0, "warning": 1, "information": 2}


@dataclass(frozen=True, slots=True)
class Issue:
    """One validation finding.

    Attributes:
        severity: ``error`` (non-conformant), ``warning`` or ``information``.
        path: FHIRPath-like location; choice elements keep their JSON name (``valueCode``).
        message: Human-readable description.
        profile: Canonical URL of the profile whose rule failed, ``None`` for base R4 rules.
        code: OperationOutcome ``issue.code`` (``structure``, ``required``, ``value``,
            ``code-invalid``, ``invariant``, ``extension``, ``invalid``...).
    """

    severity: Severity
    path: str
    message: str
    profile: str | None = None
    code: str = "invalid"

    def __str__(self) -> str:
        return f"{self.severity}: {self.path}: {self.message}"


def errors_only(issues: Iterable[Issue]) -> list[Issue]:
    """Return the issues of severity ``error``."""
    return [issue for issue in issues if issue.severity == "error"]


def sort_issues(issues: Iterable[Issue]) -> list[Issue]:
    """Sort by severity (errors first), then by path, keeping one copy of duplicates."""
    unique = dict.fromkeys(issues)
    return sorted(unique, key=lambda i: (_ORDER[i.severity], i.path, i.message))


def issues_to_operation_outcome(issues: Sequence[Issue]) -> dict[str, Any]:
    """Render issues as a FHIR R4 OperationOutcome (one ``issue`` per finding).

    An empty list gives the single informational issue R4 requires (``issue`` is 1..*).
    """
    if not issues:
        ok = {"severity": "information", "code": "informational", "diagnostics": "No issues"}
        return {"resourceType": "OperationOutcome", "issue": [ok]}
    return {"resourceType": "OperationOutcome", "issue": [_render(i) for i in issues]}


def _render(issue: Issue) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        "severity": issue.severity,
        "code": issue.code,
        "diagnostics": issue.message,
        "expression": [issue.path],
    }
    if issue.profile:
        rendered["details"] = {"text": f"Profile {issue.profile}"}
    return rendered


class InvalidResource(RequestError):
    """A FHIR resource sent to us does not conform to its profile: one issue per problem."""

    code = "invalid-resource"
    issue_type = "invalid"

    def __init__(self, message: str, issues: Sequence[Issue]) -> None:
        super().__init__(message, details={"problems": [str(i) for i in issues]})
        self.issues = list(issues)

    def to_operation_outcome(self) -> dict[str, Any]:
        """Render every issue, with its ``expression``, as one OperationOutcome."""
        return issues_to_operation_outcome(self.issues)


def raise_for_errors(issues: Sequence[Issue], what: str = "resource") -> None:
    """Raise :class:`InvalidResource` when any issue is an error."""
    errors = errors_only(issues)
    if errors:
        raise InvalidResource(f"The {what} is not valid: {len(errors)} error(s)", issues)
