"""Load a rule pack folder (``payers.json`` + ``<topic>/topic.json``) into a :class:`RulePack`.

Every problem is reported with its file and field (and line), all at once, as one
:class:`~davinci_pa.rules.problems.RulePackError`: a rule pack either loads completely or
not at all. Beyond the format, the pack is checked as a whole: code systems and code shapes
(:mod:`~davinci_pa.rules.codesystems`), each topic's CQL library
(:mod:`~davinci_pa.rules.library_check`), the ValueSets it uses and the DTR forms it names.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from davinci_pa.fhir.codes import Code, normalize_system
from davinci_pa.rules.codesystems import CodeSystem, Systems
from davinci_pa.rules.model import (
    Alternative,
    CodeRule,
    Companion,
    Decision,
    LibraryRef,
    Payer,
    Policy,
    Reason,
    RulePack,
    Topic,
)
from davinci_pa.rules.pack_check import PackContext, check_pack
from davinci_pa.rules.problems import Problem, RulePackError, line_of
from davinci_pa.rules.vocabulary import check_decision

RulePath = Path | Traversable
Problems = list[Problem]


def load_rule_pack(folder: RulePath) -> RulePack:
    """Load and validate the rule pack in ``folder``.

    Raises:
        RulePackError: the pack has problems; its message lists every one.
    """
    pack, problems = check_rule_pack(folder)
    if problems or pack is None:
        raise RulePackError(str(folder), problems)
    return pack


def check_rule_pack(folder: RulePath) -> tuple[RulePack | None, list[Problem]]:
    """Load the pack in ``folder`` and return it with every problem found (empty: valid)."""
    problems: Problems = []
    if not folder.is_dir():
        return None, [Problem(str(folder), "", "not a folder")]
    settings = _pack_settings(folder, problems)
    systems = Systems.with_declared(_declared_systems(settings, problems))
    payers = _load_payers(folder, problems)
    topics: list[Topic] = []
    index: dict[tuple[str, str], list[CodeRule]] = defaultdict(list)
    raws: dict[str, dict[str, Any]] = {}
    for topic_dir in sorted(_topic_dirs(folder), key=lambda d: d.name):
        _load_topic(topic_dir, topics, index, problems, systems, raws)
    frozen = {key: tuple(rules) for key, rules in index.items()}
    pack = RulePack(payers=tuple(payers), topics=tuple(topics), by_code=frozen)
    if isinstance(folder, Path):
        context = PackContext(folder, settings, raws)
        pack = dataclasses.replace(pack, folder=folder, content_dirs=tuple(context.content_dirs))
        problems.extend(check_pack(pack, context))
    return pack, problems


def _pack_settings(folder: RulePath, problems: Problems) -> dict[str, Any]:
    path = folder.joinpath("pack.json")
    if not path.is_file():
        return {}
    data = _read_json(path, "pack.json", problems)
    if not isinstance(data, dict):
        problems.append(Problem("pack.json", "", "expected a JSON object"))
        return {}
    return data


def _declared_systems(settings: Mapping[str, Any], problems: Problems) -> list[CodeSystem]:
    declared = []
    for i, raw in enumerate(settings.get("code-systems") or []):
        ok = isinstance(raw, dict) and _is_url(raw.get("url"))
        if not ok or not isinstance(raw.get("aliases", []), list):
            problems.append(
                Problem("pack.json", f"code-systems[{i}]", "needs a 'url' and optional 'aliases'")
            )
            continue
        pattern = raw.get("pattern") if _text(raw.get("pattern")) else r".+"
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.append(Problem("pack.json", f"code-systems[{i}].pattern", str(exc)))
            continue
        aliases = tuple(a for a in raw.get("aliases", []) if _text(a))
        name = raw.get("name") if _text(raw.get("name")) else raw["url"]
        declared.append(CodeSystem(name, raw["url"], aliases, pattern, f"pattern {pattern}"))
    return declared


def _topic_dirs(folder: RulePath) -> Iterable[RulePath]:
    return (d for d in folder.iterdir() if d.is_dir() and d.joinpath("topic.json").is_file())


def _read_json(path: RulePath, where: str, problems: Problems) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        problems.append(Problem(where, "", f"not valid JSON ({exc})", getattr(exc, "lineno", None)))
    except OSError as exc:
        problems.append(Problem(where, "", f"cannot be read ({exc.strerror or exc})"))
    return None


def _load_payers(folder: RulePath, problems: Problems) -> list[Payer]:
    data = _read_json(folder.joinpath("payers.json"), "payers.json", problems)
    if not isinstance(data, dict) or not isinstance(data.get("payers"), list):
        problems.append(
            Problem("payers.json", "payers", "expected an object with a 'payers' array")
        )
        return []
    return [p for i, raw in enumerate(data["payers"]) if (p := _payer(raw, i, problems))]


def _payer(raw: Any, index: int, problems: Problems) -> Payer | None:
    if not isinstance(raw, dict) or not _text(raw.get("id")) or not _text(raw.get("name")):
        problems.append(Problem("payers.json", f"payers[{index}]", "needs string 'id' and 'name'"))
        return None
    identifiers = {
        (normalize_system(i["system"]), i["value"])
        for i in raw.get("identifiers", [])
        if isinstance(i, dict) and _text(i.get("system")) and _text(i.get("value"))
    }
    names = {n.casefold() for n in raw.get("names", []) if _text(n)} | {raw["name"].casefold()}
    return Payer(
        id=raw["id"],
        name=raw["name"],
        identifiers=frozenset(identifiers),
        names=frozenset(names),
        contact=raw.get("contact") if isinstance(raw.get("contact"), dict) else None,
    )


def _load_topic(
    topic_dir: RulePath,
    topics: list[Topic],
    index: dict[tuple[str, str], list[CodeRule]],
    problems: Problems,
    systems: Systems,
    raws: dict[str, dict[str, Any]],
) -> None:
    where = f"{topic_dir.name}/topic.json"
    raw = _read_json(topic_dir.joinpath("topic.json"), where, problems)
    if not isinstance(raw, dict):
        if raw is not None:
            problems.append(Problem(where, "", "expected a JSON object"))
        return
    text = topic_dir.joinpath("topic.json").read_text(encoding="utf-8")
    before = len(problems)
    blocks = _code_blocks(raw.get("codes"), where, text, systems, problems)
    topic = _topic(raw, topic_dir.name, where, problems)
    if topic is None or len(problems) > before:
        return
    topics.append(topic)
    raws[topic.folder] = raw
    for system, codes, block in blocks:
        payers = frozenset(block.get("payers") or raw.get("payers") or ["*"])
        for code in codes:
            index[Code.of(system, code).key].append(CodeRule(topic, payers))


def _topic(raw: dict[str, Any], folder: str, where: str, problems: Problems) -> Topic | None:
    for key in ("id", "title"):
        if not _text(raw.get(key)):
            problems.append(Problem(where, key, "must be a non-empty string"))
    questionnaires = tuple(q for q in raw.get("questionnaires", []) if _text(q))
    decision = _decision(raw.get("decision"), questionnaires, where, problems)
    if decision is None:
        return None
    return Topic(
        id=raw["id"],
        title=raw["title"],
        summary=raw.get("summary") or raw["title"],
        decision=decision,
        instructions=raw.get("instructions", ""),
        policies=tuple(_policies(raw.get("policies", []), where, problems)),
        questionnaires=questionnaires,
        alternatives=tuple(_alternatives(raw.get("alternatives", []), where, problems)),
        companions=tuple(_companions(raw.get("companions", []), where, problems)),
        library=_library(raw.get("library")),
        folder=folder,
    )


CodeBlock = tuple[str, list[str], dict[str, Any]]


def _code_blocks(
    codes: Any, where: str, text: str, systems: Systems, problems: Problems
) -> list[CodeBlock]:
    """The topic's code blocks with each system resolved to its URI; bad ones are problems."""
    if not isinstance(codes, list) or not codes:
        problems.append(Problem(where, "codes", "must be a non-empty array"))
        return []
    blocks = []
    for i, block in enumerate(codes):
        ok = isinstance(block, dict) and _text(block.get("system"))
        ok = ok and isinstance(block.get("codes"), list) and all(map(_text, block["codes"]))
        if not ok:
            problems.append(
                Problem(where, f"codes[{i}]", "needs 'system' and a 'codes' array of strings")
            )
            continue
        name = block["system"]
        system = systems.resolve(name)
        if system is None:
            message = f"unknown code system {name!r}: {systems.suggest(name)}"
            problems.append(Problem(where, f"codes[{i}].system", message, line_of(text, name)))
            continue
        for j, code in enumerate(block["codes"]):
            if (wrong := system.problem(code.strip())) is not None:
                field = f"codes[{i}].codes[{j}]"
                problems.append(Problem(where, field, wrong, line_of(text, code)))
        blocks.append((system.url, block["codes"], block))
    return blocks


def _decision(
    raw: Any, questionnaires: tuple[str, ...], where: str, problems: Problems
) -> Decision | None:
    if not isinstance(raw, dict) or not _text(raw.get("covered")):
        problems.append(Problem(where, "decision", "must be an object with 'covered'"))
        return None
    decision = Decision(
        covered=raw["covered"],
        pa_needed=raw.get("pa-needed"),
        doc_needed=tuple(raw.get("doc-needed", [])),
        doc_purpose=tuple(raw.get("doc-purpose", [])),
        info_needed=tuple(raw.get("info-needed", [])),
        reasons=tuple(_reasons(raw.get("reasons", []))),
        details=tuple(d for d in raw.get("details", []) if isinstance(d, dict)),
        questionnaires=questionnaires if raw.get("doc-needed") else (),
    )
    problems.extend(Problem(where, "decision", p) for p in check_decision(decision))
    return decision


def _reasons(raw: Iterable[Any]) -> Iterable[Reason]:
    for item in raw:
        if isinstance(item, dict) and (_text(item.get("text")) or _text(item.get("code"))):
            yield Reason(text=item.get("text") or item["code"], code=item.get("code"))


def _policies(raw: Iterable[Any], where: str, problems: Problems) -> Iterable[Policy]:
    for i, item in enumerate(raw):
        if isinstance(item, dict) and _text(item.get("title")) and _is_url(item.get("url")):
            yield Policy(title=item["title"], url=item["url"])
        else:
            problems.append(Problem(where, f"policies[{i}]", "needs 'title' and an https 'url'"))


def _alternatives(raw: Iterable[Any], where: str, problems: Problems) -> Iterable[Alternative]:
    for i, item in enumerate(raw):
        item = item if isinstance(item, dict) else {}
        code = item.get("code")
        valid = isinstance(code, dict) and _text(code.get("system")) and _text(code.get("code"))
        if not isinstance(code, dict) or not valid or not _text(item.get("when")):
            message = "needs 'code' {system, code} and 'when'"
            problems.append(Problem(where, f"alternatives[{i}]", message))
            continue
        display = item.get("display") or code.get("display")
        yield Alternative(
            code=Code.of(code["system"], code["code"], display),
            replaces=Code.of(code["system"], item["when"]),
            reason=item.get("reason", ""),
        )


COMPANION_TYPES = frozenset({"ServiceRequest", "DeviceRequest", "MedicationRequest"})
"""Order types a companion may be (each has a CRD profile, CRD resp-57)."""


def _companions(raw: Iterable[Any], where: str, problems: Problems) -> Iterable[Companion]:
    for i, item in enumerate(raw):
        item = item if isinstance(item, dict) else {}
        code = item.get("code")
        valid = isinstance(code, dict) and _text(code.get("system")) and _text(code.get("code"))
        when = item.get("when")
        if (
            not isinstance(code, dict)
            or not valid
            or item.get("resourceType") not in COMPANION_TYPES
            or not _text(item.get("reason"))
            or (when is not None and not _text(when))
        ):
            message = (
                f"needs 'resourceType' (one of {', '.join(sorted(COMPANION_TYPES))}), "
                "'code' {system, code}, 'reason' and optionally 'when'"
            )
            problems.append(Problem(where, f"companions[{i}]", message))
            continue
        display = item.get("display") or code.get("display")
        yield Companion(
            resource_type=item["resourceType"],
            code=Code.of(code["system"], code["code"], display),
            when=Code.of(code["system"], when) if when is not None else None,
            reason=item["reason"],
        )


def _library(raw: Any) -> LibraryRef | None:
    if isinstance(raw, Mapping) and _text(raw.get("name")):
        version = raw.get("version")
        return LibraryRef(raw["name"], version if _text(version) else None)
    return None


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://"))
