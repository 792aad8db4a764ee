"""Design checks on the DTR forms a rule pack serves (DTR 2.2 §Questionnaires, §Security).

* ``spec-18``: an Expression that controls flow or rendering (``initialExpression``,
  ``calculatedExpression``, ``enableWhenExpression``, ``variable``, ...) is CQL
  (``text/cql``, ``text/cql-identifier``, ``text/cql-expression``); only the
  ``cqf-alternativeExpression`` beside a CQL expression may use another language.
* ``sec-3`` (HIPAA minimum necessary): every request a form's CQL makes of the EHR (each
  ``Retrieve`` in its libraries) serves one of its questions: it is reached from an
  expression of some form, directly or through the defines and functions it calls, across
  included libraries. A retrieve nothing reaches asks the EHR for data no question needs.

Problems name the form or library file and the item or define.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from davinci_pa.rules.content import read_object
from davinci_pa.rules.problems import Problem

CQL_EXPRESSION_LANGUAGES = frozenset(
    {"text/cql", "text/cql-identifier", "text/cql.identifier", "text/cql-expression"}
)
CQF_LIBRARY = "http://hl7.org/fhir/StructureDefinition/cqf-library"
ALTERNATIVE = "http://hl7.org/fhir/StructureDefinition/cqf-alternativeExpression"
_REFERENCE = re.compile(r'(?:"([^"]+)"|([A-Za-z_]\w*))\s*\.\s*(?:"([^"]+)"|([A-Za-z_]\w*))')
_BARE = re.compile(r'^\s*(?:"([^"]+)"|([A-Za-z_]\w*))\s*$')

Elm = Mapping[str, Any]
Define = tuple[str, str]
"""(library name, statement name)."""


def check_forms(folders: Sequence[Path]) -> list[Problem]:
    """Every spec-18 and sec-3 problem of the forms and libraries in ``folders``."""
    forms, libraries = _content(folders)
    problems: list[Problem] = []
    used: set[Define] = set()
    for file, form in forms:
        default = _only_library(form)
        for where, expression in _expressions(form, form.get("resourceType", "Questionnaire")):
            language = expression.get("language")
            if language not in CQL_EXPRESSION_LANGUAGES:
                message = f"{language} expression: flow and rendering logic must be CQL (spec-18)"
                problems.append(Problem(file, where, message))
                continue
            used |= _references(str(expression.get("expression", "")), default)
    problems += _unused_requests(libraries, used)
    return problems


def _content(folders: Sequence[Path]) -> tuple[list[tuple[str, Elm]], dict[str, tuple[str, Elm]]]:
    forms: list[tuple[str, Elm]] = []
    libraries: dict[str, tuple[str, Elm]] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*.json")):
            data = read_object(path)
            name = path.relative_to(folder.parent).as_posix()
            if path.with_suffix(".cql").is_file() and isinstance(data.get("library"), dict):
                ident = data["library"].get("identifier") or {}
                libraries[str(ident.get("id"))] = (name.removesuffix(".json") + ".cql", data)
            elif data.get("resourceType") == "Questionnaire":
                forms.append((name, data))
    return forms, libraries


def _only_library(form: Elm) -> str | None:
    named = [
        str(e.get("valueCanonical", "")).partition("|")[0].rsplit("/", 1)[-1]
        for e in form.get("extension") or []
        if isinstance(e, dict) and e.get("url") == CQF_LIBRARY
    ]
    return named[0] if len(named) == 1 else None


def _expressions(value: Any, where: str) -> Iterator[tuple[str, Elm]]:
    """(location, Expression) for every Expression outside a cqf-alternativeExpression."""
    if isinstance(value, dict):
        if isinstance(value.get("linkId"), str):
            where = f"item[{value['linkId']}]"
        expression = value.get("valueExpression")
        if isinstance(expression, dict) and value.get("url") != ALTERNATIVE:
            yield f"{where}.{str(value.get('url', '')).rsplit('/', 1)[-1]}", expression
        for key, child in value.items():
            if key != "valueExpression":
                yield from _expressions(child, where)
    elif isinstance(value, list):
        for child in value:
            yield from _expressions(child, where)


def _references(expression: str, default: str | None) -> set[Define]:
    found = {
        (m.group(1) or m.group(2), m.group(3) or m.group(4))
        for m in _REFERENCE.finditer(expression)
    }
    bare = _BARE.match(expression)
    if bare and default:
        found.add((default, bare.group(1) or bare.group(2)))
    return found


def _unused_requests(libraries: Mapping[str, tuple[str, Elm]], used: set[Define]) -> list[Problem]:
    reached = _reachable(libraries, used)
    problems = []
    for library, (file, elm) in sorted(libraries.items()):
        for statement in _statements(elm):
            name = str(statement.get("name"))
            if name == statement.get("context"):
                continue  # the implicit context definition: the patient the form is about
            types = sorted({_type_name(r) for r in _nodes(statement.get("expression"), _RETRIEVES)})
            if types and (library, name) not in reached:
                message = (
                    f"requests {', '.join(types)} from the EHR but no form question uses it "
                    "(sec-3: request only what the documentation needs)"
                )
                problems.append(Problem(file, f"define {name}", message))
    return problems


def _reachable(libraries: Mapping[str, tuple[str, Elm]], start: set[Define]) -> set[Define]:
    reached: set[Define] = set()
    pending = list(start)
    while pending:
        library, name = pending.pop()
        if (library, name) in reached or library not in libraries:
            continue
        reached.add((library, name))
        elm = libraries[library][1]
        aliases = _aliases(elm)
        for statement in _statements(elm):
            if statement.get("name") == name:
                for ref in _nodes(statement, _REFERENCES):
                    target = aliases.get(str(ref.get("libraryName")), library)
                    if ref.get("libraryName") is None:
                        target = library
                    pending.append((target, str(ref.get("name"))))
    return reached


def _statements(elm: Elm) -> list[Elm]:
    return list(((elm.get("library") or {}).get("statements") or {}).get("def") or [])


def _aliases(elm: Elm) -> dict[str, str]:
    includes = ((elm.get("library") or {}).get("includes") or {}).get("def") or []
    return {str(i.get("localIdentifier")): str(i.get("path")) for i in includes}


def _nodes(value: Any, types: frozenset[str]) -> Iterator[Elm]:
    """Every ELM node under ``value`` whose ``type`` is one of ``types``."""
    if isinstance(value, dict):
        if value.get("type") in types:
            yield value
        for child in value.values():
            yield from _nodes(child, types)
    elif isinstance(value, list):
        for child in value:
            yield from _nodes(child, types)


_REFERENCES = frozenset({"ExpressionRef", "FunctionRef"})
_RETRIEVES = frozenset({"Retrieve"})


def _type_name(retrieve: Elm) -> str:
    return str(retrieve.get("dataType", "")).rpartition("}")[2]
