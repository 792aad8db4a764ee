"""Terminology for ValueSet membership: a provider Protocol and local ValueSet resources.

CQL §Terminology operators (InValueSet, AnyInValueSet, ExpandValueSet). Local value sets are
read from FHIR ValueSet JSON: the ``expansion.contains`` codes if present, else the codes
enumerated in ``compose.include.concept`` (filters need a terminology server).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from davinci_pa.cql.values.clinical import Code
from davinci_pa.errors import ConfigurationError


class TerminologyProvider(Protocol):
    """Resolves a value set to its codes (membership is computed by the engine)."""

    def expand(self, url: str, version: str | None = None) -> list[Code] | None:
        """Return the value set's codes, or None when the value set is unknown."""
        ...


class LocalTerminology:
    """Value sets held in memory, keyed by canonical URL (and ``url|version``)."""

    def __init__(self, valuesets: Iterable[dict[str, Any]] = ()) -> None:
        self._codes: dict[str, list[Code]] = {}
        for vs in valuesets:
            self.add(vs)

    @classmethod
    def from_directory(cls, directory: Path) -> LocalTerminology:
        """Load every ValueSet (or Bundle of ValueSets) in ``*.json`` files of a folder."""
        terminology = cls()
        for path in sorted(Path(directory).glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ConfigurationError(f"cannot read value set file {path.name}: {exc}") from exc
            for resource in _resources(data):
                if resource.get("resourceType") == "ValueSet":
                    terminology.add(resource)
        return terminology

    def add(self, valueset: dict[str, Any]) -> None:
        """Register a ValueSet resource under its url (and id, and url|version)."""
        codes = _expansion(valueset) or _compose(valueset)
        for key in _keys(valueset):
            self._codes[key] = codes

    def expand(self, url: str, version: str | None = None) -> list[Code] | None:
        """Return the codes of a value set, or None when it is unknown."""
        if version is not None and f"{url}|{version}" in self._codes:
            return self._codes[f"{url}|{version}"]
        return self._codes.get(url)


def _resources(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, dict) and data.get("resourceType") == "Bundle":
        return [e["resource"] for e in data.get("entry", []) if "resource" in e]
    return [data] if isinstance(data, dict) else []


def _keys(valueset: dict[str, Any]) -> list[str]:
    keys = []
    url = valueset.get("url")
    if isinstance(url, str):
        keys.append(url)
        if valueset.get("version"):
            keys.append(f"{url}|{valueset['version']}")
    if isinstance(valueset.get("id"), str):
        keys.append(valueset["id"])
    return keys


def _expansion(valueset: dict[str, Any]) -> list[Code]:
    out: list[Code] = []
    stack = list(valueset.get("expansion", {}).get("contains", []))
    while stack:
        item = stack.pop(0)
        if item.get("code"):
            out.append(
                Code(item["code"], item.get("system"), item.get("version"), item.get("display"))
            )
        stack.extend(item.get("contains", []))
    return out


def _compose(valueset: dict[str, Any]) -> list[Code]:
    out: list[Code] = []
    for include in valueset.get("compose", {}).get("include", []):
        system = include.get("system")
        for concept in include.get("concept", []):
            out.append(
                Code(concept.get("code"), system, include.get("version"), concept.get("display"))
            )
    return out
