"""The registry of SMART Backend Services clients (``DAVINCI_PA_CLIENTS``).

Each registered client has a ``client_id`` and publishes its public keys either inline
(``jwks``) or at a URL (``jwks_url``), as SMART App Launch 2.x §Registering a client asks;
``scope`` optionally narrows what the client may ever be granted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from davinci_pa.errors import ConfigurationError

DEFAULT_CLIENT_SCOPE = "system/*.read system/*.write"
"""What a client may request when its registration names no ``scope``."""


@dataclass(frozen=True, slots=True)
class RegisteredClient:
    """A client allowed to obtain access tokens."""

    client_id: str
    jwks: Mapping[str, Any] | None = None
    jwks_url: str | None = None
    scope: str = DEFAULT_CLIENT_SCOPE

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
    return RegisteredClient(client_id, jwks, url, scope or DEFAULT_CLIENT_SCOPE)
