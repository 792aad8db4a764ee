"""Must-support elements missing from an instance (FHIR R4 §5.1.0.11 mustSupport).

Missing must-support data is not a validation error, but a sender that has the data must
send it (PAS response checks, Inferno must-support tests). This walks the instance along the
profile and lists, for every present parent, the must-support children and slices it lacks.
"""

from __future__ import annotations

from typing import Any

from davinci_pa.fhir.validation.instance import collect
from davinci_pa.fhir.validation.profile import CompiledProfile, ElementRule
from davinci_pa.fhir.validation.slicing import SliceContext, assign


def missing_must_support(resource: dict[str, Any], profile: CompiledProfile) -> list[str]:
    """Return paths (``Claim.item[0].productOrService``) of absent must-support elements."""
    missing: list[str] = []
    _walk(resource, profile.root, str(resource.get("resourceType", profile.type)), missing)
    return missing


def _walk(obj: dict[str, Any], rule: ElementRule, path: str, missing: list[str]) -> None:
    for child in rule.element_children().values():
        items = collect(obj, child, path)
        if child.must_support and not items:
            missing.append(f"{path}.{child.base_name}")
        if child.slices:
            assigned = assign(items, child, SliceContext())
            for slice_rule in child.slices:
                if slice_rule.must_support and slice_rule not in assigned:
                    missing.append(f"{path}.{child.base_name}:{slice_rule.slice_name}")
        for item in items:
            if isinstance(item.value, dict) and "resourceType" not in item.value:
                _walk(item.value, child, item.path, missing)
