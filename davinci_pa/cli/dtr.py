"""``davinci-pa dtr prepopulate``: fill a shipped DTR form from a patient Bundle.

Prints the QuestionnaireResponse (answers from data carry information-origin
``auto-server``); problems (a failing library) go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from davinci_pa.errors import ConfigurationError


def add_dtr_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``dtr`` and its subcommands."""
    parser = subparsers.add_parser("dtr", help="DTR forms: prepopulate from a patient record")
    commands = parser.add_subparsers(dest="dtr_command", required=True, metavar="SUBCOMMAND")
    p = commands.add_parser("prepopulate", help="prepopulate a form; print the response")
    p.add_argument("questionnaire", help="form canonical (url or url|version) or topic id")
    p.add_argument("--data", type=Path, required=True, help="patient record (Bundle JSON)")
    p.add_argument("--patient", help="patient id when the Bundle holds several patients")
    p.add_argument("--now", help="evaluation date/time (ISO 8601)")
    p.set_defaults(handler=run_prepopulate)


def run_prepopulate(args: argparse.Namespace) -> int:
    """Prepopulate and print the QuestionnaireResponse as JSON."""
    from davinci_pa.dtr import PrepopulationContext, Prepopulator
    from davinci_pa.dtr.service import shipped_content

    content = shipped_content()
    canonical = str(args.questionnaire)
    if "/" not in canonical:
        canonical = f"{content.base}/Questionnaire/{canonical}"
    form = content.definition(canonical)
    if form is None:
        raise ConfigurationError(f"no shipped questionnaire {canonical}")
    try:
        data = json.loads(Path(args.data).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read patient data {args.data}: {exc}") from exc
    now = datetime.fromisoformat(args.now) if args.now else None
    context = PrepopulationContext(patient_id=args.patient, now=now)
    result = Prepopulator(content).populate(form, data, context)
    for problem in result.problems:
        print(f"davinci-pa: {problem}", file=sys.stderr)
    print(json.dumps(result.response, indent=2))
    return 0
