"""``davinci-pa db upgrade`` and ``davinci-pa config show``: run migrations, show settings.

``db upgrade`` brings the schema to this version's revision; run it once per deployment
before the workers start (``make serve`` runs it). ``config show`` prints the effective
``DAVINCI_PA_*`` configuration, one ``NAME=value`` per line, the database password masked;
a bad value is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``db`` and ``config``."""
    db = commands.add_parser("db", help="database schema: upgrade")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="SUBCOMMAND")
    upgrade = db_commands.add_parser(
        "upgrade", help="migrate the schema to this version (once, before starting workers)"
    )
    upgrade.add_argument("--database-url", help="SQLAlchemy URL (DAVINCI_PA_DATABASE_URL)")
    upgrade.set_defaults(handler=run_upgrade)
    config = commands.add_parser("config", help="configuration: show")
    config_commands = config.add_subparsers(
        dest="config_command", required=True, metavar="SUBCOMMAND"
    )
    show = config_commands.add_parser(
        "show", help="print the effective DAVINCI_PA_* settings (secrets masked)"
    )
    show.add_argument("--json", action="store_true", help="one JSON object instead of lines")
    show.set_defaults(handler=run_show)


def run_upgrade(args: argparse.Namespace) -> int:
    """Migrate the configured database and print the revision it is at."""
    from davinci_pa.server.setting_checks import mask_url
    from davinci_pa.server.settings import ServerSettings
    from davinci_pa.store import Database

    settings = ServerSettings.from_environ(os.environ, database_url=args.database_url)
    database = Database(settings.database_url)
    before = database.revision()
    print(f"migrating {mask_url(settings.database_url)} ...", file=sys.stderr, flush=True)
    database.migrate()
    after = database.revision()
    database.dispose()
    change = "already current" if before == after else f"from {before or 'empty'}"
    print(f"database at revision {after} ({change})")
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print every setting; unknown ``DAVINCI_PA_*`` variables are warned about on stderr."""
    from davinci_pa import shipped
    from davinci_pa.server.setting_checks import unknown_variables
    from davinci_pa.server.settings import KNOWN_VARIABLES, ServerSettings

    settings = ServerSettings.from_environ(os.environ)
    for warning in unknown_variables(os.environ, KNOWN_VARIABLES):
        print(f"davinci-pa: warning: {warning}", file=sys.stderr)
    shown = settings.shown()
    if settings.rules is None:
        shown["DAVINCI_PA_RULES"] = f"{shipped.rule_pack()} (shipped)"
    if args.json:
        print(json.dumps(shown, indent=2))
    else:
        print("\n".join(f"{name}={value}" for name, value in shown.items()))
    return 0
