"""Base FHIR R4 structural validation with the ``fhir.resources.R4B`` models.

The R4B models have the same elements, cardinalities and required flags as R4 4.0.1 for the
Da Vinci resource types (see the project's dependency notes); parsing a resource with them
catches unknown elements, wrong JSON shapes, missing required elements and malformed
primitives everywhere, including inside datatypes that profile snapshots do not expand.
Pydantic's error locations become FHIRPath-like paths (``Bundle.entry[2].resource.item[0]``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from davinci_pa.fhir.validation.issues import Issue

_MESSAGES = {
    "extra_forbidden": "unknown element",
    "missing": "required element is missing",
}


def known_resource_type(name: str) -> bool:
    """True when ``name`` is an R4 resource type known to fhir.resources."""
    try:
        get_fhir_model_class(name)
    except (KeyError, ValueError, AttributeError):
        return False
    return name[:1].isupper()


def validate_structure(resource: dict[str, Any], path: str | None = None) -> list[Issue]:
    """Return the structural issues of a resource (empty when it parses as R4)."""
    rtype = resource.get("resourceType")
    root = path or str(rtype)
    unknown = list(_unknown_types(resource, root))
    if unknown:
        return unknown
    model = get_fhir_model_class(str(rtype))
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        return [_issue(error, root) for error in exc.errors()]
    return []


def _unknown_types(value: Any, path: str) -> Iterator[Issue]:
    """Yield issues for nested ``resourceType`` values fhir.resources cannot parse."""
    if isinstance(value, dict):
        rtype = value.get("resourceType")
        named = "resourceType" in value
        if named and not (isinstance(rtype, str) and known_resource_type(rtype)):
            yield Issue("error", path, f"unknown resource type {rtype!r}", None, "structure")
            return
        for key, child in value.items():
            if isinstance(child, dict | list):
                yield from _unknown_types(child, f"{path}.{key}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _unknown_types(child, f"{path}[{index}]")


def _issue(error: Any, root: str) -> Issue:
    path = root
    for part in error.get("loc", ()):
        if isinstance(part, int):
            path += f"[{part}]"
        elif not str(part).startswith("function-"):
            path += f".{part}"
    kind = error.get("type", "")
    message = _MESSAGES.get(kind) or str(error.get("msg", "invalid"))
    code = "required" if kind == "missing" else "structure"
    return Issue("error", path, message, None, code)
