"""An index of FHIR resources for resolving references (FHIR R4 §2.3.0.3 Resolving references).

Collects resources (descending into Bundles) and resolves the reference forms found in hook
requests: relative ``Type/id`` (with or without ``/_history/n``), absolute URLs (by exact
``fullUrl``, under the FHIR server base, or by their ``Type/id`` tail), ``urn:uuid:``/
``urn:oid:`` full URLs and contained ``#id`` references within a container resource.
The first resource added under a key wins, so callers add the freshest data first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from davinci_pa.types import Resource

_TYPE_ID_TAIL = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?/?$")
_MAX_BUNDLE_DEPTH = 4


def reference_key(reference: str) -> str | None:
    """Return ``Type/id`` for a relative or absolute RESTful reference, else None."""
    if not reference or reference.startswith(("#", "urn:")):
        return None
    match = _TYPE_ID_TAIL.search(reference.split("?", 1)[0])
    return f"{match.group(1)}/{match.group(2)}" if match else None


class ResourceIndex:
    """Resources by ``Type/id`` and by ``fullUrl``.

    Args:
        base_url: the FHIR server base absolute references are relative to.
        match_foreign_bases: also resolve absolute URLs on other bases by their
            ``Type/id`` tail (EHRs often mix bases within one hook request).
    """

    def __init__(self, *, base_url: str | None = None, match_foreign_bases: bool = True) -> None:
        self._base = base_url.rstrip("/") + "/" if base_url else None
        self._foreign = match_foreign_bases
        self._by_key: dict[str, Resource] = {}
        self._by_url: dict[str, Resource] = {}

    def add(self, resource: Any, *, full_url: str | None = None) -> None:
        """Index ``resource``; a Bundle's entries are indexed too (the Bundle itself as well)."""
        self._add(resource, full_url, 0)

    def _add(self, resource: Any, full_url: str | None, depth: int) -> None:
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            return
        rid = resource.get("id")
        if isinstance(rid, str) and rid:
            self._by_key.setdefault(f"{resource['resourceType']}/{rid}", resource)
        if full_url:
            self._by_url.setdefault(full_url, resource)
        if resource["resourceType"] == "Bundle" and depth < _MAX_BUNDLE_DEPTH:
            for entry in resource.get("entry") or []:
                if isinstance(entry, Mapping):
                    url = entry.get("fullUrl")
                    self._add(
                        entry.get("resource"), url if isinstance(url, str) else None, depth + 1
                    )

    def add_all(self, resources: Iterable[Any]) -> None:
        """Index several resources (``None`` values are skipped)."""
        for resource in resources:
            self.add(resource)

    def __len__(self) -> int:
        return len(self._by_key)

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def __iter__(self) -> Iterator[Resource]:
        return iter(self._by_key.values())

    def get(self, resource_type: str, resource_id: str) -> Resource | None:
        """Return the resource with this type and id."""
        return self._by_key.get(f"{resource_type}/{resource_id}")

    def resolve(self, reference: Any, *, container: Resource | None = None) -> Resource | None:
        """Resolve a reference string or Reference element; None when unknown.

        ``#id`` resolves among ``container.contained`` (``#`` alone is the container).
        """
        text = reference.get("reference") if isinstance(reference, Mapping) else reference
        if not isinstance(text, str) or not text:
            return None
        if text.startswith("#"):
            return _contained(container, text[1:])
        if text in self._by_url:
            return self._by_url[text]
        if text.startswith("urn:"):
            return None
        if "://" in text:
            return self._resolve_absolute(text)
        key = reference_key(text)
        return self._by_key.get(key) if key else None

    def _resolve_absolute(self, url: str) -> Resource | None:
        if self._base and url.startswith(self._base):
            key = reference_key(url[len(self._base) :])
            return self._by_key.get(key) if key else None
        if not self._foreign:
            return None
        key = reference_key(url)
        return self._by_key.get(key) if key else None


def _contained(container: Resource | None, local_id: str) -> Resource | None:
    if container is None:
        return None
    if not local_id:
        return container
    for item in container.get("contained") or []:
        if isinstance(item, dict) and item.get("id") == local_id:
            return item
    return None
