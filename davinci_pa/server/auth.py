"""SMART Backend Services routes, :func:`authorize` and :func:`audited` for FHIR routes.

``POST /auth/token``, ``GET /auth/jwks`` and ``GET /fhir/.well-known/smart-configuration``.

The token endpoint answers RFC 6749 error bodies; FHIR routes answer 401/403 with an
OperationOutcome through the app's error handler. Every token request and every audited
route leaves an audit event, refused ones included: action, outcome (``ok`` or the error
code), HTTP status, the authenticated client, the target and the request id; never PHI.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from davinci_pa.auth import (
    AccessGrant,
    AuthService,
    ClientRegistry,
    ExternalIssuer,
    OAuthError,
    SigningKey,
    TokenIssuer,
    generate_signing_jwk,
)
from davinci_pa.auth.scopes import Access
from davinci_pa.auth.tokens import unverified_issuer
from davinci_pa.errors import ConfigurationError, DavinciError, ForbiddenError
from davinci_pa.payer import Payer
from davinci_pa.server.fhir_http import current_payer
from davinci_pa.server.settings import ServerSettings
from davinci_pa.store.audit import AuditEvent, AuditLog
from davinci_pa.store.pas_keys import SharedSigningKey
from davinci_pa.store.replay import DatabaseReplayCache

View = TypeVar("View", bound=Callable[..., Response])

blueprint = Blueprint("smart_auth", __name__)
_KEY = "davinci_pa.auth"
_INSECURE = "davinci_pa.auth.insecure"


def install(app: Flask, settings: ServerSettings, payer: Payer) -> None:
    """Build the payer's AuthService from the settings (unless given) and add the routes."""
    if payer.auth is None:
        payer.auth = build_auth(settings, payer)
    payer.pas.directory = payer.auth.registry
    app.extensions[_KEY] = payer.auth
    app.extensions[_INSECURE] = settings.insecure_disable_jwt
    app.register_blueprint(blueprint)


def token_url() -> str:
    """Our SMART token endpoint (the app's AuthService)."""
    service: AuthService = current_app.extensions[_KEY]
    return service.token_url


def build_auth(settings: ServerSettings, payer: Payer) -> AuthService:
    """The AuthService ``DAVINCI_PA_CLIENTS`` and friends describe."""
    base = settings.public_base_url.rstrip("/")
    registry = ClientRegistry.from_mapping(_json(settings.clients) if settings.clients else {})
    if settings.auth_signing_key:
        jwk = _json(settings.auth_signing_key)
    else:
        jwk = SharedSigningKey(payer.database).load_or_create(generate_signing_jwk)
    issuer = TokenIssuer(SigningKey.from_jwk(jwk), issuer=base + "/auth", audience=base + "/fhir")
    return AuthService(
        registry=registry,
        issuer=issuer,
        token_url=base + "/auth/token",
        replay=DatabaseReplayCache(payer.database),
        external=_external(settings, base + "/fhir"),
    )


def authorize(resource_type: str, access: Access) -> AccessGrant:
    """Check the request's bearer token for ``access`` to ``resource_type`` (401/403)."""
    if current_app.extensions.get(_INSECURE):
        grant = AccessGrant("anonymous", ("system/*.*",), 0, "insecure")
    else:
        service: AuthService = current_app.extensions[_KEY]
        grant = service.authenticate(request.headers.get("Authorization"))
    g.audit_actor = grant.client_id
    AuthService.require(grant, resource_type, access)
    return grant


def require_role(grant: AccessGrant, role: str) -> None:
    """Refuse (403) a client whose ``DAVINCI_PA_CLIENTS`` entry lacks ``role``.

    With JWT checks disabled (local demos) every caller holds every role.
    """
    if current_app.extensions.get(_INSECURE):
        return
    service: AuthService = current_app.extensions[_KEY]
    if not service.registry.has_role(grant.client_id, role):
        raise ForbiddenError(
            f"client {grant.client_id!r} lacks the {role!r} role: only a system registered "
            f'with "roles": ["{role}"] in DAVINCI_PA_CLIENTS may do this'
        )


def audited(action: str) -> Callable[[View], View]:
    """Audit every call of a view: its outcome, or the error that refused it.

    The actor is the client :func:`authorize` authenticated; the target is
    ``g.audit_target`` when the view sets one, else the first URL argument.
    """

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def run(**kwargs: Any) -> Response:
            target = next(iter(kwargs.values()), None)
            try:
                response = view(**kwargs)
            except DavinciError as error:
                _audit(action, error.code, error.http_status, target)
                raise
            except HTTPException as error:
                _audit(action, "http-error", error.code or 500, target)
                raise
            outcome = g.get("audit_outcome") or "ok"
            _audit(action, outcome, response.status_code, g.get("audit_target", target))
            return response

        return cast(View, run)

    return decorate


def _audit(action: str, outcome: str, status: int, target: Any) -> None:
    payer = current_payer()
    actor = g.get("audit_actor")
    event = AuditEvent(
        action, outcome, status, actor, str(target)[:200] if target else None, g.get("request_id")
    )
    AuditLog(payer.database).record(event)


@blueprint.post("/auth/token")
@audited("auth.token")
def token() -> Response:
    """SMART Backend Services token request (form-encoded)."""
    service: AuthService = current_app.extensions[_KEY]
    form = dict(request.form.items())
    claimed = unverified_issuer(form.get("client_assertion", ""))
    try:
        answer = service.token(form)
    except OAuthError as error:
        g.audit_outcome = error.error
        g.audit_target = f"claimed client {claimed}"[:200] if claimed else None
        response = jsonify(error.to_oauth())
        response.status_code = error.status
        response.headers["Cache-Control"] = "no-store"
        return response
    g.audit_actor = claimed
    g.audit_target = answer["scope"]
    response = jsonify(answer)
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/auth/jwks")
def jwks() -> Response:
    """Our public token-signing keys."""
    service: AuthService = current_app.extensions[_KEY]
    return jsonify(service.jwks())


@blueprint.get("/fhir/.well-known/smart-configuration")
def smart_configuration() -> Response:
    """SMART App Launch 2.x discovery document."""
    service: AuthService = current_app.extensions[_KEY]
    return jsonify(service.smart_configuration())


def _json(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}") from exc


def _external(settings: ServerSettings, audience: str) -> list[ExternalIssuer]:
    if not settings.auth_external_issuers:
        return []
    entries = _json(settings.auth_external_issuers)
    if not isinstance(entries, list):
        raise ConfigurationError("DAVINCI_PA_AUTH_EXTERNAL_ISSUERS must hold a JSON list")
    return [
        ExternalIssuer(
            issuer=str(e["issuer"]),
            audience=str(e.get("audience", audience)),
            jwks=e.get("jwks"),
            jwks_url=e.get("jwks_url"),
        )
        for e in entries
        if isinstance(e, dict) and "issuer" in e
    ]
