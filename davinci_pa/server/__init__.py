"""The Flask application: ``create_app(settings=None, *, payer=None)``.

``davinci-pa serve`` runs it for development; production runs gunicorn with
``-c python:davinci_pa.gunicorn_conf 'davinci_pa.server:create_app()'`` after
``davinci-pa db upgrade`` (see ``docs/deploy.md``). The app never migrates the schema: it
refuses to start on a database that is not current.
"""

from __future__ import annotations

import logging
import os
import time
import uuid

from flask import Flask, Response, g, request

from davinci_pa import shipped
from davinci_pa.config import CrdOptions, PayerOptions, SecurityOptions
from davinci_pa.errors import ConfigurationError
from davinci_pa.pas.options import PasOptions
from davinci_pa.payer import Payer
from davinci_pa.server import access as access_routes
from davinci_pa.server import auth as auth_routes
from davinci_pa.server import (
    background,
    cds,
    crd_log,
    health,
    member_match,
    metrics,
    openapi,
    provider_access,
    reports,
)
from davinci_pa.server import dtr as dtr_routes
from davinci_pa.server import pas as pas_routes
from davinci_pa.server import review as review_routes
from davinci_pa.server.errors import register_error_handlers
from davinci_pa.server.fhir_http import PAYER_KEY, current_payer
from davinci_pa.server.json_output import OrjsonProvider
from davinci_pa.server.logs import configure_logging, log_request
from davinci_pa.server.setting_checks import unknown_variables
from davinci_pa.server.settings import KNOWN_VARIABLES, ServerSettings
from davinci_pa.store import Database

log = logging.getLogger("davinci_pa.server")

__all__ = ["ServerSettings", "build_payer", "create_app"]


def create_app(settings: ServerSettings | None = None, *, payer: Payer | None = None) -> Flask:
    """Build the WSGI application; settings default to the ``DAVINCI_PA_*`` environment.

    Raises:
        ConfigurationError: a setting is unusable or the schema is not current.
    """
    settings = settings or ServerSettings.from_environ(os.environ)
    configure_logging(settings.log_level)
    for warning in unknown_variables(os.environ, KNOWN_VARIABLES):
        log.warning(warning)
    payer = payer or build_payer(settings)
    payer.prepare()
    app = Flask("davinci_pa")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json = OrjsonProvider(app)
    app.extensions[PAYER_KEY] = payer
    app.register_blueprint(cds.blueprint)
    auth_routes.install(app, settings, payer)
    pas_routes.install(app)
    review_routes.install(app)
    crd_log.install(app)
    app.register_blueprint(dtr_routes.blueprint)
    register_error_handlers(app)
    _install_request_hooks(app, settings)
    health.install(app, payer)
    background.install(app, settings, payer)
    app.add_url_rule("/metrics", "metrics", _metrics)
    reports.install(app, settings)
    access_routes.install(app, settings)
    provider_access.install(app)
    member_match.install(app)
    openapi.install(app)
    return app


def build_payer(settings: ServerSettings) -> Payer:
    """Create the payer the settings describe, on a database already migrated.

    Raises:
        ConfigurationError: a setting names something unusable (one line each).
        SchemaNotCurrent: run ``davinci-pa db upgrade`` first.
    """
    database = Database(settings.database_url)
    database.require_current()
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
    issuers = settings.load_trusted_issuers()
    payer = Payer.from_rule_pack(
        settings.rules or shipped.rule_pack(),
        database=database,
        trusted_issuers=issuers,
        options=options,
        dtr_version=settings.dtr_version,
        pas_options=PasOptions(
            default_payer=settings.pas_default_payer,
            profile_packages=tuple(
                p.strip() for p in (settings.ig_packages or "").split(",") if p.strip()
            ),
            subscription_endpoints=settings.allowed_subscription_endpoints,
        ),
        export_folder=settings.export_dir,
    )
    _check_default_payer(settings, payer)
    _warn_about_security(settings, bool(issuers))
    return payer


def _check_default_payer(settings: ServerSettings, payer: Payer) -> None:
    known = sorted(p.id for p in payer.rules.pack.payers)
    if settings.pas_default_payer and settings.pas_default_payer not in known:
        raise ConfigurationError(
            f"DAVINCI_PA_PAS_DEFAULT_PAYER={settings.pas_default_payer!r}: expected a payer id "
            f"of the rule pack ({', '.join(known)})"
        )


def _warn_about_security(settings: ServerSettings, has_issuers: bool) -> None:
    if settings.insecure_disable_jwt:
        log.warning("JWT verification is DISABLED: anyone can call this service. Demo use only.")
    elif not has_issuers:
        log.warning(
            "NO TRUSTED EHR ISSUERS: every CDS Hooks call will be refused with 401. Set "
            "DAVINCI_PA_TRUSTED_ISSUERS to a trusted-issuers.json (`davinci-pa keys init` "
            "writes one)."
        )


def _metrics() -> Response:
    body = metrics.exposition(current_payer().database)
    return Response(body, mimetype=None, content_type=metrics.CONTENT_TYPE)


def _install_request_hooks(app: Flask, settings: ServerSettings) -> None:
    origins = settings.cors_origins

    @app.before_request
    def assign_request_id() -> None:
        g.request_id = str(uuid.uuid4())
        g.started = time.perf_counter()

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
        _account(response)
        return response


def _account(response: Response) -> None:
    """Log and count the request (route template only: no ids or PHI from the path)."""
    started = g.get("started", time.perf_counter())
    route = request.url_rule.rule if request.url_rule else "<unmatched>"
    log_request(
        request_id=g.get("request_id", "-"),
        method=request.method,
        route=route,
        status=response.status_code,
        started=started,
        client=g.get("audit_actor"),
    )
    metrics.observe_request(
        route, request.method, response.status_code, time.perf_counter() - started
    )
