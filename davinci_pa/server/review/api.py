"""Reviewers' JSON API, for a payer's utilization-management system and for scripts.

The names are a contract (docs/review.md §API):

* ``GET /review/api/queue``: open requests, soonest due first (a reviewer client's bearer
  token or a workbench session);
* ``POST /admin/pas/{pa_id}/decision``: ``{"items": [{"sequence", "action", "reason"?,
  "reasonCodes"?, "authorized"?}]}``;
* ``POST /admin/pas/{pa_id}/extension``: ``{"reason": ...}``;
* ``POST /admin/pas/{pa_id}/appeal``: ``{"items": [sequence, ...], "received": ISO time,
  "note": ..., "from"?: ...}``.

The ``POST`` routes take a bearer token of a client registered with ``"roles":
["reviewer"]`` (the payer's UM system acts with the ``system`` role).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from davinci_pa.errors import RequestError
from davinci_pa.pas.decisions import ItemDecision
from davinci_pa.review.roles import DECISIONS, SYSTEM, Actor
from davinci_pa.server.auth import audited, authorize, require_role
from davinci_pa.server.fhir_http import current_payer, fhir_response, json_body
from davinci_pa.server.review.session import current_session
from davinci_pa.store.review_queue import QueueFilter, QueueRow

blueprint = Blueprint("review_api", __name__)


def reviewer_client() -> Actor:
    """The calling reviewer client (bearer token with ``ClaimResponse.write``, role)."""
    grant = authorize("ClaimResponse", "write")
    require_role(grant, "reviewer")
    return Actor(grant.client_id, SYSTEM)


@blueprint.get("/review/api/queue")
@audited("review.queue")
def queue() -> Response:
    """Open requests as JSON, soonest due first; ``X-Total-Count`` tells how many match."""
    if current_session() is None:
        reviewer_client()
    page = current_payer().review.queue(
        queue_filter(request.args),
        page=_int_arg("page", 1),
        per_page=_int_arg("per_page", 50),
    )
    body = [queue_entry(row, page.now) for row in page.rows]
    response = jsonify(body)
    response.headers["X-Total-Count"] = str(page.total)
    return response


@blueprint.post("/admin/pas/<pa_id>/decision")
@audited("pas.decide")
def decide(pa_id: str) -> Response:
    """A reviewer client's decisions; the new PAS response Bundle."""
    actor = reviewer_client()
    body = json_body()
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise RequestError("the body must be {'items': [{'sequence': n, 'action': 'A1'}, ...]}")
    decisions = [decision(i) for i in items]
    if len({d.sequence for d in decisions}) != len(decisions):
        raise RequestError("each item sequence may be decided once per call")
    return fhir_response(current_payer().review.decide(pa_id, decisions, actor))


@blueprint.post("/admin/pas/<pa_id>/extension")
@audited("pas.extend")
def extend(pa_id: str) -> Response:
    """Extend a standard review (``{"reason": ...}``); the new due time."""
    actor = reviewer_client()
    body = json_body()
    reason = body.get("reason") if isinstance(body, dict) else None
    if not isinstance(reason, str) or not reason.strip():
        raise RequestError("the body must be {'reason': 'why more time is needed'}")
    entry = current_payer().review.extend(pa_id, reason, actor)
    due = entry.extended_due_at or entry.due_at
    return jsonify({"pa_id": entry.pa_id, "due": _iso(due), "reason": entry.extension_reason})


@blueprint.post("/admin/pas/<pa_id>/appeal")
@audited("pas.appeal")
def appeal(pa_id: str) -> Response:
    """Record an appeal of denied items; the stored appeal."""
    actor = reviewer_client()
    body = json_body()
    if not isinstance(body, dict):
        raise RequestError("the body must be an object with 'items' and 'received'")
    items, note, sender = body.get("items"), body.get("note"), body.get("from")
    if not isinstance(items, list) or not items or not all(type(i) is int for i in items):
        raise RequestError("'items' must be a non-empty list of item sequence numbers")
    if not all(x is None or (isinstance(x, str) and len(x) <= 2000) for x in (note, sender)):
        raise RequestError("'note' and 'from' must be text of at most 2000 characters")
    row = current_payer().review.appeal(
        pa_id,
        items,
        received=iso_time(body.get("received"), "received"),
        received_from=sender,
        note=note,
        actor=actor,
    )
    body = {"id": row.id, "pa_id": row.pa_id, "items": list(row.items)}
    response = jsonify({**body, "received": _iso(row.received_at)})
    response.status_code = 201
    return response


def queue_filter(args: Any) -> QueueFilter:
    """The queue filter from query or form parameters (``urgency``, ``flag``, ``topic``)."""
    urgency = args.get("urgency") or None
    if urgency not in (None, "expedited", "standard"):
        raise RequestError("'urgency' must be 'expedited' or 'standard'")
    flag = args.get("flag") or None
    if flag not in (None, "overdue", "due-soon"):
        raise RequestError("'flag' must be 'overdue' or 'due-soon'")
    topic = args.get("topic") or None
    if topic is not None and len(topic) > 128:
        raise RequestError("'topic' is at most 128 characters")
    return QueueFilter(
        urgent=None if urgency is None else urgency == "expedited", flag=flag, topic=topic
    )


def queue_entry(row: QueueRow, now: datetime) -> dict[str, Any]:
    """One queue row as the API's JSON object."""
    return {
        "pa_id": row.pa_id,
        "claim_identifier": row.claim_identifier,
        "urgent": row.urgent,
        "received": _iso(row.received),
        "due": _iso(row.due),
        "overdue": row.due < now,
        "extended": row.extended,
        "flag": row.flag,
        "topics": list(row.topics),
        "status": row.status,
        "items": [dict(i) for i in row.items],
    }


def decision(item: Any) -> ItemDecision:
    """One item decision of the JSON API, its fields type-checked."""
    if not isinstance(item, dict) or type(item.get("sequence")) is not int:
        raise RequestError("each decision needs an integer 'sequence'")
    action, reason = item.get("action"), item.get("reason")
    if not isinstance(action, str) or action not in DECISIONS:
        raise RequestError(f"'action' must be one of {sorted(DECISIONS)}")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 2000):
        raise RequestError("'reason' must be text of at most 2000 characters")
    codes = item.get("reasonCodes", [])
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        raise RequestError("'reasonCodes' must be a list of strings")
    authorized = _authorized(item.get("authorized", {}))
    return ItemDecision(item["sequence"], action, reason, tuple(codes), "review", authorized)


def iso_time(value: Any, name: str) -> datetime:
    """An ISO 8601 date-time with a time zone."""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if not isinstance(value, str) or moment is None or moment.tzinfo is None:
        raise RequestError(f"'{name}' must be an ISO 8601 date-time with a time zone")
    return moment


def _int_arg(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdecimal() or len(raw) > 6:
        raise RequestError(f"'{name}' must be a positive whole number")
    return int(raw)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _authorized(value: Any) -> dict[str, Any]:
    """What a modified (``A6``) decision grants: a coded ``productOrService``, a ``quantity``.

    Both are copied into the ClaimResponse's ``addItem``, so their shape is checked here.
    """
    if not isinstance(value, dict) or not set(value) <= {"productOrService", "quantity"}:
        raise RequestError("'authorized' must be an object with productOrService and quantity")
    product, quantity = value.get("productOrService"), value.get("quantity")
    if product is not None and not _is_coded(product):
        raise RequestError("'authorized.productOrService' must be {'coding': [{system, code}]}")
    if quantity is not None and not _is_quantity(quantity):
        raise RequestError("'authorized.quantity' must be {'value': number, 'unit'?: text}")
    return value


def _is_coded(value: Any) -> bool:
    if not isinstance(value, dict) or set(value) != {"coding"}:
        return False
    codings = value["coding"]
    return (
        isinstance(codings, list)
        and bool(codings)
        and all(
            isinstance(c, dict)
            and set(c) <= {"system", "code", "display"}
            and all(isinstance(c.get(k), str) and c.get(k) for k in ("system", "code"))
            and isinstance(c.get("display", ""), str)
            for c in codings
        )
    )


def _is_quantity(value: Any) -> bool:
    if not isinstance(value, dict) or not set(value) <= {"value", "unit", "system", "code"}:
        return False
    number = value.get("value")
    texts = [value[k] for k in ("unit", "system", "code") if k in value]
    return (
        isinstance(number, int | float)
        and not isinstance(number, bool)
        and number >= 0
        and all(isinstance(t, str) and t for t in texts)
    )
