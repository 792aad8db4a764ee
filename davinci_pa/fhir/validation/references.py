"""Reference resolution inside a Bundle and reference target types (FHIR R4 §2.3.0, §2.36).

A :class:`ReferenceIndex` maps each Bundle entry's ``fullUrl`` (and ``Type/id``) to its
resource so that ``urn:uuid:`` and relative references resolve; ``#id`` resolves in the
containing resource's ``contained``. ``target_types`` turns ``targetProfile`` canonicals into
resource type names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from davinci_pa.fhir.references import parse_reference

_CORE = "http://hl7.org/fhir/StructureDefinition/"
_US_CORE = re.compile(r"/us-core-([a-z]+)$")
_ABSTRACT = frozenset({"Resource", "DomainResource"})


class _Typed(Protocol):
    type: str


class ReferenceIndex:
    """Resolves references against the entries of a Bundle (empty without one)."""

    def __init__(self, bundle: dict[str, Any] | None = None) -> None:
        self._by_url: dict[str, dict[str, Any]] = {}
        for entry in (bundle or {}).get("entry", []) or []:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict):
                continue
            if isinstance(entry.get("fullUrl"), str):
                self._by_url[entry["fullUrl"]] = resource
            rtype, rid = resource.get("resourceType"), resource.get("id")
            if isinstance(rtype, str) and isinstance(rid, str):
                self._by_url.setdefault(f"{rtype}/{rid}", resource)

    def resolve(self, reference: Any) -> dict[str, Any] | None:
        """Return the Bundle resource a Reference (or reference string) points to."""
        text = reference.get("reference") if isinstance(reference, dict) else reference
        if not isinstance(text, str):
            return None
        found = self._by_url.get(text)
        if found is None:
            key = parse_reference(text)
            found = self._by_url.get(str(key)) if key else None
        return found

    def type_of(self, reference: dict[str, Any], container: dict[str, Any] | None) -> str | None:
        """Return the resource type a Reference points to, when it can be told."""
        if isinstance(reference.get("type"), str):
            return str(reference["type"])
        text = reference.get("reference")
        if not isinstance(text, str):
            return None
        if text.startswith("#"):
            return _contained_type(container, text[1:])
        target = self.resolve(text)
        if target is not None:
            return str(target.get("resourceType"))
        key = parse_reference(text)
        return key.resource_type if key else None


def _contained_type(container: dict[str, Any] | None, rid: str) -> str | None:
    for resource in (container or {}).get("contained", []) or []:
        if isinstance(resource, dict) and resource.get("id") == rid:
            return str(resource.get("resourceType"))
    return None


def target_types(
    canonicals: Sequence[str], find: Callable[[str], _Typed | None]
) -> set[str] | None:
    """Return the resource types the target profiles allow (``None``: any or unknown)."""
    if not canonicals:
        return None
    types: set[str] = set()
    for canonical in canonicals:
        found = _type_of_profile(canonical.partition("|")[0], find)
        if found is None or found in _ABSTRACT:
            return None
        types.add(found)
    return types


def _type_of_profile(url: str, find: Callable[[str], _Typed | None]) -> str | None:
    if url.startswith(_CORE):
        return url[len(_CORE) :]
    profile = find(url)
    if profile is not None:
        return profile.type
    match = _US_CORE.search(url)
    return _US_CORE_TYPES.get(match.group(1)) if match else None


_US_CORE_TYPES = {
    name.lower(): name
    for name in (
        "Patient", "Practitioner", "PractitionerRole", "Organization", "Location", "Encounter",
        "Condition", "Procedure", "Coverage", "Medication", "MedicationRequest",
        "ServiceRequest", "DocumentReference", "DiagnosticReport", "Immunization",
        "AllergyIntolerance", "CarePlan", "CareTeam", "Goal", "Device", "Provenance",
        "RelatedPerson", "Specimen", "QuestionnaireResponse", "Observation",
    )
}  # fmt: skip
"""US Core profiles named ``us-core-<type>`` (others, like observation-lab, stay unknown)."""
