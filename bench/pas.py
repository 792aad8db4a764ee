"""PAS $submit benchmark, in process: p50/p99 of the 112 KB must-support Bundle.

    .venv/bin/python bench/pas.py [--runs 200] [--validate]

Each run submits the must-support Bundles with a fresh Bundle.identifier (so nothing is
answered from the duplicate cache) against a SQLite file database.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from davinci_pa.pas.options import PasOptions  # noqa: E402
from davinci_pa.pas.service import PasService  # noqa: E402
from davinci_pa.rules.cql_evaluator import CqlTopicEvaluator  # noqa: E402
from davinci_pa.rules.evaluation import RuleBook  # noqa: E402
from davinci_pa.rules.loader import load_rule_pack  # noqa: E402
from davinci_pa.store import Database  # noqa: E402

SHARED = REPO.parent / "shared"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--validate", action="store_true", help="profile-validate each Bundle")
    args = parser.parse_args()
    payload = SHARED / "fixtures/pas/v2.2.1/must_support_pa_submit_request_payload.json"
    bundles = json.loads(payload.read_text())
    folder = REPO / "cql_rules"
    pack = load_rule_pack(folder)
    rules = RuleBook(pack, evaluator=CqlTopicEvaluator.for_pack(folder, pack))
    validator = None
    if args.validate:
        from davinci_pa.fhir.validation import Validator

        validator = Validator.from_packages([SHARED / "igs/davinci_pas_2.2.1.tgz"])
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.sqlite3")
        db.migrate()
        service = PasService(
            rules=rules,
            database=db,
            options=PasOptions(default_payer="medicare-demo"),
            validator=validator,
        )
        timings = []
        for run in range(args.runs + 10):
            bundle = copy.deepcopy(bundles[run % len(bundles)])
            bundle["identifier"]["value"] = f"bench-{run}"
            start = time.perf_counter()
            service.submit(bundle, submitter="bench")
            if run >= 10:
                timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    p99 = timings[int(len(timings) * 0.99) - 1]
    size = len(json.dumps(bundles[0]))
    print(
        f"$submit in process ({size // 1024} KB Bundle, validate={args.validate}): "
        f"p50 {statistics.median(timings):.1f} ms, p99 {p99:.1f} ms over {len(timings)} runs"
    )


if __name__ == "__main__":
    main()
