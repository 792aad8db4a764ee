"""The six CRD services this endpoint offers, loaded from ``services.json``.

Each service answers one hook, declares the CRD versions it speaks (``dev-1``, ``dev-2``),
its configuration options with defaults (``dev-4``, ``dev-5``) and the CRD 2.2 standard
prefetch (``found-29``), plus ``payors`` so a Coverage's payer can be recognised.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from importlib import resources
from types import MappingProxyType

from davinci_pa.cdshooks.discovery import ServiceDefinition, discovery_document
from davinci_pa.errors import UnknownService
from davinci_pa.types import JsonObject

PRIMARY_HOOKS = frozenset({"order-sign", "order-dispatch", "appointment-book"})
"""Hooks that must carry a Coverage Information system action (CRD ``hook-16``)."""
ADDITIONAL_ORDER_HOOKS = frozenset({"order-select", "order-sign"})
"""Hooks that may get Identify Additional Orders cards (orders still being written)."""


class ServiceCatalog:
    """The services by id, in discovery order."""

    def __init__(self, services: Mapping[str, ServiceDefinition]) -> None:
        self._services = MappingProxyType(dict(services))

    @classmethod
    def default(cls) -> ServiceCatalog:
        """Load the shipped service definitions."""
        text = resources.files(__package__).joinpath("services.json").read_text("utf-8")
        entries = json.loads(text)["services"]
        return cls({e["id"]: ServiceDefinition.from_json(e) for e in entries})

    def get(self, service_id: str) -> ServiceDefinition:
        """Return the service with this id.

        Raises:
            UnknownService: no such service (HTTP 404).
        """
        try:
            return self._services[service_id]
        except KeyError:
            raise UnknownService(f"no CDS service '{service_id[:80]}' here") from None

    def __iter__(self) -> Iterator[ServiceDefinition]:
        """The services in discovery order."""
        return iter(self._services.values())

    def discovery(self) -> JsonObject:
        """Return the discovery document (CDS Hooks §Discovery)."""
        return discovery_document(self._services.values())
