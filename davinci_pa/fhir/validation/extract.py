"""Write the conformance resources a set of profiles needs into a folder.

The library must not read ``../shared`` at run time. A build step (or an operator) runs
:func:`write_subset` once over the IG packages to put the closure of the wanted profiles —
their typed profiles (extensions, datatype and nested-resource profiles), bound ValueSets,
nested ValueSets and local CodeSystems — into a folder; ``Validator.from_packages([folder])``
then loads it like a package.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from davinci_pa.errors import ConfigurationError
from davinci_pa.fhir.validation.package import ConformanceIndex


def closure(index: ConformanceIndex, profiles: Iterable[str]) -> list[dict[str, Any]]:
    """Return the profiles and every conformance resource they depend on."""
    found: dict[int, dict[str, Any]] = {}
    pending = [(p, "StructureDefinition") for p in profiles]
    while pending:
        canonical, kind = pending.pop()
        resource = index.find(canonical, kind)
        if resource is None:
            if kind == "StructureDefinition" and not found:
                raise ConfigurationError(f"Profile {canonical} is not in the packages")
            continue
        if id(resource) in found:
            continue
        found[id(resource)] = resource
        pending.extend(_dependencies(resource))
    return list(found.values())


def _dependencies(resource: dict[str, Any]) -> list[tuple[str, str]]:
    kind = resource.get("resourceType")
    if kind == "ValueSet":
        includes = (resource.get("compose") or {}).get("include", [])
        return [(v, "ValueSet") for i in includes for v in i.get("valueSet", [])] + [
            (i["system"], "CodeSystem") for i in includes if i.get("system")
        ]
    if kind != "StructureDefinition":
        return []
    needed: list[tuple[str, str]] = []
    for element in (resource.get("snapshot") or {}).get("element", []):
        for type_ref in element.get("type", []):
            needed.extend((p, "StructureDefinition") for p in type_ref.get("profile", []))
        binding = element.get("binding") or {}
        if binding.get("valueSet") and binding.get("strength") in ("required", "extensible"):
            needed.append((binding["valueSet"], "ValueSet"))
    return needed


def write_subset(index: ConformanceIndex, profiles: Iterable[str], folder: Path) -> list[Path]:
    """Write the closure of ``profiles`` as ``<Type>-<id>.json`` files; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for resource in closure(index, profiles):
        name = f"{resource['resourceType']}-{resource.get('id', len(written))}"
        package = index.package_of(resource)
        version = package.version if package else resource.get("version", "")
        path = folder / f"{name}-{version}.json"
        path.write_text(json.dumps(resource, ensure_ascii=False), encoding="utf-8")
        written.append(path)
    return written
