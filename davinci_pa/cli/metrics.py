"""``davinci-pa metrics``: the CMS-0057-F prior-authorization metrics of a year.

Prints the report as JSON (default), CSV or the HTML page, to standard output or
``--output FILE``. The counting rules come from ``DAVINCI_PA_METRICS_RULES`` (the file the
public page uses, so both agree) or ``--counting-rules FILE``; each option can be set
on the command line too (docs/metrics.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from davinci_pa.cli.rules import pack_folder
from davinci_pa.metrics import rules as counting
from davinci_pa.metrics.render import to_csv, to_html
from davinci_pa.metrics.report import FIRST_YEAR, LAST_YEAR, MetricsReporter
from davinci_pa.metrics.rules import CountingRules
from davinci_pa.rules.loader import load_rule_pack
from davinci_pa.store import Database
from davinci_pa.store.pa_metrics import PaMetricsStore

FORMATS = ("json", "csv", "html")


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``metrics``."""
    parser = commands.add_parser(
        "metrics", help="the CMS-0057-F prior-authorization metrics of a year"
    )
    parser.add_argument("--year", type=_year, required=True, help="calendar year, e.g. 2026")
    parser.add_argument("--plan", help="one plan (a payer id of the rule pack); default: all")
    parser.add_argument("--format", choices=FORMATS, default="json", help="default: json")
    parser.add_argument("--output", type=Path, metavar="FILE", help="write here, not stdout")
    parser.add_argument(
        "--rules",
        type=Path,
        dest="pack",
        metavar="PACK",
        help="rule pack folder (default: DAVINCI_PA_RULES, else the shipped pack)",
    )
    parser.add_argument("--database-url", help="SQLAlchemy URL (DAVINCI_PA_DATABASE_URL)")
    rules = parser.add_argument_group("counting rules (default: DAVINCI_PA_METRICS_RULES)")
    rules.add_argument(
        "--counting-rules", type=Path, metavar="FILE", help="a JSON object of the options below"
    )
    rules.add_argument("--count-by", choices=counting.COUNT_BY)
    rules.add_argument("--partial-approval", choices=counting.PARTIAL_AS)
    rules.add_argument("--include-cancelled", action="store_true", default=None)
    rules.add_argument("--appeal-denominator", choices=counting.APPEAL_DENOMINATORS)
    rules.add_argument("--extension-denominator", choices=counting.EXTENSION_DENOMINATORS)
    rules.add_argument(
        "--suppress-below", type=int, metavar="N", help="withhold counts from 1 to N-1 (0: off)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print or write the report; 0 also for a year without data (the report says so)."""
    from davinci_pa.server.settings import ServerSettings

    settings = ServerSettings.from_environ(os.environ, database_url=args.database_url)
    database = Database(settings.database_url)
    database.require_current()
    rules = _counting_rules(args, settings.metrics_rules)
    reporter = MetricsReporter(PaMetricsStore(database), load_rule_pack(pack_folder(args)))
    report = reporter.report(args.year, plan=args.plan, rules=rules)
    if args.format == "csv":
        text = to_csv(report)
    elif args.format == "html":
        text = to_html(report)
    else:
        text = json.dumps(report, indent=2) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    if "message" in report:
        print(f"davinci-pa: {report['message']}", file=sys.stderr)
    return 0


def _counting_rules(args: argparse.Namespace, configured: str | Path | None) -> CountingRules:
    configured = args.counting_rules or configured
    rules = CountingRules.from_file(Path(configured)) if configured else CountingRules()
    given = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(CountingRules)
        if getattr(args, f.name, None) is not None
    }
    return dataclasses.replace(rules, **given)


def _year(raw: str) -> int:
    if not (raw.isdecimal() and len(raw) == 4 and FIRST_YEAR <= int(raw) <= LAST_YEAR):
        raise argparse.ArgumentTypeError(
            f"'{raw}' is not a calendar year from {FIRST_YEAR} to {LAST_YEAR}"
        )
    return int(raw)
