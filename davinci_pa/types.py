"""Public type aliases used across the library.

Inside the library FHIR is plain JSON: a resource is a ``dict`` straight from ``json.loads``.
"""

from __future__ import annotations

from typing import Any, TypeAlias

Json: TypeAlias = Any
"""Any value ``json.loads`` can return."""

JsonObject: TypeAlias = dict[str, Any]
"""A JSON object."""

Resource: TypeAlias = dict[str, Any]
"""A FHIR R4 resource as parsed JSON (has ``resourceType``)."""

Reference: TypeAlias = str
"""A FHIR reference string such as ``"Patient/123"`` or an absolute URL."""

Canonical: TypeAlias = str
"""A canonical URL, optionally with ``|version``."""
