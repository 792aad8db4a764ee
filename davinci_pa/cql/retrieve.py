"""Patient data for ELM ``Retrieve``: the DataProvider protocol and a Bundle implementation.

ELM §Retrieve: a retrieve names a FHIR type and optionally a code filter and a date range. The
engine applies code and date filters itself, so a provider only has to return resources of a
type (it may pre-filter by codes when it can, e.g. a FHIR server search).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from davinci_pa.types import Resource


class DataProvider(Protocol):
    """Source of patient resources for Retrieve."""

    def resources(self, resource_type: str) -> Iterable[Resource]:
        """Return every resource of the given FHIR type in the patient's record."""
        ...


PATIENT_REFERENCES = ("subject", "patient", "beneficiary")
"""Elements that place a resource in a patient's compartment (FHIR R4 CompartmentDefinition)."""


class BundleDataProvider:
    """Resources from a FHIR Bundle (or a list of resources), indexed by type once.

    With ``patient_id``, only that Patient and resources whose subject/patient/beneficiary
    reference it (or that reference no patient at all, e.g. Practitioner) are served.
    """

    def __init__(
        self,
        bundle: dict[str, Any] | Iterable[Resource] | None = None,
        *,
        patient_id: str | None = None,
    ) -> None:
        self._by_type: dict[str, list[Resource]] = {}
        self.patient_id = patient_id
        for resource in _entries(bundle):
            self.add(resource)

    def add(self, resource: Resource) -> None:
        """Add one resource (nested Bundles are unpacked; other patients' data is dropped)."""
        rt = resource.get("resourceType")
        if rt == "Bundle":
            for inner in _entries(resource):
                self.add(inner)
        elif isinstance(rt, str) and self._in_compartment(rt, resource):
            self._by_type.setdefault(rt, []).append(resource)

    def _in_compartment(self, resource_type: str, resource: Resource) -> bool:
        if self.patient_id is None:
            return True
        if resource_type == "Patient":
            return resource.get("id") == self.patient_id
        for element in PATIENT_REFERENCES:
            ref = resource.get(element)
            if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
                target: str = ref["reference"]
                return target == f"Patient/{self.patient_id}" or target.endswith(
                    f"/Patient/{self.patient_id}"
                )
        return True

    def resources(self, resource_type: str) -> list[Resource]:
        """Return the resources of a type, in Bundle order."""
        return self._by_type.get(resource_type, [])


def _entries(bundle: dict[str, Any] | Iterable[Resource] | None) -> Iterable[Resource]:
    if bundle is None:
        return []
    if isinstance(bundle, dict):
        if bundle.get("resourceType") != "Bundle":
            return [bundle]
        entries = bundle.get("entry") or []
        return [e["resource"] for e in entries if isinstance(e, dict) and "resource" in e]
    return list(bundle)
