"""The reviewer workbench: server-rendered pages at ``/review/`` (docs/review.md).

Pages work without JavaScript. Form field names are a contract: login ``username``,
``password``, ``csrf_token``; a decision ``POST /review/requests/{pa_id}/decision`` with
``csrf_token``, ``sequence``, ``action`` (``A1``, ``A3``, ``A4``, ``A6``), ``reason_code``,
``reason`` (and ``quantity`` for a partial approval). Refusals re-render the page with the
reason and the matching status; nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, make_response, redirect, render_template, request, url_for

from davinci_pa.errors import DavinciError, RequestError
from davinci_pa.pas import vocabulary as v
from davinci_pa.pas.decisions import ItemDecision
from davinci_pa.review.accounts import LoginRefused
from davinci_pa.review.roles import ACCOUNT_ROLES, DECISIONS, Actor, allowed_actions
from davinci_pa.review.sessions import Session
from davinci_pa.server.auth import audited
from davinci_pa.server.fhir_http import current_payer
from davinci_pa.server.review.api import iso_time, queue_filter
from davinci_pa.server.review.session import (
    COOKIE,
    LOGIN_COOKIE,
    clear_cookie,
    current_session,
    login_token,
    require_csrf,
    require_login_csrf,
    set_cookie,
)
from davinci_pa.server.review.throttle import LoginThrottle

blueprint = Blueprint(
    "review", __name__, template_folder="templates", static_folder="static", url_prefix="/review"
)
throttle = LoginThrottle()


@blueprint.get("/")
def home() -> Response:
    """The queue when logged in, else the login page."""
    return _go(".queue" if current_session() else ".login")


@blueprint.get("/login")
def login() -> Response:
    """The login form."""
    return _login_page(None, 200)


@blueprint.post("/login")
@audited("review.login")
def login_submit() -> Response:
    """Check the password, open a session, go to the queue."""
    require_login_csrf()
    username = request.form.get("username", "").strip().lower()[:64]
    if not throttle.allow(f"{request.remote_addr}|{username}"):
        return _login_page("Too many attempts for this account; wait a minute.", 429)
    try:
        reviewer = current_payer().review.accounts.authenticate(
            username, request.form.get("password", "")
        )
    except LoginRefused as refused:
        return _login_page(refused.message, 401)
    session = current_payer().review.sessions.open(reviewer)
    response = _go(".queue")
    set_cookie(response, COOKIE, session.token)
    clear_cookie(response, LOGIN_COOKIE)
    return response


@blueprint.post("/logout")
def logout() -> Response:
    """End the session."""
    session = current_session()
    if session is not None:
        require_csrf(session)
        current_payer().review.sessions.close(session.token)
    response = _go(".login")
    clear_cookie(response, COOKIE)
    return response


@blueprint.get("/queue")
def queue() -> Response:
    """Open requests, soonest due first, with filters and pages."""
    session = current_session()
    if session is None:
        return _go(".login")
    wanted = queue_filter(request.args)
    page = current_payer().review.queue(wanted, page=_page_number(), per_page=50)
    return make_response(
        render_template("review/queue.html", session=session, page=page, args=request.args)
    )


@blueprint.get("/requests/<pa_id>")
def request_page(pa_id: str) -> Response:
    """One request: patient, provider, items, why it pended, evidence, history."""
    session = current_session()
    if session is None:
        return _go(".login")
    return _request_page(session, pa_id, None, 200)


@blueprint.post("/requests/<pa_id>/decision")
@audited("review.decide")
def decide(pa_id: str) -> Response:
    """One item's decision from the request page's form."""
    return _act(pa_id, lambda session: _decide(session, pa_id))


@blueprint.post("/requests/<pa_id>/extension")
@audited("review.extend")
def extend(pa_id: str) -> Response:
    """Extend a standard review, with the reason the provider is told."""
    return _act(
        pa_id,
        lambda session: current_payer().review.extend(
            pa_id, request.form.get("reason", ""), _actor(session)
        ),
    )


@blueprint.post("/requests/<pa_id>/appeal")
@audited("review.appeal")
def appeal(pa_id: str) -> Response:
    """Record an appeal of denied items."""
    return _act(pa_id, lambda session: _appeal(session, pa_id))


def _act(pa_id: str, action: Callable[[Session], object]) -> Response:
    session = current_session()
    if session is None:
        return _go(".login")
    require_csrf(session)
    try:
        action(session)
    except DavinciError as refused:
        if refused.http_status == 404:
            raise
        return _request_page(session, pa_id, refused.message, refused.http_status)
    return _go(".request_page", pa_id=pa_id)


def _decide(session: Session, pa_id: str) -> None:
    form = request.form
    sequence = form.get("sequence", "")
    if not sequence.isdecimal():
        raise RequestError("sequence: choose the item to decide")
    action = form.get("action", "")
    if action not in DECISIONS:
        raise RequestError(f"action: choose one of {', '.join(DECISIONS)}")
    reason = form.get("reason", "").strip() or None
    code = form.get("reason_code", "").strip()
    authorized: dict[str, Any] = {}
    if action == v.MODIFIED:
        authorized = current_payer().review.partial_approval(
            pa_id, int(sequence), _quantity(form.get("quantity", ""))
        )
    decision = ItemDecision(
        int(sequence), action, reason, (code,) if code else (), "review", authorized
    )
    current_payer().review.decide(pa_id, [decision], _actor(session))


def _quantity(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise RequestError("quantity: a partial approval needs the approved quantity") from None


def _appeal(session: Session, pa_id: str) -> None:
    form = request.form
    raw = [s.strip() for s in form.getlist("items")]
    if not raw or not all(s.isdecimal() for s in raw):
        raise RequestError("items: tick the denied items the appeal is about")
    current_payer().review.appeal(
        pa_id,
        [int(s) for s in raw],
        received=iso_time(form.get("received", ""), "received"),
        received_from=form.get("from", "").strip()[:256] or None,
        note=form.get("note", "").strip()[:2000] or None,
        actor=_actor(session),
    )


def _actor(session: Session) -> Actor:
    return Actor(session.reviewer.username, session.reviewer.role)


def _request_page(session: Session, pa_id: str, error: str | None, status: int) -> Response:
    view = current_payer().review.request(pa_id)
    role = session.reviewer.role
    page = render_template(
        "review/request.html",
        session=session,
        view=view,
        error=error,
        actions=sorted(allowed_actions(role, current_payer().review.options.policy)),
        reason_codes=current_payer().review.options.reason_codes,
        display=v.ACTION_DISPLAY,
        final=v.FINAL_ACTIONS,
    )
    return make_response(page, status)


def _login_page(error: str | None, status: int) -> Response:
    token = login_token()
    response = make_response(
        render_template("review/login.html", error=error, csrf_token=token, roles=ACCOUNT_ROLES),
        status,
    )
    set_cookie(response, LOGIN_COOKIE, token)
    return response


def _go(endpoint: str, **values: Any) -> Response:
    return make_response(redirect(url_for(endpoint, **values)))


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdecimal() and len(raw) < 7 else 1
