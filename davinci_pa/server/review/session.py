"""The workbench session cookie and CSRF checks (docs/review.md §Security).

The cookie holds a random token (``HttpOnly``, ``SameSite=Lax``, ``Secure`` when the public
base URL is https, path ``/review``); the session itself lives in the store, so logout and
the idle timeout end it for good. Every POST carries the session's ``csrf_token``; the
login form, before any session exists, uses a double-submit cookie.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Response, g, request

from davinci_pa.errors import RequestError
from davinci_pa.review.sessions import Session, csrf_matches
from davinci_pa.server.fhir_http import current_payer

COOKIE = "davinci_pa_review"
LOGIN_COOKIE = "davinci_pa_login"
PATH = "/review"


class CsrfRefused(RequestError):
    """A workbench form without this session's CSRF token (400, nothing changed)."""

    code = "csrf-refused"


def current_session() -> Session | None:
    """The live session of this request's cookie, or None."""
    if "review_session" not in g:
        g.review_session = current_payer().review.sessions.resolve(request.cookies.get(COOKIE))
        if g.review_session is not None:
            g.audit_actor = f"reviewer:{g.review_session.reviewer.username}"
    session: Session | None = g.review_session
    return session


def require_csrf(session: Session) -> None:
    """Refuse a form whose ``csrf_token`` is not the session's."""
    if not csrf_matches(session, request.form.get("csrf_token")):
        raise CsrfRefused("the form's csrf_token is missing or wrong; reload the page")


def login_token() -> str:
    """The login form's CSRF token: the cookie's when there is one, else a new one."""
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)


def require_login_csrf() -> None:
    """Refuse a login whose form token differs from its cookie."""
    sent, cookie = request.form.get("csrf_token") or "", request.cookies.get(LOGIN_COOKIE) or ""
    if not (sent and cookie and hmac.compare_digest(sent, cookie)):
        raise CsrfRefused("the login form's csrf_token is missing or wrong; reload the page")


def set_cookie(response: Response, name: str, value: str) -> None:
    """Set a workbench cookie with the flags above."""
    secure = current_payer().options.security.public_base_url.startswith("https://")
    response.set_cookie(name, value, httponly=True, samesite="Lax", secure=secure, path=PATH)


def clear_cookie(response: Response, name: str) -> None:
    """Remove a workbench cookie."""
    response.delete_cookie(name, path=PATH)
