"""``davinci-pa serve``: run the HTTP service (a threaded development server).

For production run gunicorn on ``davinci_pa.server:create_app()`` (see ``docs/deploy.md``).
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``serve``."""
    parser = commands.add_parser(
        "serve",
        help="run the service",
        description="Run the CDS Hooks / FHIR service. Flags override DAVINCI_PA_* variables.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    parser.add_argument("--database-url", help="SQLAlchemy URL (DAVINCI_PA_DATABASE_URL)")
    parser.add_argument("--rules", type=Path, help="rule pack folder (DAVINCI_PA_RULES)")
    parser.add_argument(
        "--trusted-issuers", type=Path, help="trusted EHR issuers JSON (DAVINCI_PA_TRUSTED_ISSUERS)"
    )
    parser.add_argument("--public-base-url", help="external base URL (DAVINCI_PA_PUBLIC_BASE_URL)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Start the server and block until interrupted."""
    from davinci_pa.server import create_app
    from davinci_pa.server.settings import ServerSettings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    base_url = args.public_base_url or os.environ.get("DAVINCI_PA_PUBLIC_BASE_URL")
    settings = ServerSettings.from_environ(
        os.environ,
        database_url=args.database_url,
        rules=args.rules,
        trusted_issuers=args.trusted_issuers,
        public_base_url=base_url or f"http://{args.host}:{args.port}",
    )
    app = create_app(settings)
    print(f"davinci-pa listening on http://{args.host}:{args.port}/cds-services", flush=True)
    app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)
    return 0
