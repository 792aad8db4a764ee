"""FHIR R4 validation against the Da Vinci IG profiles (CRD, DTR, PAS).

::

    v = Validator.from_packages([Path("davinci-crd-2.0.1.tgz")])
    issues = v.validate(resource, profile=CRD_DEVICEREQUEST)
    outcome = issues_to_operation_outcome(issues)

See ``validator.py`` for what is checked and ``docs``/the module docstrings for the limits.
"""

from __future__ import annotations

from davinci_pa.fhir.validation.issues import (
    InvalidResource,
    Issue,
    Severity,
    errors_only,
    issues_to_operation_outcome,
    raise_for_errors,
)
from davinci_pa.fhir.validation.package import ConformanceIndex, IgPackage
from davinci_pa.fhir.validation.validator import Validator

__all__ = [
    "ConformanceIndex",
    "IgPackage",
    "InvalidResource",
    "Issue",
    "Severity",
    "Validator",
    "errors_only",
    "issues_to_operation_outcome",
    "raise_for_errors",
]
