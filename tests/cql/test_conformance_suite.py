"""The official CQL conformance suite: the pinned pass count, and every other case documented.

``conformance_baseline.json`` pins how many cases pass; the table under "Conformance" in
``docs/cql.md`` lists every case that does not, with the reason.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from davinci_pa.cql.conformance import load_skips, run_suite
from tests._shared import shared_path

HERE = Path(__file__).resolve().parent
DOCS = HERE.parent.parent / "docs" / "cql.md"
CACHE = HERE.parent.parent / ".cache" / "cql-conformance"


@pytest.mark.node
def test_conformance_suite_meets_baseline() -> None:
    tests_dir = shared_path("cql-tests")
    if shutil.which("node") is None:
        pytest.skip("node is not installed: cannot translate the CQL conformance suite")
    baseline = json.loads((HERE / "conformance_baseline.json").read_text(encoding="utf-8"))
    skips = load_skips(HERE / "conformance_skips.txt")
    report = run_suite(tests_dir, CACHE, skips=skips)
    totals = report.totals()
    failures = [f"{r.key}: {r.reason}" for r in report.results if r.status == "failed"]
    undocumented = sorted(
        r.key for r in report.results if r.status != "passed" and r.key not in documented_cases()
    )
    assert not undocumented, "not passing and not in docs/cql.md:\n" + "\n".join(
        f"{r.key}: {r.reason}" for r in report.results if r.key in undocumented
    )
    assert totals["passed"] == baseline["passed"], (
        f"{totals['passed']} passed, baseline {baseline['passed']}: update "
        "conformance_baseline.json and the table in docs/cql.md; failures:\n"
        + "\n".join(failures[:50])
    )
    inapplicable = [r.key for r in report.results if r.reason.startswith("applies to CQL")]
    listed = [k for k in skips if any(r.key == k for r in report.results)]
    assert totals["skipped"] == len(listed) + len(inapplicable)


def test_every_skip_has_a_reason() -> None:
    lines = (HERE / "conformance_skips.txt").read_text(encoding="utf-8").splitlines()
    entries = [line for line in lines if line.strip() and not line.startswith("#")]
    for entry in entries:
        key, sep, reason = entry.partition("#")
        assert key.strip().count("/") == 2, entry
        assert sep, f"skip without a reason: {entry}"
        assert reason.strip(), f"skip without a reason: {entry}"


def documented_cases() -> set[str]:
    """Keys ``file/group/name`` of the rows of the conformance table in docs/cql.md."""
    keys = set()
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or "/" not in cells[1] or not cells[0].startswith(("Cql", "Value")):
            continue
        group, _, names = cells[1].partition("/")
        keys.update(f"{cells[0]}/{group}/{name.strip()}" for name in names.split(","))
    return keys


def test_the_documented_cases_are_few_and_well_formed() -> None:
    keys = documented_cases()
    assert len(keys) == 37, sorted(keys)
    assert all(key.count("/") == 2 for key in keys)
