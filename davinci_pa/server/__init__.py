"""The Flask application: ``create_app(settings=None, *, payer=None)``.

``flask --app davinci_pa.server run`` and ``gunicorn 'davinci_pa.server:create_app()'`` both
work; ``davinci-pa serve`` is the usual way in.
"""

from __future__ import annotations

import logging
import os
import uuid
from importlib import resources
from pathlib import Path

from flask import Flask, Response, g, jsonify, request

from davinci_pa.config import CrdOptions, PayerOptions, SecurityOptions
from davinci_pa.pas.options import PasOptions
from davinci_pa.payer import Payer
from davinci_pa.server import auth as auth_routes
from davinci_pa.server import cds
from davinci_pa.server import dtr as dtr_routes
from davinci_pa.server import pas as pas_routes
from davinci_pa.server.errors import register_error_handlers
from davinci_pa.server.fhir_http import PAYER_KEY
from davinci_pa.server.settings import ServerSettings
from davinci_pa.store import Database

log = logging.getLogger("davinci_pa.server")

__all__ = ["ServerSettings", "build_payer", "create_app"]


def create_app(settings: ServerSettings | None = None, *, payer: Payer | None = None) -> Flask:
    """Build the WSGI application; settings default to the ``DAVINCI_PA_*`` environment."""
    settings = settings or ServerSettings.from_environ(os.environ)
    payer = payer or build_payer(settings)
    app = Flask("davinci_pa")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[PAYER_KEY] = payer
    app.register_blueprint(cds.blueprint)
    auth_routes.install(app, settings, payer)
    pas_routes.install(app, settings, payer)
    app.register_blueprint(dtr_routes.blueprint)
    register_error_handlers(app)
    _install_request_hooks(app, settings)
    app.add_url_rule("/healthz", "healthz", lambda: jsonify({"status": "ok"}))
    return app


def build_payer(settings: ServerSettings) -> Payer:
    """Create the payer the settings describe, migrating its database first."""
    if settings.insecure_disable_jwt:
        log.warning("JWT verification is DISABLED: anyone can call this service. Demo use only.")
    database = Database(settings.database_url)
    database.migrate()
    options = PayerOptions(
        crd=CrdOptions(
            default_version=settings.crd_default_version,
            allowed_fhir_servers=settings.allowed_fhir_servers,
        ),
        security=SecurityOptions(
            verify_jwt=not settings.insecure_disable_jwt,
            public_base_url=settings.public_base_url,
        ),
    )
    return Payer.from_rule_pack(
        settings.rules or shipped_rules(),
        database=database,
        trusted_issuers=settings.load_trusted_issuers(),
        options=options,
        dtr_version=settings.dtr_version,
        pas_options=PasOptions(
            default_payer=settings.pas_default_payer,
            profile_packages=tuple(
                p.strip() for p in (settings.ig_packages or "").split(",") if p.strip()
            ),
            subscription_endpoints=settings.allowed_subscription_endpoints,
        ),
    )


def shipped_rules() -> Path:
    """The rule pack that ships with the package (or the source tree's ``cql_rules``)."""
    bundled = Path(str(resources.files("davinci_pa"))) / "_bundled" / "cql_rules"
    if bundled.is_dir():
        return bundled
    return Path(__file__).resolve().parents[2] / "cql_rules"


def _install_request_hooks(app: Flask, settings: ServerSettings) -> None:
    origins = settings.cors_origins

    @app.before_request
    def assign_request_id() -> None:
        g.request_id = str(uuid.uuid4())

    @app.after_request
    def add_headers(response: Response) -> Response:
        response.headers["X-Request-ID"] = getattr(g, "request_id", "")
        origin = request.headers.get("Origin")
        if origin and ("*" in origins or origin in origins):
            response.headers["Access-Control-Allow-Origin"] = "*" if "*" in origins else origin
            response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Access-Control-Expose-Headers"] = "X-Request-ID"
            if "*" not in origins:
                response.headers["Vary"] = "Origin"
        return response
