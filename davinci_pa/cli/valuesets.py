"""``davinci-pa valuesets import FILE|DIR ...``: ValueSets into a rule pack, for offline use."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_valuesets_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Register ``valuesets`` and its subcommands."""
    parser = subparsers.add_parser("valuesets", help="bring ValueSets into a rule pack")
    commands = parser.add_subparsers(dest="valuesets_command", required=True, metavar="SUBCOMMAND")
    p = commands.add_parser("import", help="import ValueSet JSON, Bundles or folders of them")
    p.add_argument("sources", nargs="+", type=Path, metavar="FILE|DIR")
    p.add_argument("--pack", type=Path, default=Path("."), help="rule pack folder (default .)")
    p.set_defaults(handler=run_import)


def run_import(args: argparse.Namespace) -> int:
    """Write the usable ValueSets into ``PACK/valuesets``; exit 1 when some were refused."""
    from davinci_pa.rules.valueset_import import import_valuesets

    report = import_valuesets(list(args.sources), args.pack)
    for path in report.written:
        print(f"wrote {path}")
    for reason in report.refused:
        print(f"refused {reason}", file=sys.stderr)
    print(f"{len(report.written)} imported, {len(report.refused)} refused")
    return 1 if report.refused else 0
