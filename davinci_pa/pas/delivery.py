"""Delivering queued notifications over rest-hook (R4 Backport IG §rest-hook).

Each notification is POSTed to the Subscription's endpoint with the content type it asked
for (``channel.payload``) and exactly the headers it listed (``channel.header``). A 2xx
answer marks it delivered (a handshake then activates the Subscription); anything else is
retried with exponential backoff by the outbox. Any worker may run :meth:`Notifier.run_once`.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from davinci_pa.fhir.json import obj
from davinci_pa.store.pas_outbox import Delivery, Outbox, Subscriptions


class Notifier:
    """Sends due notifications from the outbox."""

    def __init__(
        self,
        outbox: Outbox,
        subscriptions: Subscriptions,
        *,
        session: requests.Session | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._outbox = outbox
        self._subscriptions = subscriptions
        self._session = session or requests.Session()
        self._timeout = timeout

    def run_once(self, limit: int = 20) -> int:
        """Deliver up to ``limit`` due notifications; return how many succeeded."""
        delivered = 0
        for delivery in self._outbox.claim(limit):
            error = self._send(delivery)
            if error is None:
                self._outbox.delivered(delivery.id)
                self._after_success(delivery)
                delivered += 1
            elif not self._outbox.failed(delivery, error) and delivery.kind == "handshake":
                self._set_status(delivery, "error")
        return delivered

    def _send(self, delivery: Delivery) -> str | None:
        channel = obj(delivery.subscription.get("channel"))
        headers = dict(_headers(channel.get("header")))
        headers["Content-Type"] = str(channel.get("payload") or "application/fhir+json")
        body = json.dumps(delivery.payload, separators=(",", ":")).encode()
        try:
            response = self._session.post(
                str(channel.get("endpoint")),
                data=body,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            return f"{type(exc).__name__}"
        return None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"

    def _after_success(self, delivery: Delivery) -> None:
        if delivery.kind == "handshake":
            self._set_status(delivery, "active")

    def _set_status(self, delivery: Delivery, status: str) -> None:
        resource = {**delivery.subscription, "status": status}
        self._subscriptions.set_status(delivery.subscription_id, status, resource)


def _headers(values: Any) -> list[tuple[str, str]]:
    pairs = []
    for value in values if isinstance(values, list) else []:
        name, sep, content = str(value).partition(":")
        if sep and name.strip():
            pairs.append((name.strip(), content.strip()))
    return pairs
