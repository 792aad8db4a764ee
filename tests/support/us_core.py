"""Resources shaped as each US Core version the Da Vinci guides name (3.1.1, 6.1.0, 7.0.0).

CRD 2.2 and PAS 2.2 servers must handle all three (CRD conf-2, PAS spec-1). The US Core
packages are not among the shared IG packages, so the shapes here are what differs between
the versions for the resources a request carries: the versioned profile canonical, the
profiles that exist only from 6.1.0 (Coverage, ServiceRequest, the problems-and-health-
concerns Condition) and the Patient extensions each version adds (birth sex in 3.1.1,
gender identity from 6.1.0, interpreter needed in 7.0.0).
"""

from __future__ import annotations

import copy
from typing import Any

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
VERSIONS = ("3.1.1", "6.1.0", "7.0.0")
_PROFILES = {
    "Patient": "us-core-patient",
    "Practitioner": "us-core-practitioner",
    "PractitionerRole": "us-core-practitionerrole",
    "Organization": "us-core-organization",
    "Location": "us-core-location",
    "Encounter": "us-core-encounter",
    "MedicationRequest": "us-core-medicationrequest",
    "DocumentReference": "us-core-documentreference",
    "Condition": "us-core-condition",
}
_FROM_6 = {
    "Coverage": "us-core-coverage",
    "ServiceRequest": "us-core-servicerequest",
    "Condition": "us-core-condition-problems-health-concerns",
}
_PATIENT_EXTENSIONS = {
    "3.1.1": {"url": US_CORE + "us-core-birthsex", "valueCode": "F"},
    "6.1.0": {
        "url": US_CORE + "us-core-genderIdentity",
        "valueCodeableConcept": {
            "coding": [{"system": "http://snomed.info/sct", "code": "446141000124107"}]
        },
    },
    "7.0.0": {
        "url": US_CORE + "us-core-interpreter-needed",
        "valueCoding": {"system": "http://terminology.hl7.org/CodeSystem/v2-0136", "code": "N"},
    },
}


def profile_of(resource_type: str, version: str) -> str | None:
    """The versioned US Core canonical for a resource type, if that version profiles it."""
    name = _FROM_6.get(resource_type) if version != "3.1.1" else None
    name = name or _PROFILES.get(resource_type)
    return f"{US_CORE}{name}|{version}" if name else None


def as_us_core(resource: dict[str, Any], version: str) -> dict[str, Any]:
    """A copy declaring the US Core ``version`` profile of its type (added to its own) and,
    for a Patient, carrying that version's extension (unless it has one already)."""
    copied = copy.deepcopy(resource)
    profile = profile_of(str(copied.get("resourceType")), version)
    if profile is not None:
        meta = copied.setdefault("meta", {})
        meta["profile"] = [*meta.get("profile", []), profile]
    extension = _PATIENT_EXTENSIONS[version]
    if copied.get("resourceType") == "Patient":
        present = {e.get("url") for e in copied.get("extension", [])}
        if extension["url"] not in present:
            copied.setdefault("extension", []).append(copy.deepcopy(extension))
    return copied


def deep_as_us_core(value: Any, version: str) -> Any:
    """Every resource inside a JSON value (Bundles, prefetch, Parameters) as :func:`as_us_core`."""
    if isinstance(value, list):
        return [deep_as_us_core(v, version) for v in value]
    if not isinstance(value, dict):
        return value
    changed = {k: deep_as_us_core(v, version) for k, v in value.items()}
    if "resourceType" in value and value["resourceType"] not in {"Bundle", "Parameters"}:
        return as_us_core(changed, version)
    return changed
