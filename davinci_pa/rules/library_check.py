"""Check a topic's CQL library against the rule contract before it can serve an order.

Problems found (each with the file, the define and the CQL line from the ELM locator): no
``.cql`` or ELM beside ``topic.json``, ELM with translator errors, ELM whose identifier
differs from ``topic.json``, ELM not compiled from the CQL beside it (a define's annotated
source no longer appears in the CQL, or the defines differ), missing or wrongly typed
contract defines, includes and ValueSets the pack does not hold.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from davinci_pa.rules.problems import Problem

BOOLEAN = "{urn:hl7-org:elm-types:r1}Boolean"
STRING = "{urn:hl7-org:elm-types:r1}String"
REQUIRED = {
    "RULE_APPLIES": BOOLEAN,
    "PRIORAUTH_REQUIRED": BOOLEAN,
    "DOCUMENTATION_REQUIRED": BOOLEAN,
}
OPTIONAL = {
    "APPROVE_PRIORAUTH": BOOLEAN,
    "RESULT_InfoLink": STRING,
    "RESULT_QuestionnaireOrderUrl": STRING,
    "COVERED": STRING,
    "REASON": STRING,
    "INFO_NEEDED": f"List<{STRING}>",
    "DOC_PURPOSE": f"List<{STRING}>",
}
_DEFINE = re.compile(
    r'^\s*define\s+(?:(?:private|public)\s+)?(?!function\b)("[^"]+"|\w+)\s*:', re.M
)
_SPACE = re.compile(r"\s+")


def check_library(
    topic_dir: Path, name: str, version: str | None, *, available: Mapping[str, set[str]]
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Check ``<name>.cql`` / ``<name>.json`` in a topic folder; return the ELM and problems.

    ``available`` maps each library name the pack (and FHIRHelpers) provides to its versions.
    """
    folder = topic_dir.name
    cql_path, elm_path = topic_dir / f"{name}.cql", topic_dir / f"{name}.json"
    elm_file = f"{folder}/{elm_path.name}"
    if not elm_path.is_file():
        hint = "run `davinci-pa cql compile`" if cql_path.is_file() else "no .cql either"
        return None, [
            Problem(f"{folder}/topic.json", "library.name", f"no {elm_path.name} ({hint})")
        ]
    try:
        elm = json.loads(elm_path.read_text(encoding="utf-8"))
        library = elm["library"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, [Problem(elm_file, "", f"not an ELM JSON library ({exc})")]
    problems = list(_identity(library, name, version, elm_file, f"{folder}/topic.json"))
    problems += _translator_errors(library, elm_file)
    problems += _contract(library, elm_file)
    problems += _includes(library, elm_file, available)
    if cql_path.is_file():
        problems += _staleness(
            library, cql_path.read_text(encoding="utf-8"), f"{folder}/{cql_path.name}"
        )
    else:
        problems.append(
            Problem(f"{folder}/{cql_path.name}", "", "missing: the ELM has no CQL beside it")
        )
    return elm, problems


def valueset_urls(elm: Mapping[str, Any]) -> list[tuple[str, int | None]]:
    """The ValueSet canonicals a library declares, with the CQL line of each declaration."""
    defs = (elm.get("library", {}).get("valueSets") or {}).get("def", [])
    return [(str(d.get("id")), _line(d)) for d in defs if isinstance(d, dict)]


def string_literals(elm: Mapping[str, Any], define: str) -> list[str]:
    """Every String literal inside one define (the questionnaire URLs a rule may return)."""
    for statement in _statements(elm.get("library", {})):
        if statement.get("name") == define:
            return list(_literals(statement.get("expression")))
    return []


def _identity(
    library: Mapping[str, Any], name: str, version: str | None, elm_file: str, topic_file: str
) -> Iterator[Problem]:
    ident = library.get("identifier") or {}
    if ident.get("id") != name:
        yield Problem(
            elm_file, "library.identifier.id", f"is {ident.get('id')!r}, topic.json says {name!r}"
        )
    if version is not None and ident.get("version") != version:
        yield Problem(
            topic_file,
            "library.version",
            f"is {version!r} but {elm_file} is {ident.get('version')!r}",
        )


def _translator_errors(library: Mapping[str, Any], elm_file: str) -> Iterator[Problem]:
    for note in library.get("annotation") or []:
        if (
            isinstance(note, dict)
            and note.get("type") == "CqlToElmError"
            and note.get("errorSeverity") == "error"
        ):
            yield Problem(
                elm_file, "", f"translator error: {note.get('message')}", note.get("startLine")
            )


def _contract(library: Mapping[str, Any], elm_file: str) -> Iterator[Problem]:
    statements = {s.get("name"): s for s in _statements(library)}
    for define, expected in {**REQUIRED, **OPTIONAL}.items():
        statement = statements.get(define)
        if statement is None:
            if define in REQUIRED:
                yield Problem(
                    elm_file, f"define {define}", "required by the rule contract but missing"
                )
            continue
        found = _result_type(statement, statements)
        if found is not None and found != expected:
            yield Problem(
                elm_file,
                f"define {define}",
                f"must be {_short(expected)}, is {_short(found)}",
                _line(statement),
            )


def _includes(
    library: Mapping[str, Any], elm_file: str, available: Mapping[str, set[str]]
) -> Iterator[Problem]:
    for include in (library.get("includes") or {}).get("def", []):
        path, version = include.get("path"), include.get("version")
        versions = available.get(str(path))
        if versions is None or (version and version not in versions):
            wanted = f"{path} version {version!r}" if version else str(path)
            yield Problem(
                elm_file,
                f"include {include.get('localIdentifier')}",
                f"{wanted} is not in the pack",
                _line(include),
            )


def _staleness(library: Mapping[str, Any], cql: str, cql_file: str) -> Iterator[Problem]:
    """ELM compiled from other CQL: annotated source text gone from the CQL, or other defines."""
    flat = _SPACE.sub("", cql)
    names = {
        s.get("name")
        for s in _statements(library)
        if s.get("type", "ExpressionDef") == "ExpressionDef"
    }
    names.discard("Patient")
    in_cql = {n.strip('"') for n in _DEFINE.findall(cql)}
    changed = sorted(str(n) for n in names ^ in_cql)
    for statement in _statements(library):
        text = "".join(_annotation_text(statement.get("annotation")))
        if text and _SPACE.sub("", text) not in flat:
            changed.append(str(statement.get("name")))
    if changed:
        yield Problem(
            cql_file,
            "",
            f"the ELM beside it is stale (defines changed: {', '.join(sorted(set(changed)))}); "
            "run `davinci-pa cql compile`",
        )


def _statements(library: Mapping[str, Any]) -> list[dict[str, Any]]:
    defs = (library.get("statements") or {}).get("def", [])
    return [d for d in defs if isinstance(d, dict)]


def _result_type(statement: Mapping[str, Any], statements: Mapping[Any, Any]) -> str | None:
    """The define's type when the ELM states it or its expression shows it (else ``None``)."""
    if isinstance(statement.get("resultTypeName"), str):
        return str(statement["resultTypeName"])
    return _infer(statement.get("expression"), statements, 0)


def _infer(node: Any, statements: Mapping[Any, Any], depth: int) -> str | None:
    if not isinstance(node, dict) or depth > 20:
        return None
    kind = node.get("type")
    if kind in _BOOLEAN_OPS:
        return BOOLEAN
    if kind in _STRING_OPS:
        return STRING
    if kind == "Literal":
        return str(node.get("valueType"))
    if kind == "ExpressionRef" and not node.get("libraryName"):
        target = statements.get(node.get("name"))
        return _infer(target.get("expression"), statements, depth + 1) if target else None
    if kind == "List":
        elements = {_infer(e, statements, depth + 1) for e in node.get("element") or []}
        elements.discard(None)
        return f"List<{elements.pop()}>" if len(elements) == 1 else None
    branches = [node.get("then"), node.get("else")] if kind == "If" else []
    if kind == "Case":
        branches = [c.get("then") for c in node.get("caseItem") or []] + [node.get("else")]
    found = {_infer(b, statements, depth + 1) for b in branches}
    found.discard(None)
    return found.pop() if len(found) == 1 else None


_BOOLEAN_OPS = frozenset(
    {
        "And",
        "Or",
        "Not",
        "Xor",
        "Implies",
        "Equal",
        "Equivalent",
        "NotEqual",
        "Less",
        "Greater",
        "LessOrEqual",
        "GreaterOrEqual",
        "Exists",
        "IsNull",
        "IsTrue",
        "IsFalse",
        "In",
        "Contains",
        "InValueSet",
        "AnyInValueSet",
        "Before",
        "After",
        "SameAs",
        "SameOrBefore",
        "SameOrAfter",
        "Includes",
        "IncludedIn",
        "Overlaps",
        "Starts",
        "Ends",
        "Meets",
    }
)
_STRING_OPS = frozenset(["Concatenate", "Combine", "Upper", "Lower", "Substring"])


def _short(type_name: str) -> str:
    return type_name.replace("{urn:hl7-org:elm-types:r1}", "")


def _line(node: Mapping[str, Any]) -> int | None:
    locator = node.get("locator")
    if isinstance(locator, str) and locator.split(":", 1)[0].isdecimal():
        return int(locator.split(":", 1)[0])
    return None


def _annotation_text(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "value" and isinstance(value, list):
                yield from (v for v in value if isinstance(v, str))
            else:
                yield from _annotation_text(value)
    elif isinstance(node, list):
        for item in node:
            yield from _annotation_text(item)


def _literals(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if node.get("type") == "Literal" and str(node.get("valueType", "")).endswith("String"):
            yield str(node.get("value"))
        for value in node.values():
            yield from _literals(value)
    elif isinstance(node, list):
        for item in node:
            yield from _literals(item)
