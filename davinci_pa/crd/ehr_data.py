"""The patient's record as CQL rules see it: what the EHR sent, then queries for the rest.

CRD ``found-5``: a server SHOULD query data it needs that was not prefetched, and
``found-27``/``found-28``: prefetch carries what is always needed, other data is queried when
a rule needs it. Each resource type is fetched at most once per hook call
(``Type?patient=<id>``), only from an allowed FHIR server with the hook's access token; a
failed query leaves that type empty, so rules see missing data, never a failure.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from davinci_pa.cql import BundleDataProvider
from davinci_pa.errors import FhirError
from davinci_pa.fhir.client import FhirClient
from davinci_pa.types import Resource

log = logging.getLogger(__name__)

NOT_PATIENT_DATA = frozenset(
    {"Patient", "Practitioner", "PractitionerRole", "Organization", "Location", "Medication"}
)
"""Types that are not searched by patient (they come from prefetch or references)."""


class EhrPatientData:
    """A CQL DataProvider over the hook's resources, topped up from the EHR on demand."""

    def __init__(
        self,
        records: Sequence[Resource],
        *,
        patient_id: str | None,
        client: FhirClient | None = None,
    ) -> None:
        self._local = BundleDataProvider(list(records), patient_id=patient_id)
        self._patient_id = patient_id
        self._client = client
        self._fetched: set[str] = set()

    def resources(self, resource_type: str) -> Iterable[Resource]:
        """Return the patient's resources of a type, querying the EHR the first time."""
        if resource_type not in self._fetched:
            self._fetched.add(resource_type)
            for resource in self._query(resource_type):
                self._local.add(resource)
        return self._local.resources(resource_type)

    def _query(self, resource_type: str) -> list[Resource]:
        if self._client is None or not self._patient_id or resource_type in NOT_PATIENT_DATA:
            return []
        try:
            bundle = self._client.search(resource_type, {"patient": self._patient_id})
        except FhirError as error:
            log.warning("EHR query for %s failed: %s", resource_type, error.code)
            return []
        known = {(r.get("resourceType"), r.get("id")) for r in self._local.resources(resource_type)}
        found = [
            entry["resource"]
            for entry in bundle.get("entry") or ()
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict)
        ]
        return [r for r in found if (r.get("resourceType"), r.get("id")) not in known]
