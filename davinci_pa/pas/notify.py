"""PAS Subscriptions and their notifications (PAS 2.2.1 §Subscription; R4 Backport IG).

A Subscription must use the PAS topic, a ``rest-hook`` channel and ``full-resource``
content (spec-56, spec-62), with a filter ``orgIdentifier=`` (or the narrative's
``org-identifier=``) naming the sending system. It is stored as ``requested`` and a
handshake is queued; the handshake's delivery makes it ``active``. Each later decision
queues an ``event-notification``: a ``history`` Bundle whose first entry is the
SubscriptionStatus Parameters and whose focus is the full PAS Response Bundle.

Every field is checked at creation (docs/pas.md §Subscriptions): the endpoint by the
:class:`~davinci_pa.fhir.egress.EgressPolicy` (https, no private addresses unless
allowlisted), ``channel.header`` only ``Authorization`` and ``X-`` headers, the payload a
FHIR JSON media type, and the filter an organization the creating client acts for
(:mod:`davinci_pa.pas.parties`). A decision notifies only Subscriptions whose owner may act
on the decided authorization.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from davinci_pa.errors import ForbiddenError, RequestError, ResourceNotFound
from davinci_pa.fhir.egress import EgressPolicy, EgressRefused
from davinci_pa.fhir.json import obj, objects
from davinci_pa.pas import vocabulary as v
from davinci_pa.pas.parties import Submitter, may_act_on
from davinci_pa.store import Database
from davinci_pa.store.clock import utc_now
from davinci_pa.store.pas_outbox import OutboxMessage, SubscriptionRow, Subscriptions
from davinci_pa.store.pas_records import Authorization
from davinci_pa.types import Resource

BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
FILTER_EXT = BACKPORT + "backport-filter-criteria"
CONTENT_EXT = BACKPORT + "backport-payload-content"
STATUS_PROFILE = BACKPORT + "backport-subscription-status-r4"
_FILTERS = ("orgIdentifier=", "org-identifier=")
PAYLOAD_TYPES = frozenset({"application/fhir+json", "application/json"})
"""Media types a notification may be sent as (we only write JSON)."""
MAX_HEADERS = 10
MAX_HEADER_LENGTH = 4096
MAX_ENDPOINT_LENGTH = 2048
MAX_FILTER_LENGTH = 256

Parties = Callable[[str | None], Submitter | None]
"""Resolves a client id to the :class:`Submitter` it acts as (``None``: the payer)."""


class InvalidSubscription(RequestError):
    """The Subscription is not one this server supports."""

    code = "invalid-subscription"
    issue_type = "not-supported"


class Notifications:
    """Subscription storage and the notifications each event queues."""

    def __init__(
        self,
        database: Database,
        *,
        parties: Parties = lambda client_id: None,
        egress: EgressPolicy | None = None,
        clock: Callable[[], datetime] = utc_now,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.subscriptions = Subscriptions(database, clock=clock)
        self.egress = egress or EgressPolicy()
        self._parties = parties
        self._clock = clock
        self._new_id = new_id

    def create(self, resource: Any, *, owner: str | None) -> Resource:
        """Store a Subscription (status ``requested``) and queue its handshake.

        Raises:
            InvalidSubscription: a field is missing or unsupported (400).
            ForbiddenError: the filter names an organization the owner does not act for.
        """
        row, handshake = self._checked(resource, owner, self._new_id())
        self.subscriptions.create(row, handshake)
        return row.resource

    def update(self, subscription_id: str, resource: Any, *, owner: str | None) -> Resource:
        """Replace a Subscription its owner created (spec-55, spec-59).

        Checked as at creation, ``requested`` again, a new handshake for the new channel.

        Raises:
            InvalidSubscription: a field is missing or unsupported, or the id disagrees.
        """
        self._owned(subscription_id, owner)
        given = obj(resource).get("id")
        if given is not None and given != subscription_id:
            raise InvalidSubscription(
                f"Subscription.id {given!r} does not match the URL's {subscription_id!r}"
            )
        row, handshake = self._checked(resource, owner, subscription_id)
        self.subscriptions.replace(row, handshake)
        return row.resource

    def _checked(
        self, resource: Any, owner: str | None, subscription_id: str
    ) -> tuple[SubscriptionRow, OutboxMessage]:
        org, endpoint = check_subscription(resource, self.egress)
        party = self._parties(owner)
        if party is not None and party.organizations and not party.may_subscribe_to(org):
            raise ForbiddenError(
                f"client {party.client_id!r} is not registered for organization {org!r}; "
                "a Subscription may filter only on the client's own organizations"
            )
        stored = copy.deepcopy(obj(resource))
        stored["id"] = subscription_id
        stored["status"] = "requested"
        row = SubscriptionRow(stored["id"], owner, "requested", org, endpoint, 0, stored)
        handshake = OutboxMessage(
            self._new_id(), row.id, "handshake", lambda n: self._bundle(stored, "handshake", n)
        )
        return row, handshake

    def read(self, subscription_id: str, *, owner: str | None) -> Resource:
        """Return a Subscription its owner created (spec-59)."""
        return self._owned(subscription_id, owner).resource

    def delete(self, subscription_id: str, *, owner: str | None) -> None:
        """Delete a Subscription its owner created (spec-59)."""
        self.subscriptions.delete(self._owned(subscription_id, owner).id)

    def for_decision(
        self, auth: Authorization, response: Resource, reviewer: str | None
    ) -> list[OutboxMessage]:
        """Event notifications for the Subscriptions on the submitter's org.

        Only those whose owner may act on ``auth`` (:mod:`davinci_pa.pas.parties`).
        """
        if not auth.sender_org:
            return []
        messages = []
        for row in self.subscriptions.for_org(auth.sender_org):
            if not may_act_on(self._parties(row.owner), auth):
                continue
            messages.append(
                OutboxMessage(
                    self._new_id(),
                    row.id,
                    "event-notification",
                    _event_builder(self, row.resource, response),
                )
            )
        return messages

    def _owned(self, subscription_id: str, owner: str | None) -> SubscriptionRow:
        row = self.subscriptions.get(subscription_id)
        if row is None:
            raise ResourceNotFound(f"no Subscription {subscription_id}")
        if row.owner != owner:
            raise ForbiddenError("only the system that created a Subscription may use it")
        return row

    def _bundle(
        self, subscription: Resource, kind: str, number: int, focus: Resource | None = None
    ) -> Resource:
        return notification_bundle(
            subscription, kind, number, focus, now=self._clock(), bundle_id=self._new_id()
        )


def _event_builder(
    owner: Notifications, subscription: Resource, response: Resource
) -> Callable[[int], Resource]:
    def build(number: int) -> Resource:
        return owner._bundle(subscription, "event-notification", number, response)

    return build


def check_subscription(resource: Any, egress: EgressPolicy) -> tuple[str, str]:
    """Return (org identifier, endpoint) of a supported PAS Subscription, else raise."""
    sub = obj(resource)
    if sub.get("resourceType") != "Subscription":
        raise InvalidSubscription("the body must be a Subscription")
    problems = []
    if sub.get("criteria") != v.TOPIC:
        problems.append(f"Subscription.criteria must be {v.TOPIC}")
    end = sub.get("end")
    if end is not None and not isinstance(end, str):
        problems.append("Subscription.end must be an instant string")
    channel = sub.get("channel")
    if not isinstance(channel, dict):
        problems.append("Subscription.channel must be an object")
        channel = {}
    problems.extend(_channel_problems(channel, egress))
    org = _org_filter(sub)
    if org is None:
        problems.append("a filter orgIdentifier=<sending system identifier> is required")
    elif len(org) > MAX_FILTER_LENGTH or not _printable(org):
        problems.append("the orgIdentifier filter must be at most 256 printable characters")
    if problems:
        raise InvalidSubscription("unsupported Subscription", details={"problems": problems})
    return str(org), str(channel["endpoint"])


def _channel_problems(channel: Resource, egress: EgressPolicy) -> list[str]:
    problems = []
    if channel.get("type") != "rest-hook":
        problems.append("only the rest-hook channel is supported (PAS spec-56)")
    endpoint = channel.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > MAX_ENDPOINT_LENGTH:
        problems.append("Subscription.channel.endpoint must be a URL of at most 2048 characters")
    else:
        try:
            egress.check(endpoint)
        except EgressRefused as refused:
            problems.append(f"Subscription.channel.endpoint: {refused}")
    payload = channel.get("payload", "application/fhir+json")
    if not isinstance(payload, str) or payload not in PAYLOAD_TYPES:
        problems.append(f"Subscription.channel.payload must be one of {sorted(PAYLOAD_TYPES)}")
    content = [e.get("valueCode") for e in objects(obj(channel.get("_payload")).get("extension"))]
    if "full-resource" not in content:
        problems.append("payload content must be full-resource (PAS spec-62)")
    problems.extend(header_problems(channel.get("header", [])))
    return problems


def header_problems(headers: Any) -> list[str]:
    """What is wrong with a ``channel.header`` list (only ``Authorization`` and ``X-``)."""
    if not isinstance(headers, list) or len(headers) > MAX_HEADERS:
        return [f"Subscription.channel.header must be a list of at most {MAX_HEADERS} strings"]
    problems = []
    for index, header in enumerate(headers):
        where = f"Subscription.channel.header[{index}]"
        if not isinstance(header, str) or len(header) > MAX_HEADER_LENGTH:
            problems.append(f"{where} must be a string of at most {MAX_HEADER_LENGTH} characters")
            continue
        name, sep, value = header.partition(":")
        name = name.strip()
        if not sep or not name or not _printable(header):
            problems.append(f"{where} must be 'Name: value' in printable ASCII")
        elif name.lower() != "authorization" and not name.lower().startswith("x-"):
            problems.append(f"{where}: only Authorization and X- headers may be set, not {name}")
        elif not value.strip():
            problems.append(f"{where} has an empty value")
    return problems


def parse_headers(headers: Any) -> list[tuple[str, str]]:
    """``channel.header`` as (name, value) pairs; call only on a list that passed checks."""
    pairs = []
    for header in headers if isinstance(headers, list) else []:
        name, _, value = str(header).partition(":")
        pairs.append((name.strip(), value.strip()))
    return pairs


def _printable(text: str) -> bool:
    return all(" " <= ch <= "~" for ch in text)


def _org_filter(sub: Resource) -> str | None:
    for ext in objects(obj(sub.get("_criteria")).get("extension")):
        text = ext.get("valueString")
        if ext.get("url") == FILTER_EXT and isinstance(text, str):
            for prefix in _FILTERS:
                if text.startswith(prefix) and text[len(prefix) :]:
                    return text[len(prefix) :]
    return None


def notification_bundle(
    subscription: Resource,
    kind: str,
    number: int,
    focus: Resource | None,
    *,
    now: datetime,
    bundle_id: str,
) -> Resource:
    """A backport notification Bundle: SubscriptionStatus first, then the focus Bundle."""
    sub_id = subscription["id"]
    status = "active" if kind == "event-notification" else "requested"
    parameters: list[Resource] = [
        {"name": "subscription", "valueReference": {"reference": f"Subscription/{sub_id}"}},
        {"name": "topic", "valueCanonical": v.TOPIC},
        {"name": "status", "valueCode": status},
        {"name": "type", "valueCode": kind},
        {"name": "events-since-subscription-start", "valueString": str(number)},
    ]
    entries: list[Resource] = []
    if focus is not None:
        focus_url = f"urn:uuid:{focus['id']}"
        parameters.append(
            {
                "name": "notification-event",
                "part": [
                    {"name": "event-number", "valueString": str(number)},
                    {"name": "timestamp", "valueInstant": _instant(now)},
                    {"name": "focus", "valueReference": {"reference": focus_url}},
                ],
            }
        )
        entries.append(
            {
                "fullUrl": focus_url,
                "resource": focus,
                "request": {"method": "POST", "url": "Bundle"},
                "response": {"status": "201"},
            }
        )
    status_resource = {
        "resourceType": "Parameters",
        "id": bundle_id,
        "meta": {"profile": [STATUS_PROFILE]},
        "parameter": parameters,
    }
    first = {
        "fullUrl": f"urn:uuid:{bundle_id}",
        "resource": status_resource,
        "request": {"method": "GET", "url": f"Subscription/{sub_id}/$status"},
        "response": {"status": "200"},
    }
    return {
        "resourceType": "Bundle",
        "id": bundle_id,
        "type": "history",
        "timestamp": _instant(now),
        "entry": [first, *entries],
    }


def _instant(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
