"""``davinci-pa reviewers add|list|disable`` and ``davinci-pa review overdue``.

A password is read from a prompt (asked twice) or, when standard input is not a terminal,
from its first line; it is never a command-line argument. ``review overdue`` lists open
requests past their due time, most overdue first, as a table or ``--json``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from datetime import datetime

from davinci_pa.errors import RequestError
from davinci_pa.review.accounts import Accounts
from davinci_pa.review.roles import ACCOUNT_ROLES
from davinci_pa.store import Database
from davinci_pa.store.clock import utc_now
from davinci_pa.store.review_queue import QueueFilter, ReviewQueue
from davinci_pa.store.review_records import Reviewers, Sessions


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``reviewers`` and ``review``."""
    reviewers = commands.add_parser("reviewers", help="workbench accounts: add, list, disable")
    verbs = reviewers.add_subparsers(dest="reviewers_command", required=True, metavar="SUBCOMMAND")
    add = verbs.add_parser("add", help="create an account (password from a prompt or stdin)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ACCOUNT_ROLES)
    add.set_defaults(handler=run_add)
    listing = verbs.add_parser("list", help="every account with its role and state")
    listing.set_defaults(handler=run_list)
    disable = verbs.add_parser("disable", help="disable an account and end its sessions")
    disable.add_argument("username")
    disable.set_defaults(handler=run_disable)
    review = commands.add_parser("review", help="utilization review: overdue")
    review_verbs = review.add_subparsers(dest="review_command", required=True, metavar="SUBCOMMAND")
    overdue = review_verbs.add_parser("overdue", help="open requests past their due time")
    overdue.add_argument("--json", action="store_true", help="a JSON list instead of a table")
    overdue.set_defaults(handler=run_overdue)
    for parser in (add, listing, disable, overdue):
        parser.add_argument("--database-url", help="SQLAlchemy URL (DAVINCI_PA_DATABASE_URL)")


def run_add(args: argparse.Namespace) -> int:
    """Create an account."""
    password = _read_password()
    reviewer = _accounts(args).add(args.username, args.role, password)
    print(f"added {reviewer.username} ({reviewer.role})")
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Print every account."""
    for reviewer in _accounts(args).all():
        state = "disabled" if reviewer.disabled else "active"
        print(f"{reviewer.username:<24} {reviewer.role:<10} {state}")
    return 0


def run_disable(args: argparse.Namespace) -> int:
    """Disable an account."""
    _accounts(args).disable(args.username)
    print(f"disabled {args.username}")
    return 0


def run_overdue(args: argparse.Namespace) -> int:
    """Print the overdue requests."""
    now = utc_now()
    rows, _ = ReviewQueue(_database(args)).page(QueueFilter(overdue_at=now), limit=10_000, offset=0)
    entries = [
        {
            "pa_id": r.pa_id,
            "claim_identifier": r.claim_identifier,
            "urgent": r.urgent,
            "due": _iso(r.due),
            "hours_overdue": round((now - r.due).total_seconds() / 3600, 1),
        }
        for r in rows
    ]
    if args.json:
        print(json.dumps(entries, indent=2))
        return 0
    print(f"{'DUE (UTC)':<17} {'OVERDUE':>8}  {'URGENCY':<9} PAS IDENTIFIER")
    for entry in entries:
        urgency = "expedited" if entry["urgent"] else "standard"
        due = str(entry["due"])[:16].replace("T", " ")
        print(f"{due:<17} {entry['hours_overdue']:>7}h  {urgency:<9} {entry['claim_identifier']}")
    print(f"{len(entries)} overdue", file=sys.stderr)
    return 0


def _accounts(args: argparse.Namespace) -> Accounts:
    database = _database(args)
    return Accounts(Reviewers(database), Sessions(database))


def _database(args: argparse.Namespace) -> Database:
    from davinci_pa.server.settings import ServerSettings

    settings = ServerSettings.from_environ(os.environ, database_url=args.database_url)
    database = Database(settings.database_url)
    database.require_current()
    return database


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise RequestError("the two passwords differ")
    return first


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
