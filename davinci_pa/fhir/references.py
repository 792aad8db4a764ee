"""Parse FHIR references and canonicals (FHIR R4 §2.3.0 References)."""

from __future__ import annotations

from dataclasses import dataclass

from davinci_pa.types import Resource


@dataclass(frozen=True, slots=True)
class ResourceKey:
    """A resource identity: type and logical id."""

    resource_type: str
    id: str

    def __str__(self) -> str:
        return f"{self.resource_type}/{self.id}"


def parse_reference(reference: str) -> ResourceKey | None:
    """Return the type and id of a relative or absolute RESTful reference, else ``None``.

    ``Patient/1``, ``https://ehr/fhir/Patient/1`` and ``Patient/1/_history/2`` all give
    ``Patient/1``; ``#contained``, ``urn:uuid:...`` and malformed strings give ``None``.
    """
    if not reference or reference.startswith(("#", "urn:")):
        return None
    parts = reference.split("?")[0].rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) < 2 or not parts[-2][:1].isupper() or not parts[-1]:
        return None
    return ResourceKey(parts[-2], parts[-1])


def key_of(resource: Resource) -> ResourceKey | None:
    """Return the identity of a resource that has both ``resourceType`` and ``id``."""
    rtype, rid = resource.get("resourceType"), resource.get("id")
    if isinstance(rtype, str) and isinstance(rid, str) and rtype and rid:
        return ResourceKey(rtype, rid)
    return None


def split_canonical(canonical: str) -> tuple[str, str | None]:
    """Split ``url|version`` into its URL and optional version."""
    url, _, version = canonical.partition("|")
    return url, version or None
