"""Run the official CQL conformance suite (cqframework/cql-tests) against this engine.

Like cqframework's cql-tests-runner, each test becomes a library whose ``"expression"`` and
``"output"`` defines are evaluated and compared (lists in order, nulls equal to nulls,
other values by CQL equality); tests marked ``invalid`` must fail to translate or raise.
The ELM comes from :mod:`davinci_pa.cql.conformance_elm` (translated once, then cached).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from davinci_pa.cql.conformance_elm import (
    EXPRESSION_DEFINE,
    CompiledCase,
    ConformanceCase,
    compile_suite,
    load_suite,
)
from davinci_pa.cql.encode import encode_value
from davinci_pa.cql.engine import CqlEngine
from davinci_pa.cql.library import LibraryRepository
from davinci_pa.cql.values.equality import equal
from davinci_pa.cql.values.interval import Interval
from davinci_pa.cql.values.temporal_between import Uncertainty
from davinci_pa.cql.values.tuples import CqlTuple
from davinci_pa.errors import CqlError, DavinciError

Progress = Callable[[str], None]
CQL_VERSION = (1, 5)
"""The CQL version this engine implements; a test whose ``versionTo`` is older is skipped."""
FIXED_NOW = datetime.fromisoformat("2024-06-15T12:00:00+00:00")


@dataclass
class CaseResult:
    """Outcome of one test: ``passed``, ``failed`` or ``skipped``, with a reason."""

    key: str
    status: str
    reason: str = ""
    actual: Any = None
    expected: Any = None


@dataclass
class SuiteReport:
    """Per-test results plus totals per file."""

    results: list[CaseResult] = field(default_factory=list)

    def totals(self, prefix: str = "") -> dict[str, int]:
        """Count passed/failed/skipped among results whose key starts with ``prefix``."""
        counts = {"passed": 0, "failed": 0, "skipped": 0}
        for r in self.results:
            if r.key.startswith(prefix):
                counts[r.status] += 1
        return counts

    def to_json(self) -> dict[str, Any]:
        """The per-test results and totals as JSON."""
        return {"totals": self.totals(), "results": [asdict(r) for r in self.results]}


def load_skips(path: Path | None) -> dict[str, str]:
    """Read a skip list: one ``key  # reason`` per line (``#`` lines are comments)."""
    if path is None or not path.exists():
        return {}
    skips: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, _, reason = line.partition("#")
        if key.strip():
            skips[key.strip()] = reason.strip() or "listed in the skip file"
    return skips


def run_suite(
    tests_dir: Path,
    cache_dir: Path,
    *,
    skips: dict[str, str] | None = None,
    progress: Progress | None = None,
    select: Callable[[ConformanceCase], bool] | None = None,
) -> SuiteReport:
    """Translate (cached) and run every test of the suite folder."""
    cases = [c for c in load_suite(tests_dir) if select is None or select(c)]
    compiled = compile_suite(cases, cache_dir, progress=progress)
    report = SuiteReport()
    current = ""
    for case in cases:
        if case.file != current and progress is not None:
            current = case.file
            progress(f"running {case.file}")
        report.results.append(run_case(case, compiled[case.key], (skips or {}).get(case.key)))
    return report


def run_case(case: ConformanceCase, compiled: CompiledCase, skip: str | None) -> CaseResult:
    """Run one test (never raises for engine errors: they become a failed result)."""
    if skip is not None:
        return CaseResult(case.key, "skipped", skip)
    if not applies_to_engine(case):
        return CaseResult(case.key, "skipped", f"applies to CQL {case.version_to} and earlier")
    if case.expects_translation_error:
        ok = bool(compiled.expression_errors) or compiled.elm is None
        return CaseResult(case.key, "passed" if ok else "failed", "" if ok else "translated")
    if compiled.elm is None or compiled.expression_errors:
        if case.expects_runtime_error:
            return CaseResult(case.key, "passed", "rejected by the translator")
        messages = "; ".join(d.message for d in compiled.expression_errors)
        return CaseResult(case.key, "failed", f"translation error: {messages}")
    return _evaluate(case, compiled.elm)


def applies_to_engine(case: ConformanceCase) -> bool:
    """False for a test of a feature removed before :data:`CQL_VERSION` (its ``versionTo``)."""
    if case.version_to is None:
        return True
    parts = tuple(int(p) for p in re.findall(r"\d+", case.version_to))
    return parts >= CQL_VERSION


def _evaluate(case: ConformanceCase, elm: dict[str, Any]) -> CaseResult:
    engine = CqlEngine(LibraryRepository([elm]))
    name = case.library_name
    try:
        actual = engine.evaluate(name, defines=[EXPRESSION_DEFINE], now=FIXED_NOW)
    except DavinciError as exc:
        if case.expects_runtime_error:
            return CaseResult(case.key, "passed", "raised as expected")
        return CaseResult(case.key, "failed", f"error: {exc.message}")
    except (RecursionError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
        return CaseResult(case.key, "failed", f"engine crash: {type(exc).__name__}: {exc}")
    value = actual[EXPRESSION_DEFINE]
    if case.expects_runtime_error:
        return CaseResult(case.key, "failed", "expected an error", _show(value))
    try:
        expected = engine.evaluate(name, defines=case.output_defines, now=FIXED_NOW)
    except CqlError as exc:
        return CaseResult(case.key, "failed", f"expected output failed: {exc.message}")
    for define in case.output_defines:
        if same_value(value, expected[define]):
            return CaseResult(case.key, "passed")
    first = expected[case.output_defines[0]] if case.output_defines else None
    return CaseResult(case.key, "failed", "wrong result", _show(value), _show(first))


def _show(value: Any) -> Any:
    try:
        return encode_value(value)
    except (TypeError, ValueError) as exc:
        return f"<unencodable {type(value).__name__}: {exc}>"


def same_value(actual: Any, expected: Any) -> bool:
    """Test comparison: nulls match nulls, lists in order, otherwise CQL equality."""
    if actual is None or expected is None:
        return actual is None and expected is None
    if isinstance(expected, Interval) and isinstance(actual, Uncertainty):
        actual = Interval(actual.low, actual.high)
    if isinstance(actual, list) and isinstance(expected, list):
        return len(actual) == len(expected) and all(
            same_value(a, e) for a, e in zip(actual, expected, strict=True)
        )
    if isinstance(actual, CqlTuple) and isinstance(expected, CqlTuple):
        return set(actual) == set(expected) and all(
            same_value(actual[k], expected[k]) for k in actual
        )
    if isinstance(actual, Interval) and isinstance(expected, Interval):
        if equal(actual, expected) is True:
            return True
        return (
            same_value(actual.low, expected.low)
            and same_value(actual.high, expected.high)
            and (actual.low_closed, actual.high_closed)
            == (expected.low_closed, expected.high_closed)
        )
    if isinstance(actual, bool) != isinstance(expected, bool):
        return False
    return equal(actual, expected) is True


def print_report(report: SuiteReport, out: Callable[[str], None], files: Sequence[str]) -> None:
    """Print totals per file, then overall; the last line is ``N passed, N failed, N skipped``."""
    for stem in files:
        t = report.totals(stem + "/")
        out(f"{stem}: {t['passed']} passed, {t['failed']} failed, {t['skipped']} skipped")
    t = report.totals()
    out(f"{t['passed']} passed, {t['failed']} failed, {t['skipped']} skipped")


def write_json(report: SuiteReport, path: Path) -> None:
    """Write the per-test results as JSON."""
    path.write_text(json.dumps(report.to_json(), indent=1, default=str), encoding="utf-8")
