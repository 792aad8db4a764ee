"""Trace every server-side SHALL of CRD, DTR and PAS to the tests that check it.

    .venv/bin/python tools/conformance.py          # writes docs/conformance.md
    .venv/bin/python tools/conformance.py --check  # exit 1 when docs/conformance.md is stale

The statements are the IGs' ``Requirements-fromNarrative.json`` in
``../shared/specs/requirements``: those whose actor is the server side (CRD ``crd-server``
or ``crd-server-org``, DTR ``dtr-server``, PAS ``payer``) and whose conformance is SHALL, or
which carry no conformance at all (the IGs' SHALL NOT statements). Each is

* **cited**: a test names its key in the test function's name or docstring;
* **not applicable**: listed with the reason in ``docs/conformance-na.json``;
* **open**: neither.

A citation is ``<IG> <key>`` (``PAS spec-13``) or a bare key; a bare key belongs to the IG
of the last ``<IG> <key>`` citation before it in the docstring, else to the IG of the module
(``test_crd*``, ``tests/crd``, ``tests/cdshooks``: CRD; ``test_dtr*``, ``tests/dtr``: DTR;
``test_pas*``, ``tests/pas``: PAS), else to the one IG that has the key. In a test name,
write the IG and the key with underscores: ``test_pas_spec_13_...``.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REQUIREMENTS = REPO.parent / "shared" / "specs" / "requirements"
OUTPUT = REPO / "docs" / "conformance.md"
NOT_APPLICABLE = REPO / "docs" / "conformance-na.json"
IGS = {"crd": "CRD 2.2.1", "dtr": "DTR 2.2.0", "pas": "PAS 2.2.1"}
SERVER_ACTORS = {"crd": {"crd-server", "crd-server-org"}, "dtr": {"dtr-server"}, "pas": {"payer"}}
ACTOR = "http://hl7.org/fhir/tools/StructureDefinition/requirements-statementactor"
_KEY = r"[a-z]+(?:-[a-z]+)*-\d+"
_CITATION = re.compile(rf"\b(?:(CRD|DTR|PAS)\s+)?({_KEY})\b")
_MARKDOWN_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")


@dataclass(frozen=True, slots=True)
class Statement:
    """One server-side SHALL (or SHALL NOT) statement of an IG."""

    ig: str
    key: str
    text: str


@dataclass
class Trace:
    """Which tests cite which statements, and which are not applicable."""

    statements: list[Statement]
    citations: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    not_applicable: dict[tuple[str, str], str] = field(default_factory=dict)

    def verdict(self, statement: Statement) -> str:
        """``cited``, ``not applicable`` or ``open``."""
        ident = (statement.ig, statement.key)
        if self.citations.get(ident):
            return "cited"
        return "not applicable" if ident in self.not_applicable else "open"

    def counts(self, ig: str | None = None) -> dict[str, int]:
        """How many statements have each verdict (of one IG, or all)."""
        found = {"cited": 0, "not applicable": 0, "open": 0}
        for statement in self.statements:
            if ig is None or statement.ig == ig:
                found[self.verdict(statement)] += 1
        return found


def server_statements(folder: Path = REQUIREMENTS) -> list[Statement]:
    """The statements that bind a payer-side server, in the IGs' order."""
    found = []
    for ig in IGS:
        data = json.loads((folder / f"{ig}-Requirements-fromNarrative.json").read_text("utf-8"))
        for raw in data["statement"]:
            actors = {e["valueId"] for e in raw.get("extension", []) if e["url"] == ACTOR}
            conformance = raw.get("conformance") or []
            if actors & SERVER_ACTORS[ig] and ("SHALL" in conformance or not conformance):
                found.append(Statement(ig, raw["key"], _plain(raw["requirement"])))
    return found


def _plain(text: str) -> str:
    text = _MARKDOWN_LINK.sub(r"\1", text).replace("**", "")
    return re.sub(r"\s+", " ", text).strip()


def test_functions(root: Path) -> Iterator[tuple[Path, str, str]]:
    """``(file, test id, name and docstring)`` of every test function under ``root``."""
    for path in sorted(root.rglob("test_*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
                "test_"
            ):
                doc = ast.get_docstring(node) or ""
                test_id = f"{path.relative_to(root.parent).as_posix()}::{node.name}"
                yield path, test_id, f"{_name_citations(node.name)}\n{doc}"


def _name_citations(name: str) -> str:
    """``test_pas_spec_13_x`` → ``PAS spec-13``: a name cites only after an IG marker."""
    found = re.findall(r"(?:^|_)(crd|dtr|pas)_((?:[a-z]+_)+?\d+)(?=_|$)", name)
    return " ".join(f"{ig.upper()} {key.replace('_', '-')}" for ig, key in found)


def module_ig(path: Path) -> str | None:
    """The IG a test module's bare citations belong to, when its place says."""
    parts = set(path.parts)
    stem = path.stem
    for ig in IGS:
        if stem.startswith((f"test_{ig}", f"test_{ig}_")) or ig in parts:
            return ig
    return "crd" if "cdshooks" in parts else None


def cited_keys(text: str, default: str | None, owners: dict[str, set[str]]) -> set[tuple[str, str]]:
    """The ``(ig, key)`` pairs a docstring cites."""
    found = set()
    current = default
    for match in _CITATION.finditer(text):
        named, key = match.group(1), match.group(2)
        if named:
            current = named.lower()
        ig = current
        if ig is None and len(owners.get(key, ())) == 1:
            ig = next(iter(owners[key]))
        if ig is not None and key in {k for k, igs in owners.items() if ig in igs}:
            found.add((ig, key))
    return found


def trace(tests: Path = REPO / "tests", folder: Path = REQUIREMENTS) -> Trace:
    """Build the trace from the tests and the not-applicable list."""
    statements = server_statements(folder)
    owners: dict[str, set[str]] = defaultdict(set)
    for statement in statements:
        owners[statement.key].add(statement.ig)
    citations: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path, test_id, text in test_functions(tests):
        for ident in sorted(cited_keys(text, module_ig(path), owners)):
            citations[ident].append(test_id)
    raw = json.loads(NOT_APPLICABLE.read_text("utf-8"))
    na = {(ig, key): reason for ig, entries in raw.items() for key, reason in entries.items()}
    return Trace(statements, dict(citations), na)


def render(result: Trace) -> str:
    """``docs/conformance.md``."""
    total = result.counts()
    lines = [
        "# Conformance: every server-side SHALL, traced",
        "",
        "Generated by `tools/conformance.py` from the tests and `docs/conformance-na.json`;",
        "do not edit by hand (`tests/conformance/test_traceability.py` fails when stale).",
        "",
        "The statements are the IGs' own requirement lists whose actor is the payer side and",
        "whose conformance is SHALL or SHALL NOT. A statement is *cited* when a test names its",
        "key and checks it, *not applicable* with the reason given, or *open*.",
        "",
        "| IG | statements | cited | not applicable | open |",
        "| --- | --- | --- | --- | --- |",
    ]
    for ig, title in IGS.items():
        c = result.counts(ig)
        n = sum(c.values())
        lines.append(f"| {title} | {n} | {c['cited']} | {c['not applicable']} | {c['open']} |")
    n = sum(total.values())
    lines.append(f"| all | {n} | {total['cited']} | {total['not applicable']} | {total['open']} |")
    for ig, title in IGS.items():
        lines += ["", f"## {title}", "", "| key | statement | verdict | tests or reason |"]
        lines.append("| --- | --- | --- | --- |")
        for statement in (s for s in result.statements if s.ig == ig):
            verdict = result.verdict(statement)
            ident = (statement.ig, statement.key)
            if verdict == "cited":
                evidence = "<br>".join(f"`{t}`" for t in result.citations[ident])
            else:
                evidence = result.not_applicable.get(ident, "")
            cells = [statement.key, statement.text, verdict, evidence]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    """Write ``docs/conformance.md`` or, with ``--check``, report whether it is current."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="fail when the file is stale")
    args = parser.parse_args()
    result = trace()
    text = render(result)
    c = result.counts()
    summary = f"{c['cited']} cited, {c['not applicable']} not applicable, {c['open']} open"
    if args.check:
        current = OUTPUT.read_text("utf-8") if OUTPUT.exists() else ""
        if current != text:
            stale = f"{OUTPUT.relative_to(REPO)} is stale: run tools/conformance.py"
            print(stale, file=sys.stderr)
            return 1
        print(f"{OUTPUT.relative_to(REPO)} is current: {summary}")
        return 0
    OUTPUT.write_text(text, "utf-8")
    print(f"wrote {OUTPUT.relative_to(REPO)}: {summary} of {sum(c.values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
