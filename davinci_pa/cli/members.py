"""``davinci-pa members choose MEMBER``: record a member's data-sharing choices.

CMS-0057-F lets a member opt out of Provider Access and asks for the member's opt-in before
Payer-to-Payer exchange. The member-services system (or a person at the payer) records what
the member chose; exports honour it from the next run (docs/access.md).
"""

from __future__ import annotations

import argparse
import os

from davinci_pa.store import Database
from davinci_pa.store.access_records import AccessRecords
from davinci_pa.store.clock import utc_now


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``members``."""
    members = commands.add_parser("members", help="members' data-sharing choices")
    verbs = members.add_subparsers(dest="members_command", required=True, metavar="SUBCOMMAND")
    choose = verbs.add_parser("choose", help="record a member's Provider Access / P2P choice")
    choose.add_argument("member", metavar="MEMBER", help="the member id (Coverage MB identifier)")
    choose.add_argument("--provider-access", choices=("opt-out", "allow"))
    choose.add_argument("--payer-to-payer", choices=("opt-in", "none"))
    choose.add_argument("--database-url", help="SQLAlchemy URL (DAVINCI_PA_DATABASE_URL)")
    choose.set_defaults(handler=run_choose)


def run_choose(args: argparse.Namespace) -> int:
    """Record the choices given and print those in force."""
    from davinci_pa.server.settings import ServerSettings

    settings = ServerSettings.from_environ(os.environ, database_url=args.database_url)
    database = Database(settings.database_url)
    database.require_current()
    opted_out, opted_in = AccessRecords(database).choose(
        args.member,
        utc_now(),
        provider_access_opt_out=None
        if args.provider_access is None
        else args.provider_access == "opt-out",
        payer_to_payer_opt_in=None
        if args.payer_to_payer is None
        else args.payer_to_payer == "opt-in",
    )
    provider = "opted out" if opted_out else "allowed"
    payers = "opted in" if opted_in else "not opted in"
    print(f"{args.member}: Provider Access {provider}; Payer-to-Payer {payers}")
    return 0
