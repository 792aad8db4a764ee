"""``davinci-pa rules test``: run a pack's cases, print like pytest, optionally JUnit XML."""

from __future__ import annotations

import sys
import time
import xml.etree.ElementTree as ET
from itertools import groupby
from pathlib import Path

from davinci_pa.crd.rule_cases import CaseError, CaseResult, case_files, load_case, run_case
from davinci_pa.rules.cql_evaluator import CqlTopicEvaluator
from davinci_pa.rules.evaluation import RuleBook
from davinci_pa.rules.loader import load_rule_pack

Outcome = tuple[Path, CaseResult | None, str | None]
"""A case file with its result, or the reason it could not run."""


def run_cases(pack_dir: Path, *, junit_xml: Path | None = None, select: str | None = None) -> int:
    """Run every case of the pack; return 0 when all pass, 1 otherwise."""
    started = time.perf_counter()
    pack = load_rule_pack(pack_dir)
    rules = RuleBook(pack, evaluator=CqlTopicEvaluator.for_pack(pack_dir, pack))
    files = [f for f in case_files(pack_dir) if not select or select in f.as_posix()]
    print(f"rule pack {pack_dir}: {len(files)} case(s)")
    outcomes: list[Outcome] = []
    for topic, group in groupby(files, key=lambda f: f.parent.parent.name):
        sys.stdout.write(f"{topic}/tests ")
        for file in group:
            outcome = _run_one(file, pack_dir, rules)
            outcomes.append(outcome)
            sys.stdout.write(
                "." if outcome[1] and outcome[1].passed else ("E" if outcome[2] else "F")
            )
            sys.stdout.flush()
        sys.stdout.write("\n")
    elapsed = time.perf_counter() - started
    _report(outcomes, pack_dir, elapsed)
    if junit_xml is not None:
        _write_junit(outcomes, pack_dir, junit_xml, elapsed)
    return 0 if all(r and r.passed for _, r, _e in outcomes) and outcomes else 1


def _run_one(file: Path, pack_dir: Path, rules: RuleBook) -> Outcome:
    try:
        case = load_case(file, rules.pack)
    except CaseError as error:
        return file, None, str(error).replace(pack_dir.as_posix() + "/", "")
    return file, run_case(case, rules), None


def _report(outcomes: list[Outcome], pack_dir: Path, elapsed: float) -> None:
    bad = [o for o in outcomes if not (o[1] and o[1].passed)]
    if bad:
        print("=" * 30 + " FAILURES " + "=" * 30)
    for file, result, error in bad:
        name = file.relative_to(pack_dir).as_posix()
        print(f"_____ {name}" + (f" ({result.case.name})" if result else "") + " _____")
        for line in [error] if error else result.differences if result else []:
            print(f"  {line}")
    passed = sum(1 for _, r, _e in outcomes if r and r.passed)
    failed = sum(1 for _, r, _e in outcomes if r and not r.passed)
    errors = sum(1 for *_, e in outcomes if e)
    parts = (
        [f"{passed} passed"]
        + [f"{failed} failed"] * bool(failed)
        + [f"{errors} error(s)"] * bool(errors)
    )
    print(f"{', '.join(parts)} in {elapsed:.2f}s")


def _write_junit(outcomes: list[Outcome], pack_dir: Path, path: Path, elapsed: float) -> None:
    suite = ET.Element(
        "testsuite",
        name=f"davinci-pa rules {pack_dir.name}",
        tests=str(len(outcomes)),
        failures=str(sum(1 for _, r, _e in outcomes if r and not r.passed)),
        errors=str(sum(1 for *_, e in outcomes if e)),
        time=f"{elapsed:.3f}",
    )
    for file, result, error in outcomes:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=file.parent.parent.name,
            name=file.stem,
            file=file.relative_to(pack_dir).as_posix(),
        )
        if error:
            ET.SubElement(case, "error", message=error).text = error
        elif result and not result.passed:
            text = "\n".join(result.differences)
            ET.SubElement(case, "failure", message=result.differences[0]).text = text
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
