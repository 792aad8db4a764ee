"""The ``davinci-pa`` command line.

``serve`` runs the HTTP service, ``worker`` runs background jobs, ``db upgrade`` migrates
the database, ``config show`` prints the settings, ``reviewers`` manages workbench accounts,
``review overdue`` lists late work, ``metrics`` reports the CMS-0057-F
prior-authorization metrics, ``members choose``
records a member's data-sharing choices, ``keys init`` writes key pairs and trust files, ``hook``
signs and sends a CDS Hooks request and prints the answer readably, ``cql`` compiles and
evaluates CQL, ``rules`` checks, tests and scaffolds rule packs, ``valuesets import`` adds
ValueSets to a pack. The server package is imported lazily, so library-only installs never
load Flask for other commands.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from davinci_pa._version import __version__
from davinci_pa.cli import admin, hook, keys, members, metrics, reviewers, serve, worker
from davinci_pa.errors import DavinciError


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="davinci-pa",
        description="Payer-side HL7 Da Vinci prior authorization (CRD, DTR, PAS).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve.add_command(commands)
    worker.add_command(commands)
    admin.add_commands(commands)
    reviewers.add_commands(commands)
    metrics.add_command(commands)
    members.add_command(commands)
    keys.add_command(commands)
    hook.add_command(commands)
    _add_optional_commands(commands)
    _plain_texts(parser)
    return parser


def _plain_texts(parser: argparse.ArgumentParser) -> None:
    """Drop RST double backticks from every description and help text (argparse prints verbatim)."""
    parser.description = _plain(parser.description)
    parser.epilog = _plain(parser.epilog)
    for action in parser._actions:
        action.help = _plain(action.help)
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                choice.help = _plain(choice.help)
            for sub in action.choices.values():
                _plain_texts(sub)


def _plain(text: str | None) -> str | None:
    return None if text is None else text.replace("``", "")


def _add_optional_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from davinci_pa.cli import cql, dtr, rules, valuesets

    cql.add_cql_commands(commands)
    dtr.add_dtr_commands(commands)
    rules.add_rules_commands(commands)
    valuesets.add_valuesets_commands(commands)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.handler(args)
    except DavinciError as error:
        print(f"davinci-pa: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return status
