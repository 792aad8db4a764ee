"""Bring ValueSets into a rule pack for offline use (``davinci-pa valuesets import``).

Input: ValueSet JSON files, Bundles of them (a VSAC or IG package export), or folders of
either. A ValueSet with an ``expansion`` is kept as it is; one whose compose only enumerates
concepts gets an expansion built from them; one that needs a terminology server (filters,
included value sets, whole code systems) is refused with the reason. Nothing needs a
terminology server at run time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class ImportReport:
    """What an import wrote and what it refused (file: reason)."""

    written: list[Path] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def import_valuesets(sources: list[Path], pack: Path) -> ImportReport:
    """Write every usable ValueSet under ``sources`` into ``pack/valuesets/``."""
    report = ImportReport()
    target = pack / "valuesets"
    for where, valueset in _valuesets(sources, report):
        reason = _expand(valueset)
        if reason is not None:
            report.refused.append(f"{where}: ValueSet {valueset.get('url')}: {reason}")
            continue
        target.mkdir(parents=True, exist_ok=True)
        path = target / f"{_slug(valueset)}.json"
        path.write_text(json.dumps(valueset, indent=2, ensure_ascii=False) + "\n", "utf-8")
        report.written.append(path)
    return report


def _valuesets(sources: list[Path], report: ImportReport) -> Iterator[tuple[str, dict[str, Any]]]:
    for source in sources:
        files = sorted(source.rglob("*.json")) if source.is_dir() else [source]
        for file in files:
            try:
                data = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                report.refused.append(f"{file}: cannot read JSON ({exc})")
                continue
            resources = [data]
            if isinstance(data, dict) and data.get("resourceType") == "Bundle":
                resources = [e.get("resource") for e in data.get("entry") or []]
            for resource in resources:
                if isinstance(resource, dict) and resource.get("resourceType") == "ValueSet":
                    if isinstance(resource.get("url"), str):
                        yield str(file), resource
                    else:
                        report.refused.append(f"{file}: a ValueSet without 'url'")


def _expand(valueset: dict[str, Any]) -> str | None:
    """Give an enumerated compose its expansion; return why it cannot be used offline."""
    if (valueset.get("expansion") or {}).get("contains"):
        return None
    if not (valueset.get("compose") or {}).get("include"):
        return "has neither an expansion nor a compose"
    contains = enumerated_codes(valueset)
    if contains is None:
        return "its compose needs a terminology server (filters, value sets or a whole system)"
    valueset["expansion"] = {"timestamp": "1970-01-01T00:00:00Z", "total": len(contains)}
    valueset["expansion"]["contains"] = contains
    return None


def enumerated_codes(valueset: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The codes a compose of concept lists names, exclusions removed (FHIR R4 §4.9.5).

    ``None`` when the compose needs a terminology server (filters, included value sets, a
    whole code system) or is empty.
    """
    includes = (valueset.get("compose") or {}).get("include") or []
    if not includes:
        return None
    contains = []
    for include in includes:
        if include.get("filter") or include.get("valueSet") or not include.get("concept"):
            return None
        for concept in include["concept"]:
            item = {"system": include.get("system"), "code": concept.get("code")}
            if include.get("version"):
                item["version"] = include["version"]
            if concept.get("display"):
                item["display"] = concept["display"]
            contains.append(item)
    excluded = {
        (e.get("system"), c.get("code"))
        for e in (valueset.get("compose") or {}).get("exclude") or []
        for c in e.get("concept") or []
    }
    return [c for c in contains if (c["system"], c["code"]) not in excluded]


def _slug(valueset: dict[str, Any]) -> str:
    name = valueset.get("id") or str(valueset["url"]).rstrip("/").rsplit("/", 1)[-1]
    return re.sub(r"[^A-Za-z0-9.-]+", "-", str(name)).strip("-") or "valueset"
