"""The registry of SMART Backend Services clients (``DAVINCI_PA_CLIENTS``).

Each registered client has a ``client_id`` and publishes its public keys either inline
(``jwks``) or at a URL (``jwks_url``), as SMART App Launch 2.x §Registering a client asks;
``scope`` optionally narrows what the client may ever be granted.

Two more members tie a client to the people it acts for (docs/pas.md §Who may act on an
authorization):

* ``organizations``: the provider identifiers the client submits for (NPIs, TINs, the
  sending organization's identifier), each a bare ``value`` or ``system|value``. A client
  may update, cancel, inquire about and subscribe to authorizations of these organizations;
  a client that lists none acts only on what it submitted itself.
* ``roles``: ``reviewer`` lets a payer's utilization-management system record decisions;
  an ordinary submitting client has none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from davinci_pa.errors import ConfigurationError

DEFAULT_CLIENT_SCOPE = "system/*.read system/*.write"
"""What a client may request when its registration names no ``scope``."""

ROLES = frozenset({"reviewer", "provider", "payer", "auditor"})
"""Roles a registration may carry: ``reviewer`` decides pended work, ``provider`` reads
Provider Access exports, ``payer`` (another health plan) may call ``$member-match``,
``auditor`` reads the kept CRD call logs (``GET /admin/crd/calls/{hookInstance}``)."""


@dataclass(frozen=True, slots=True)
class RegisteredClient:
    """A client allowed to obtain access tokens."""

    client_id: str
    jwks: Mapping[str, Any] | None = None
    jwks_url: str | None = None
    scope: str = DEFAULT_CLIENT_SCOPE
    organizations: tuple[str, ...] = ()
    roles: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if (self.jwks is None) == (self.jwks_url is None):
            raise ConfigurationError(
                f"client {self.client_id!r} needs exactly one of 'jwks' and 'jwks_url'"
            )
        if self.jwks is not None and not isinstance(self.jwks.get("keys"), list):
            raise ConfigurationError(f"client {self.client_id!r}: 'jwks' has no 'keys' array")


class ClientRegistry:
    """Registered clients by ``client_id``."""

    def __init__(self, clients: Mapping[str, RegisteredClient] | None = None) -> None:
        self._clients = dict(clients or {})

    @classmethod
    def from_mapping(cls, data: Any) -> ClientRegistry:
        """Build from the ``DAVINCI_PA_CLIENTS`` JSON: ``client_id`` → ``{"jwks"|"jwks_url"}``."""
        if not isinstance(data, Mapping):
            raise ConfigurationError("the client registry must be a JSON object")
        return cls({cid: _client(cid, entry) for cid, entry in data.items()})

    def get(self, client_id: str) -> RegisteredClient | None:
        """Return the client registered under ``client_id``."""
        return self._clients.get(client_id)

    def organizations(self, client_id: str) -> frozenset[str]:
        """The provider identifiers the client acts for (empty when unknown)."""
        client = self._clients.get(client_id)
        return frozenset(client.organizations) if client else frozenset()

    def has_role(self, client_id: str, role: str) -> bool:
        """Tell whether the client's registration carries ``role``."""
        client = self._clients.get(client_id)
        return client is not None and role in client.roles

    def __len__(self) -> int:
        return len(self._clients)


def _client(client_id: Any, entry: Any) -> RegisteredClient:
    if not isinstance(client_id, str) or not client_id or not isinstance(entry, Mapping):
        raise ConfigurationError(f"client {client_id!r}: expected an object")
    jwks, url, scope = entry.get("jwks"), entry.get("jwks_url"), entry.get("scope")
    if jwks is not None and not isinstance(jwks, Mapping):
        raise ConfigurationError(f"client {client_id!r}: 'jwks' must be a JWK Set object")
    if url is not None and not (isinstance(url, str) and url.startswith(("https://", "http://"))):
        raise ConfigurationError(f"client {client_id!r}: 'jwks_url' must be an http(s) URL")
    if scope is not None and not isinstance(scope, str):
        raise ConfigurationError(f"client {client_id!r}: 'scope' must be a string")
    return RegisteredClient(
        client_id,
        jwks,
        url,
        scope or DEFAULT_CLIENT_SCOPE,
        _strings(client_id, entry, "organizations"),
        _roles(client_id, entry),
    )


def _strings(client_id: str, entry: Mapping[str, Any], name: str) -> tuple[str, ...]:
    values = entry.get(name, [])
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise ConfigurationError(f"client {client_id!r}: {name!r} must be a list of strings")
    return tuple(v.strip() for v in values)


def _roles(client_id: str, entry: Mapping[str, Any]) -> frozenset[str]:
    roles = frozenset(_strings(client_id, entry, "roles"))
    unknown = sorted(roles - ROLES)
    if unknown:
        raise ConfigurationError(
            f"client {client_id!r}: unknown roles {unknown}; known: {sorted(ROLES)}"
        )
    return roles
