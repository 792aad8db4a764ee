"""The DTR content a payer serves: Questionnaires, their Libraries and ValueSets.

Content lives in a folder (the shipped ``questionnaires/``): modular Questionnaire JSON
(``assemble-expectation``), CQL libraries with their committed ELM beside them, and
``valuesets/*.json`` with offline expansions. Loading assembles every root form, builds a
Library resource per CQL library (FHIRHelpers included) and indexes all three by canonical
(``url`` and ``url|version``) and by id, for ``$questionnaire-package`` and plain reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from davinci_pa.cql import LibraryRepository, LocalTerminology
from davinci_pa.cql.compile import FHIRHELPERS_DIR
from davinci_pa.dtr.adaptive import package_form
from davinci_pa.dtr.assemble import assemble
from davinci_pa.dtr.library import library_resource
from davinci_pa.dtr.vocabulary import (
    ADAPTIVE,
    ASSEMBLE_EXPECTATION,
    STD_QUESTIONNAIRE,
    canonical_of,
    extensions,
    split_canonical,
)
from davinci_pa.errors import ConfigurationError
from davinci_pa.rules.content import shipped_dtr_content as shipped_questionnaires

__all__ = ["DtrContent", "shipped_questionnaires"]
from davinci_pa.types import Resource

DEFAULT_BASE = "http://davinci-pa.org/fhir"
KINDS = ("Questionnaire", "Library", "ValueSet")


@dataclass
class _Index:
    by_canonical: dict[str, Resource] = field(default_factory=dict)
    by_id: dict[str, Resource] = field(default_factory=dict)
    versions: dict[str, list[str]] = field(default_factory=dict)

    def add(self, resource: Resource) -> None:
        url, version = str(resource.get("url", "")), resource.get("version")
        self.by_canonical[f"{url}|{version}" if version else url] = resource
        self.versions.setdefault(url, []).append(str(version or ""))
        self.by_id[str(resource.get("id"))] = resource

    def find(self, canonical: str) -> Resource | None:
        url, version = split_canonical(canonical)
        if version is not None:
            return self.by_canonical.get(f"{url}|{version}")
        known = self.versions.get(url)
        if not known:
            return None
        latest = max(known, key=_version_key)
        return self.by_canonical.get(f"{url}|{latest}" if latest else url)


def _version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(p)) if p.isdecimal() else (1, p) for p in version.split("."))


class DtrContent:
    """Indexed, assembled DTR content plus the CQL repository and terminology it needs."""

    def __init__(self, base: str = DEFAULT_BASE) -> None:
        self.base = base.rstrip("/")
        self._index = {kind: _Index() for kind in KINDS}
        self.definitions: dict[str, Resource] = {}
        self.repository = LibraryRepository()
        self._library_names: dict[str, str] = {}
        self.terminology = LocalTerminology()

    @classmethod
    def load(
        cls,
        folder: Path | Sequence[Path] | None = None,
        *,
        valueset_dirs: Iterable[Path] = (),
        base: str = DEFAULT_BASE,
    ) -> DtrContent:
        """Load content folders; ``valueset_dirs`` adds value sets (e.g. the rule pack's).

        Several folders load in order (a rule pack's own forms beside the shipped ones).
        """
        folders = (
            [folder] if isinstance(folder, Path) else list(folder or [shipped_questionnaires()])
        )
        content = cls(base)
        cql_dirs = sorted({p.parent for f in folders for p in f.rglob("*.cql")})
        elm_files = {p.with_suffix(".json") for d in cql_dirs for p in d.glob("*.cql")}
        paths = [p for f in folders for p in sorted(f.rglob("*.json")) if p not in elm_files]
        files = [_read(p) for p in paths]
        extra = [_read(p) for d in valueset_dirs for p in sorted(Path(d).rglob("valuesets/*.json"))]
        for data in [*files, *extra]:
            if data.get("resourceType") == "ValueSet":
                content.add_valueset(data)
        for directory in [FHIRHELPERS_DIR, *cql_dirs]:
            content._load_libraries(directory)
        content._load_questionnaires([d for d in files if _is_questionnaire(d)])
        return content

    # -- loading ------------------------------------------------------------------------

    def add_valueset(self, valueset: Resource) -> None:
        """Index a ValueSet and make its codes available to CQL membership tests."""
        self._index["ValueSet"].add(valueset)
        self.terminology.add(valueset)

    def _load_libraries(self, directory: Path) -> None:
        for cql_path in sorted(directory.glob("*.cql")):
            elm_path = cql_path.with_suffix(".json")
            if not elm_path.is_file():
                raise ConfigurationError(f"{cql_path.name} has no compiled ELM beside it")
            elm = _read(elm_path)
            self.repository.add(elm)
            library = library_resource(
                cql_path.read_text(encoding="utf-8"),
                elm,
                base=self.base,
                valueset_version=self._valueset_version,
            )
            self._add_library(library)

    def _add_library(self, library: Resource) -> None:
        """Index a Library; a name may denote one Library only (DTR clients key on names)."""
        name, canonical = str(library.get("name")), canonical_of(library)
        known = self._library_names.setdefault(name, canonical)
        if known != canonical:
            raise ConfigurationError(f"two Libraries are named {name}: {known} and {canonical}")
        self._index["Library"].add(library)

    def _valueset_version(self, url: str) -> str | None:
        found = self._index["ValueSet"].find(url)
        return str(found["version"]) if found and found.get("version") else None

    def _load_questionnaires(self, questionnaires: list[Resource]) -> None:
        modules: dict[str, Resource] = {}
        roots: list[Resource] = []
        for questionnaire in questionnaires:
            expectation = extensions(questionnaire, ASSEMBLE_EXPECTATION)
            if expectation and expectation[0].get("valueCode") == "child":
                modules[f"{questionnaire.get('url')}|{questionnaire.get('version')}"] = (
                    questionnaire
                )
            else:
                roots.append(questionnaire)
        for root in roots:
            definition = assemble(root, modules)
            if not extensions(definition, ADAPTIVE):
                definition["meta"] = {"profile": [STD_QUESTIONNAIRE]}
            self.add_questionnaire(definition)

    def add_questionnaire(self, definition: Resource) -> None:
        """Serve an assembled form; an adaptive one is served as its package form."""
        self.definitions[canonical_of(definition)] = definition
        served = package_form(definition) if extensions(definition, ADAPTIVE) else definition
        self._index["Questionnaire"].add(served)

    # -- lookup -------------------------------------------------------------------------

    def find(self, kind: str, canonical: str) -> Resource | None:
        """Return the resource of a kind by canonical (``url`` means the latest version)."""
        index = self._index.get(kind)
        return index.find(canonical) if index else None

    def read(self, kind: str, resource_id: str) -> Resource | None:
        """Return the resource of a kind by its id."""
        index = self._index.get(kind)
        return index.by_id.get(resource_id) if index else None

    def all(self, kind: str) -> list[Resource]:
        """Every resource of a kind (one per canonical)."""
        index = self._index.get(kind)
        return list(index.by_canonical.values()) if index else []

    def definition(self, canonical: str) -> Resource | None:
        """The full assembled form behind a served Questionnaire (adaptive ones included)."""
        served = self.find("Questionnaire", canonical)
        if served is None:
            return None
        return self.definitions.get(canonical_of(served))


def _is_questionnaire(data: dict[str, Any]) -> bool:
    return data.get("resourceType") == "Questionnaire"


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read DTR content file {path.name}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"DTR content file {path.name} is not a JSON object")
    return data
