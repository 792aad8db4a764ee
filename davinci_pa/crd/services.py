"""The six CRD services this endpoint offers, loaded from ``services.json``.

Each service answers one hook, declares the CRD versions it speaks (``dev-1``, ``dev-2``),
its configuration options with defaults (``dev-4``, ``dev-5``) and the CRD 2.2 standard
prefetch (``found-29``), plus ``payors`` so a Coverage's payer can be recognised.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

from davinci_pa.errors import UnknownService

PRIMARY_HOOKS = frozenset({"order-sign", "order-dispatch", "appointment-book"})
"""Hooks that must carry a Coverage Information system action (CRD ``hook-16``)."""


@dataclass(frozen=True, slots=True)
class CrdService:
    """One CDS service: its discovery entry and what the responder needs from it."""

    id: str
    hook: str
    definition: Mapping[str, Any]

    @property
    def prefetch(self) -> Mapping[str, str]:
        """Prefetch templates in dependency order."""
        prefetch: Mapping[str, str] = self.definition.get("prefetch", {})
        return prefetch

    @property
    def option_defaults(self) -> dict[str, bool | int]:
        """Configuration option codes and their defaults."""
        options = self.definition.get("extension", {}).get("davinci-crd.configuration-options", [])
        return {o["code"]: o["default"] for o in options}

    @property
    def versions(self) -> tuple[str, ...]:
        """The CRD versions this service declares."""
        return tuple(self.definition.get("extension", {}).get("davinci-crd.version", ()))


class ServiceCatalog:
    """The services by id, in discovery order."""

    def __init__(self, services: Mapping[str, CrdService]) -> None:
        self._services = MappingProxyType(dict(services))

    @classmethod
    def default(cls) -> ServiceCatalog:
        """Load the shipped service definitions."""
        text = resources.files(__package__).joinpath("services.json").read_text("utf-8")
        entries = json.loads(text)["services"]
        return cls({e["id"]: CrdService(e["id"], e["hook"], e) for e in entries})

    def get(self, service_id: str) -> CrdService:
        """Return the service with this id.

        Raises:
            UnknownService: no such service (HTTP 404).
        """
        try:
            return self._services[service_id]
        except KeyError:
            raise UnknownService(f"no CDS service '{service_id[:80]}' here") from None

    def discovery(self) -> dict[str, Any]:
        """Return the discovery document (CDS Hooks §Discovery)."""
        return {"services": [dict(s.definition) for s in self._services.values()]}
