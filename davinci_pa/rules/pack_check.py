"""Checks across a loaded rule pack: libraries, ValueSets and the DTR forms topics name.

The design of those forms is checked too (``form_check``: CQL logic, needed requests only).
Run by the loader after every ``topic.json`` parsed; each problem names the file and field.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from davinci_pa.rules.content import ContentInventory, folders_of, inventory
from davinci_pa.rules.form_check import check_forms
from davinci_pa.rules.library_check import check_library, string_literals, valueset_urls
from davinci_pa.rules.model import RulePack, Topic
from davinci_pa.rules.problems import Problem, line_of

FHIRHELPERS = {"FHIRHelpers": {"4.0.1"}}


@dataclass
class PackContext:
    """The pack folder, its ``pack.json`` settings and each topic's raw ``topic.json``."""

    folder: Path
    settings: Mapping[str, Any]
    raws: Mapping[str, Mapping[str, Any]]
    content_dirs: list[Path] = field(init=False)

    def __post_init__(self) -> None:
        unique: dict[Path, None] = {}
        for path in folders_of(self.folder, dict(self.settings)):
            unique.setdefault(path.resolve(), None)
        self.content_dirs = list(unique)


def check_pack(pack: RulePack, context: PackContext) -> list[Problem]:
    """Every cross-file problem of the pack (empty when it is consistent)."""
    problems: list[Problem] = [
        Problem("pack.json", "dtr-content", f"{d} is not a folder")
        for d in context.content_dirs
        if not d.is_dir()
    ]
    folders = [d for d in context.content_dirs if d.is_dir()]
    content = inventory(folders)
    available = {**FHIRHELPERS, **_pack_libraries(pack, context.folder)}
    pack_valuesets = _valuesets(context.folder / "valuesets")
    for topic in pack.topics:
        problems += _topic_problems(topic, context, content, available, pack_valuesets)
    problems += [
        Problem(form, "extension[cqf-library]", f"Library {canonical} is not in the DTR content")
        for form, canonical in content.needs
        if not content.serves_library(canonical)
    ]
    return problems + check_forms(folders)


def _topic_problems(
    topic: Topic,
    context: PackContext,
    content: ContentInventory,
    available: Mapping[str, set[str]],
    pack_valuesets: Mapping[str, Mapping[str, Any]],
) -> Iterator[Problem]:
    where = f"{topic.folder}/topic.json"
    text = (context.folder / where).read_text(encoding="utf-8")
    forms = [(f"questionnaires[{i}]", q) for i, q in enumerate(topic.questionnaires)]
    if topic.library is not None:
        topic_dir = context.folder / topic.folder
        elm, found = check_library(
            topic_dir, topic.library.name, topic.library.version, available=available
        )
        yield from found
        if elm is not None:
            valuesets = {**pack_valuesets, **_valuesets(topic_dir / "valuesets")}
            yield from _valueset_problems(elm, valuesets, f"{topic.folder}/{topic.library.name}")
            urls = string_literals(elm, "RESULT_QuestionnaireOrderUrl")
            forms += [("define RESULT_QuestionnaireOrderUrl", u) for u in urls]
    for field_name, canonical in forms:
        if not content.serves_questionnaire(canonical):
            message = f"DTR serves no Questionnaire {canonical}"
            yield Problem(where, field_name, message, line_of(text, canonical))


def _valueset_problems(
    elm: Mapping[str, Any], valuesets: Mapping[str, Mapping[str, Any]], stem: str
) -> Iterator[Problem]:
    for url, line in valueset_urls(elm):
        found = valuesets.get(url)
        if found is None:
            yield Problem(f"{stem}.cql", f"valueset {url}", "not in the pack's valuesets/", line)
        elif not _expanded(found):
            message = (
                "has no expansion and no enumerated compose (run `davinci-pa valuesets import`)"
            )
            yield Problem(f"{stem}.cql", f"valueset {url}", message, line)


def _expanded(valueset: Mapping[str, Any]) -> bool:
    """True when the codes are listed: an expansion, or a compose of concept lists only."""
    if (valueset.get("expansion") or {}).get("contains"):
        return True
    includes = (valueset.get("compose") or {}).get("include") or []
    return bool(includes) and all(
        isinstance(i, dict) and i.get("concept") and not i.get("filter") and not i.get("valueSet")
        for i in includes
    )


def _pack_libraries(pack: RulePack, folder: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for topic in pack.topics:
        for elm_path in (folder / topic.folder).glob("*.json"):
            if elm_path.with_suffix(".cql").is_file():
                ident = _identifier(elm_path)
                if ident is not None:
                    found.setdefault(ident[0], set()).add(ident[1])
    return found


def _identifier(path: Path) -> tuple[str, str] | None:
    try:
        ident = json.loads(path.read_text(encoding="utf-8"))["library"]["identifier"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return str(ident.get("id")), str(ident.get("version") or "")


def _valuesets(folder: Path) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("url"), str):
            found[data["url"]] = data
    return found
