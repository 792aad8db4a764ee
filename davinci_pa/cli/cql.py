"""``davinci-pa cql compile | eval | conformance``: translate CQL, run ELM, run the CQL suite.

``eval`` prints ONE JSON object mapping each expression define to its value (encoding in
:mod:`davinci_pa.cql.encode`); ``conformance`` runs the official suite and ends with the line
``N passed, N failed, N skipped``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from davinci_pa.errors import ConfigurationError

DEFAULT_CACHE = Path(".cache/cql-conformance")


def add_cql_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``cql`` and its subcommands."""
    parser = subparsers.add_parser("cql", help="compile CQL, evaluate ELM, run the CQL suite")
    commands = parser.add_subparsers(dest="cql_command", required=True, metavar="SUBCOMMAND")
    _add_compile(commands)
    _add_eval(commands)
    _add_conformance(commands)


def _add_compile(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("compile", help="translate .cql files to ELM JSON (needs node)")
    p.add_argument("paths", nargs="+", type=Path, help=".cql files or folders")
    p.add_argument("--out", type=Path, help="folder for the .json files (default: beside)")
    p.add_argument("--include", action="append", type=Path, default=[], help="include folder")
    p.set_defaults(handler=run_compile)


def _add_eval(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("eval", help="evaluate an ELM library; print its defines as JSON")
    p.add_argument("--elm", action="append", type=Path, required=True, help="ELM folder")
    p.add_argument("--library", required=True, help="library name")
    p.add_argument("--version", help="library version (default: highest loaded)")
    p.add_argument("--data", type=Path, help="patient Bundle JSON")
    p.add_argument("--patient", help="patient id when the Bundle holds several patients")
    p.add_argument("--param", action="append", default=[], help="NAME=FILE.json")
    p.add_argument("--now", help="evaluation date/time (ISO 8601)")
    p.add_argument("--valuesets", type=Path, help="folder of ValueSet JSON")
    p.add_argument(
        "--profile",
        action="store_true",
        help="print per-define evaluation time and call counts, slowest first (stderr)",
    )
    p.set_defaults(handler=run_eval)


def _add_conformance(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("conformance", help="run the CQL conformance suite")
    p.add_argument("--tests", type=Path, required=True, help="cql-tests folder (XML files)")
    p.add_argument("--json", type=Path, help="write per-test results here")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="translated ELM cache")
    p.add_argument("--skips", type=Path, help="skip list (key  # reason per line)")
    p.set_defaults(handler=run_conformance)


def run_compile(args: argparse.Namespace) -> int:
    """Translate CQL to ELM beside the sources (or into ``--out``)."""
    from davinci_pa.cql.compile import CqlTranslationError, compile_paths

    def report(line: str) -> None:
        print(line, file=sys.stderr)

    try:
        written = compile_paths(
            args.paths, out_dir=args.out, include_dirs=args.include, report=report
        )
    except CqlTranslationError as error:
        print(
            f"{len(error.details.get('problems', []))} error(s); nothing written", file=sys.stderr
        )
        return 1
    for path in written:
        print(path)
    return 0


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read {what} {path}: {exc}") from exc


def _parameters(specs: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for spec in specs:
        name, sep, file = spec.partition("=")
        if not sep or not name:
            raise ConfigurationError(f"--param expects NAME=FILE.json, got {spec!r}")
        params[name] = _read_json(Path(file), f"parameter {name}")
    return params


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return (
            int(value)
            if value == value.to_integral_value() and "." not in str(value)
            else float(value)
        )
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def run_eval(args: argparse.Namespace) -> int:
    """Evaluate every expression define and print one JSON object."""
    from davinci_pa.cql import (
        BundleDataProvider,
        CqlEngine,
        LibraryRepository,
        LocalTerminology,
        encode_result,
    )
    from davinci_pa.cql.compile import FHIRHELPERS_DIR
    from davinci_pa.cql.runtime import Profile

    repo = LibraryRepository.from_directories([*args.elm, FHIRHELPERS_DIR])
    terminology = LocalTerminology.from_directory(args.valuesets) if args.valuesets else None
    engine = CqlEngine(repo, terminology=terminology)
    data = None
    if args.data:
        data = BundleDataProvider(_read_json(args.data, "data"), patient_id=args.patient)
    try:
        now = datetime.fromisoformat(args.now) if args.now else None
    except ValueError as exc:
        raise ConfigurationError(f"--now is not an ISO 8601 date/time: {args.now}") from exc
    if now is not None and now.tzinfo is None:
        now = now.astimezone()
    profile = Profile() if args.profile else None
    result = engine.evaluate(
        args.library,
        args.version,
        data=data,
        parameters=_parameters(args.param),
        now=now,
        profile=profile,
    )
    print(json.dumps(encode_result(result), default=_json_default, indent=2))
    if profile is not None:
        _print_profile(profile)
    return 0


def _print_profile(profile: Any) -> None:
    """The profile table on stderr: self and total milliseconds, calls, library.define."""
    print(f"{'self ms':>9} {'total ms':>9} {'calls':>6}  define", file=sys.stderr)
    for t in profile.slowest():
        line = f"{t.self_seconds * 1000:9.3f} {t.seconds * 1000:9.3f} {t.calls:6d}  "
        print(f"{line}{t.library}.{t.define}", file=sys.stderr)


def run_conformance(args: argparse.Namespace) -> int:
    """Run the suite, print per-file totals; the last line is the overall total."""
    from davinci_pa.cql.conformance import load_skips, print_report, run_suite, write_json

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    report = run_suite(args.tests, args.cache, skips=load_skips(args.skips), progress=progress)
    if args.json:
        write_json(report, args.json)
    files = sorted(p.stem for p in args.tests.glob("*.xml"))
    print_report(report, print, files)
    return 0
