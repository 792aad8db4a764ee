"""``davinci-pa rules check | test | new``: validate, test and scaffold a rule pack.

``check`` lists every problem as ``file:line: field: message`` (``--json`` for machines) and
exits 1 when there is any; ``test`` runs each topic's cases like pytest (see
:mod:`davinci_pa.crd.rule_cases`); ``new`` writes a topic that ``check`` accepts.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from davinci_pa.rules.content import shipped_rule_pack
from davinci_pa.rules.loader import check_rule_pack


def add_rules_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``rules`` and its subcommands."""
    parser = subparsers.add_parser("rules", help="check, test and scaffold rule packs")
    commands = parser.add_subparsers(dest="rules_command", required=True, metavar="SUBCOMMAND")
    check = commands.add_parser("check", help="list every problem of a rule pack (exit 1 if any)")
    _pack_argument(check)
    check.add_argument("--json", action="store_true", help="print the problems as JSON")
    check.set_defaults(handler=run_check)
    test = commands.add_parser("test", help="run every topic's test cases (exit 1 on a failure)")
    _pack_argument(test)
    test.add_argument("--junit-xml", type=Path, metavar="FILE", help="write a JUnit XML report")
    test.add_argument("-k", dest="select", help="only cases whose file path contains this")
    test.set_defaults(handler=run_test)
    new = commands.add_parser("new", help="scaffold a topic that `rules check` accepts")
    new.add_argument("topic", metavar="TOPIC", help="topic id (lower-case words and dashes)")
    new.add_argument("--pack", type=Path, default=Path("."), help="rule pack folder (default .)")
    new.set_defaults(handler=run_new)


def _pack_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "pack",
        nargs="?",
        type=Path,
        metavar="PACK",
        help="rule pack folder (default: DAVINCI_PA_RULES, else the shipped pack)",
    )


def pack_folder(args: argparse.Namespace) -> Path:
    """The PACK argument, else ``DAVINCI_PA_RULES``, else the shipped pack."""
    if args.pack is not None:
        return Path(args.pack)
    configured = os.environ.get("DAVINCI_PA_RULES")
    return Path(configured) if configured else shipped_rule_pack()


def run_check(args: argparse.Namespace) -> int:
    """Print every problem of the pack; exit 1 when there is one."""
    folder = pack_folder(args)
    started = time.perf_counter()
    pack, problems = check_rule_pack(folder)
    elapsed = time.perf_counter() - started
    if args.json:
        body = {
            "pack": str(folder),
            "ok": not problems,
            "topics": len(pack.topics) if pack else 0,
            "problems": [p.to_json() for p in problems],
        }
        print(json.dumps(body, indent=2))
    else:
        for problem in problems:
            print(problem)
        topics = len(pack.topics) if pack else 0
        verdict = f"{len(problems)} problem(s)" if problems else "no problems"
        print(f"rule pack {folder}: {topics} topic(s), {verdict} ({elapsed:.2f}s)")
    return 1 if problems else 0


def run_test(args: argparse.Namespace) -> int:
    """Run the cases like pytest: progress per topic, a diff per failure, a summary line."""
    from davinci_pa.cli.rules_test import run_cases

    return run_cases(pack_folder(args), junit_xml=args.junit_xml, select=args.select)


def run_new(args: argparse.Namespace) -> int:
    """Write a new topic (CQL library, ELM, a case, a questionnaire stub) into the pack."""
    from davinci_pa.cli.rules_new import scaffold

    for path in scaffold(args.pack, args.topic):
        print(f"wrote {path}")
    return 0
