"""Committed ELM is current: every shipped ``X.cql`` recompiles to exactly the ``X.json`` beside it.

One node process translates every library (see davinci_pa/cql/compile.py). Fix a failure with
``davinci-pa cql compile cql_rules questionnaires bench/cql`` (and FHIRHELPERS_DIR) and commit
the regenerated ``.json`` files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from davinci_pa.cql.compile import FHIRHELPERS_DIR, elm_text, translate_sources
from davinci_pa.cql.translator_env import node_available

REPO = Path(__file__).resolve().parents[2]
SOURCE_ROOTS = (
    REPO / "cql_rules",
    REPO / "questionnaires",
    REPO / "bench" / "cql",
    FHIRHELPERS_DIR,
)


def _sources() -> list[Path]:
    return sorted(p for root in SOURCE_ROOTS if root.is_dir() for p in root.rglob("*.cql"))


@pytest.mark.node
def test_shipped_elm_matches_its_cql() -> None:
    if not node_available():
        pytest.skip("Node.js 18+ and npm are needed to recompile CQL; staleness not checked")
    files = _sources()
    assert files, "no .cql sources found"
    sources = {str(f): f.read_text(encoding="utf-8") for f in files}
    include_dirs = sorted({f.parent for f in files})
    results = translate_sources(sources, include_dirs=include_dirs)
    problems = []
    for file in files:
        result = results[str(file)]
        name = file.relative_to(REPO)
        committed = file.with_suffix(".json")
        if not result.ok or result.elm is None:
            problems.append(f"{name}: does not translate: {'; '.join(map(str, result.errors))}")
        elif not committed.is_file():
            problems.append(f"{name}: no committed {committed.name}")
        elif committed.read_text(encoding="utf-8") != elm_text(result.elm):
            problems.append(f"{name}: {committed.name} is stale")
    assert not problems, "recompile and commit the ELM:\n" + "\n".join(problems)
