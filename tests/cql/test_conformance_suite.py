"""The official CQL conformance suite must not regress below the checked-in baseline."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from davinci_pa.cql.conformance import load_skips, run_suite
from tests._shared import shared_path

HERE = Path(__file__).resolve().parent
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
    assert totals["passed"] >= baseline["passed"], (
        f"{totals['passed']} passed < baseline {baseline['passed']}; failures:\n"
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
