"""``davinci-pa serve``: run the HTTP service (a threaded development server).

The database must be current (``davinci-pa db upgrade``; ``make serve`` runs it). Logs are
JSON lines on stderr. ``--workers N`` runs gunicorn with N worker processes and the
settings of :mod:`davinci_pa.gunicorn_conf` instead (see ``docs/deploy.md``).

``--certfile`` and ``--keyfile`` serve HTTPS directly (both servers), for deployments
without a TLS-terminating proxy in front: CDS Hooks calls must travel over TLS (CRD
``sec-2``), and so should every FHIR exchange.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from davinci_pa.errors import ConfigurationError

GUNICORN_CONF = "python:davinci_pa.gunicorn_conf"
FLAG_VARIABLES = {
    "database_url": "DAVINCI_PA_DATABASE_URL",
    "rules": "DAVINCI_PA_RULES",
    "trusted_issuers": "DAVINCI_PA_TRUSTED_ISSUERS",
    "public_base_url": "DAVINCI_PA_PUBLIC_BASE_URL",
    "log_level": "DAVINCI_PA_LOG_LEVEL",
}


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
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="log level (DAVINCI_PA_LOG_LEVEL, default INFO)",
    )
    parser.add_argument(
        "--certfile", type=Path, help="PEM certificate (chain): serve HTTPS with --keyfile"
    )
    parser.add_argument("--keyfile", type=Path, help="PEM private key of --certfile")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="run gunicorn with this many worker processes (default 0: the development server)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Start the server and block until interrupted."""
    if args.workers > 0:
        import davinci_pa.gunicorn_conf  # noqa: F401 - shares metrics before the server loads

    from davinci_pa.server.settings import ServerSettings

    tls = _tls(args)
    scheme = "https" if tls else "http"
    base_url = args.public_base_url or os.environ.get("DAVINCI_PA_PUBLIC_BASE_URL")
    flags = {
        "database_url": args.database_url,
        "rules": args.rules,
        "trusted_issuers": args.trusted_issuers,
        "public_base_url": base_url or f"{scheme}://{args.host}:{args.port}",
        "log_level": args.log_level,
    }
    settings = ServerSettings.from_environ(os.environ, **flags)
    if args.workers > 0:
        return _gunicorn(args, flags, tls)
    from davinci_pa.jobs.engine import stop_embedded_workers
    from davinci_pa.server import create_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the app logs each request
    app = create_app(settings)
    print(f"davinci-pa listening on {scheme}://{args.host}:{args.port}/cds-services", flush=True)
    try:
        app.run(
            host=args.host,
            port=args.port,
            threaded=True,
            use_reloader=False,
            ssl_context=(str(tls[0]), str(tls[1])) if tls else None,
        )
    finally:
        stop_embedded_workers()
    return 0


def _tls(args: argparse.Namespace) -> tuple[Path, Path] | None:
    """The certificate and key to serve HTTPS with, or ``None`` for plain HTTP."""
    cert: Path | None = args.certfile
    key: Path | None = args.keyfile
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise ConfigurationError("HTTPS needs both --certfile and --keyfile")
    for name, path in (("certfile", cert), ("keyfile", key)):
        if not path.is_file():
            raise ConfigurationError(f"--{name} {path}: no such file")
    return cert, key


def _gunicorn(
    args: argparse.Namespace, flags: dict[str, object], tls: tuple[Path, Path] | None
) -> int:
    """Hand over to gunicorn; the flags reach the workers as ``DAVINCI_PA_*`` variables."""
    try:
        from gunicorn.app.wsgiapp import run as run_gunicorn  # type: ignore[import-untyped]
    except ImportError:
        raise ConfigurationError(
            "--workers needs gunicorn: pip install 'davinci-pa[server]'"
        ) from None
    os.environ.update({FLAG_VARIABLES[k]: str(v) for k, v in flags.items() if v is not None})
    sys.argv = [
        "gunicorn",
        f"--config={GUNICORN_CONF}",
        f"--workers={args.workers}",
        f"--bind={args.host}:{args.port}",
        *([f"--certfile={tls[0]}", f"--keyfile={tls[1]}"] if tls else []),
        "davinci_pa.server:create_app()",
    ]
    run_gunicorn()
    return 0
