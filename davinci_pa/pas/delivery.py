"""Delivering queued notifications over rest-hook (R4 Backport IG §rest-hook).

Each notification is POSTed to the Subscription's endpoint with the content type it asked
for (``channel.payload``) and the ``Authorization`` / ``X-`` headers it listed
(``channel.header``), through the :class:`~davinci_pa.fhir.egress.EgressPolicy` (no
redirects, no private addresses unless allowlisted). A 2xx answer marks it delivered (a
handshake then activates the Subscription); anything else, including an error raised while
building or sending it, is a failed attempt retried with exponential backoff by the outbox,
and the last attempt leaves it ``failed`` with the reason. A Subscription's notifications go
out in event-number order, each after the one before it was delivered or given up; one bad
notification never holds up another Subscription's. Any worker may run :meth:`Notifier.run_once`.
"""

from __future__ import annotations

import json
import logging

import requests

from davinci_pa.fhir.egress import EgressPolicy, EgressRefused
from davinci_pa.fhir.json import obj
from davinci_pa.pas.notify import PAYLOAD_TYPES, header_problems, parse_headers
from davinci_pa.store.pas_outbox import Delivery, Outbox, Subscriptions

log = logging.getLogger(__name__)


class Notifier:
    """Sends due notifications from the outbox."""

    def __init__(
        self,
        outbox: Outbox,
        subscriptions: Subscriptions,
        *,
        egress: EgressPolicy | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._outbox = outbox
        self._subscriptions = subscriptions
        self._egress = egress or EgressPolicy()
        self._timeout = timeout

    def run_once(self, limit: int = 20) -> int:
        """Attempt up to ``limit`` due notifications; return how many succeeded.

        The outbox hands out each Subscription's next notification only, so it claims again
        after each batch: a backlog of one Subscription drains in one run, in order.
        """
        attempted = delivered = 0
        while attempted < limit and (batch := self._outbox.claim(limit - attempted)):
            for delivery in batch:
                attempted += 1
                error = self._attempt(delivery)
                if error is None:
                    self._outbox.delivered(delivery.id)
                    self._after_success(delivery)
                    delivered += 1
                elif not self._outbox.failed(delivery, error) and delivery.kind == "handshake":
                    self._set_status(delivery, "error")
        return delivered

    def _attempt(self, delivery: Delivery) -> str | None:
        """Send one notification; the reason it failed, or ``None``."""
        try:
            return self._send(delivery)
        except Exception as exc:  # noqa: BLE001 - one bad row must not stop delivery
            log.warning("notification %s could not be sent: %s", delivery.id, type(exc).__name__)
            return f"{type(exc).__name__}: {exc}"

    def _send(self, delivery: Delivery) -> str | None:
        channel = obj(delivery.subscription.get("channel"))
        problems = header_problems(channel.get("header", []))
        if problems:
            return "; ".join(problems)
        payload = channel.get("payload", "application/fhir+json")
        if not isinstance(payload, str) or payload not in PAYLOAD_TYPES:
            return f"unsupported channel.payload; expected one of {sorted(PAYLOAD_TYPES)}"
        headers = dict(parse_headers(channel.get("header", [])))
        headers["Content-Type"] = payload
        body = json.dumps(delivery.payload, separators=(",", ":")).encode()
        try:
            response = self._egress.post(
                str(channel.get("endpoint")), data=body, headers=headers, timeout=self._timeout
            )
        except EgressRefused as refused:
            return f"endpoint refused: {refused}"
        except requests.RequestException as exc:
            return f"{type(exc).__name__}: {exc}"
        return None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"

    def _after_success(self, delivery: Delivery) -> None:
        if delivery.kind == "handshake":
            self._set_status(delivery, "active")

    def _set_status(self, delivery: Delivery, status: str) -> None:
        resource = {**delivery.subscription, "status": status}
        self._subscriptions.set_status(delivery.subscription_id, status, resource)
