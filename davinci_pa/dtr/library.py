"""FHIR Library resources built from a CQL source and its committed ELM.

DTR 2.2 ``spec-95``/``spec-99``/``oper-13``: every Library carries both ``text/cql`` and
``application/elm+json`` in ``content.data``; ``oper-12``: its dependencies (included
libraries, value sets) are listed as version-specific ``depends-on`` related artifacts.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from typing import Any

from davinci_pa.errors import ConfigurationError
from davinci_pa.types import Resource

LIBRARY_TYPE = "http://terminology.hl7.org/CodeSystem/library-type"

VersionOf = Callable[[str], str | None]
"""Returns the version of a value set canonical we hold (None when unknown)."""


def library_resource(
    cql: str, elm: Mapping[str, Any], *, base: str, valueset_version: VersionOf
) -> Resource:
    """Return the Library resource for one compiled CQL library."""
    library = elm.get("library")
    if not isinstance(library, Mapping):
        raise ConfigurationError("ELM document has no 'library'")
    ident = library.get("identifier") or {}
    name = ident.get("id")
    if not isinstance(name, str):
        raise ConfigurationError("ELM library has no identifier id")
    version = ident.get("version")
    resource: Resource = {
        "resourceType": "Library",
        "id": name,
        "url": f"{base}/Library/{name}",
        **({"version": version} if version else {}),
        "name": name,
        "title": name,
        "status": "active",
        "type": {"coding": [{"system": LIBRARY_TYPE, "code": "logic-library"}]},
        "relatedArtifact": _dependencies(library, base, valueset_version),
        "content": [
            {"contentType": "text/cql", "data": _b64(cql)},
            {"contentType": "application/elm+json", "data": _b64(json.dumps(elm))},
        ],
    }
    if not resource["relatedArtifact"]:
        del resource["relatedArtifact"]
    return resource


def _dependencies(
    library: Mapping[str, Any], base: str, valueset_version: VersionOf
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for include in (library.get("includes") or {}).get("def", []):
        path, version = include.get("path"), include.get("version")
        if path and path != "System":
            canonical = f"{base}/Library/{path}" + (f"|{version}" if version else "")
            found.append({"type": "depends-on", "resource": canonical})
    for valueset in (library.get("valueSets") or {}).get("def", []):
        url = valueset.get("id")
        if isinstance(url, str):
            version = valueset.get("version") or valueset_version(url)
            found.append(
                {"type": "depends-on", "resource": url + (f"|{version}" if version else "")}
            )
    return found


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")
