"""Where a rule pack's DTR content lives, and what it holds (for cross-checks at load time).

DTR serves Questionnaires, their CQL Libraries and ValueSets from content folders: the
pack's own ``questionnaires/`` folder, the folders ``pack.json`` lists under
``dtr-content`` (relative to the pack) and, unless ``"shipped-dtr-content": false``, the
forms that ship with davinci-pa. The rules layer only inventories them (canonicals and
library references) so a topic cannot point to a form DTR cannot serve; ``dtr`` loads them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from davinci_pa import shipped

CQF_LIBRARY = "http://hl7.org/fhir/StructureDefinition/cqf-library"


def shipped_dtr_content() -> Path:
    """The forms that ship with the package (or the source tree's ``questionnaires``)."""
    return shipped.questionnaires()


@dataclass
class ContentInventory:
    """The canonicals DTR content folders serve, and the libraries each form needs."""

    questionnaires: set[str] = field(default_factory=set)
    libraries: dict[str, set[str]] = field(default_factory=dict)
    valuesets: dict[str, dict[str, Any]] = field(default_factory=dict)
    needs: list[tuple[str, str]] = field(default_factory=list)
    """(form file, library canonical) pairs from ``cqf-library`` extensions."""

    def serves_questionnaire(self, canonical: str) -> bool:
        """True when a form with this ``url`` or ``url|version`` is present."""
        return canonical in self.questionnaires

    def serves_library(self, canonical: str) -> bool:
        """True when a Library named by the canonical's last segment (and version) is present."""
        url, _, version = canonical.partition("|")
        versions = self.libraries.get(url.rsplit("/", 1)[-1])
        return versions is not None and (not version or version in versions)


def inventory(folders: Sequence[Path]) -> ContentInventory:
    """Read every content folder's Questionnaires, CQL libraries and ValueSets."""
    found = ContentInventory()
    for folder in folders:
        for path in sorted(folder.rglob("*.json")):
            if path.with_suffix(".cql").is_file():
                _add_library(found, path)
                continue
            data = read_object(path)
            if data.get("resourceType") == "Questionnaire":
                _add_form(found, data, path.relative_to(folder.parent).as_posix())
            elif data.get("resourceType") == "ValueSet" and isinstance(data.get("url"), str):
                found.valuesets[data["url"]] = data
    return found


def _add_form(found: ContentInventory, form: dict[str, Any], file: str) -> None:
    url, version = form.get("url"), form.get("version")
    found.questionnaires.add(str(url))
    if version:
        found.questionnaires.add(f"{url}|{version}")
    for ext in form.get("extension") or []:
        if isinstance(ext, dict) and ext.get("url") == CQF_LIBRARY:
            found.needs.append((file, str(ext.get("valueCanonical"))))


def _add_library(found: ContentInventory, elm_path: Path) -> None:
    ident = (read_object(elm_path).get("library") or {}).get("identifier") or {}
    if isinstance(ident.get("id"), str):
        found.libraries.setdefault(ident["id"], set()).add(str(ident.get("version") or ""))


def read_object(path: Path) -> dict[str, Any]:
    """The JSON object in ``path`` ({} when it is unreadable, not JSON or not an object)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def folders_of(pack: Path, settings: dict[str, Any]) -> Iterator[Path]:
    """The pack's DTR content folders in the order they are loaded (later ones win)."""
    if settings.get("shipped-dtr-content", True) is not False:
        yield shipped_dtr_content()
    for extra in settings.get("dtr-content") or []:
        if isinstance(extra, str):
            yield (pack / extra).resolve()
    own = pack / "questionnaires"
    if own.is_dir():
        yield own


def shipped_rule_pack() -> Path:
    """The rule pack that ships with the package (or the source tree's ``cql_rules``)."""
    return shipped.rule_pack()
