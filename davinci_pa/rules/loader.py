"""Load a rule pack folder (``payers.json`` + ``<topic>/topic.json``) into a :class:`RulePack`.

Every problem is reported with its file and field, all at once, as a ConfigurationError:
a rule pack either loads completely or not at all.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from davinci_pa.errors import ConfigurationError
from davinci_pa.fhir.codes import Code, normalize_system
from davinci_pa.rules.model import (
    Alternative,
    CodeRule,
    Decision,
    LibraryRef,
    Payer,
    Policy,
    Reason,
    RulePack,
    Topic,
)
from davinci_pa.rules.vocabulary import check_decision

RulePath = Path | Traversable


def load_rule_pack(folder: RulePath) -> RulePack:
    """Load and validate the rule pack in ``folder``."""
    problems: list[str] = []
    payers = _load_payers(folder, problems)
    topics: list[Topic] = []
    index: dict[tuple[str, str], list[CodeRule]] = defaultdict(list)
    for topic_dir in sorted(_topic_dirs(folder), key=lambda d: d.name):
        _load_topic(topic_dir, topics, index, problems)
    if problems:
        raise ConfigurationError(
            f"rule pack {folder} is invalid ({len(problems)} problems)",
            details={"problems": problems},
        )
    frozen = {key: tuple(rules) for key, rules in index.items()}
    return RulePack(payers=tuple(payers), topics=tuple(topics), by_code=frozen)


def _topic_dirs(folder: RulePath) -> Iterable[RulePath]:
    return (d for d in folder.iterdir() if d.is_dir() and d.joinpath("topic.json").is_file())


def _read_json(path: RulePath, problems: list[str]) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        problems.append(f"{path}: cannot read JSON ({exc})")
        return None


def _load_payers(folder: RulePath, problems: list[str]) -> list[Payer]:
    data = _read_json(folder.joinpath("payers.json"), problems)
    if not isinstance(data, dict) or not isinstance(data.get("payers"), list):
        problems.append(f"{folder}/payers.json: expected an object with a 'payers' array")
        return []
    return [p for i, raw in enumerate(data["payers"]) if (p := _payer(raw, i, problems))]


def _payer(raw: Any, index: int, problems: list[str]) -> Payer | None:
    where = f"payers.json: payers[{index}]"
    if not isinstance(raw, dict) or not _text(raw.get("id")) or not _text(raw.get("name")):
        problems.append(f"{where}: needs string 'id' and 'name'")
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
    problems: list[str],
) -> None:
    where = f"{topic_dir.name}/topic.json"
    raw = _read_json(topic_dir.joinpath("topic.json"), problems)
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a JSON object")
        return
    before = len(problems)
    topic = _topic(raw, topic_dir.name, where, problems)
    if topic is None or len(problems) > before:
        return
    topics.append(topic)
    for block in raw.get("codes", []):
        payers = frozenset(block.get("payers") or raw.get("payers") or ["*"])
        for code in block["codes"]:
            index[Code.of(block["system"], code).key].append(CodeRule(topic, payers))


def _topic(raw: dict[str, Any], folder: str, where: str, problems: list[str]) -> Topic | None:
    for key in ("id", "title"):
        if not _text(raw.get(key)):
            problems.append(f"{where}: '{key}' must be a non-empty string")
    _check_codes(raw.get("codes"), where, problems)
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
        library=_library(raw.get("library")),
        folder=folder,
    )


def _check_codes(codes: Any, where: str, problems: list[str]) -> None:
    if not isinstance(codes, list) or not codes:
        problems.append(f"{where}: 'codes' must be a non-empty array")
        return
    for i, block in enumerate(codes):
        ok = isinstance(block, dict) and _text(block.get("system"))
        ok = ok and isinstance(block.get("codes"), list) and all(map(_text, block["codes"]))
        if not ok:
            problems.append(f"{where}: codes[{i}] needs 'system' and a 'codes' array of strings")


def _decision(
    raw: Any, questionnaires: tuple[str, ...], where: str, problems: list[str]
) -> Decision | None:
    if not isinstance(raw, dict) or not _text(raw.get("covered")):
        problems.append(f"{where}: 'decision' must be an object with 'covered'")
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
    problems.extend(f"{where}: decision: {p}" for p in check_decision(decision))
    return decision


def _reasons(raw: Iterable[Any]) -> Iterable[Reason]:
    for item in raw:
        if isinstance(item, dict) and (_text(item.get("text")) or _text(item.get("code"))):
            yield Reason(text=item.get("text") or item["code"], code=item.get("code"))


def _policies(raw: Iterable[Any], where: str, problems: list[str]) -> Iterable[Policy]:
    for i, item in enumerate(raw):
        if isinstance(item, dict) and _text(item.get("title")) and _is_url(item.get("url")):
            yield Policy(title=item["title"], url=item["url"])
        else:
            problems.append(f"{where}: policies[{i}] needs 'title' and an https 'url'")


def _alternatives(raw: Iterable[Any], where: str, problems: list[str]) -> Iterable[Alternative]:
    for i, item in enumerate(raw):
        item = item if isinstance(item, dict) else {}
        code = item.get("code")
        valid = isinstance(code, dict) and _text(code.get("system")) and _text(code.get("code"))
        if not isinstance(code, dict) or not valid or not _text(item.get("when")):
            problems.append(f"{where}: alternatives[{i}] needs 'code' {{system, code}} and 'when'")
            continue
        display = item.get("display") or code.get("display")
        yield Alternative(
            code=Code.of(code["system"], code["code"], display),
            replaces=Code.of(code["system"], item["when"]),
            reason=item.get("reason", ""),
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
