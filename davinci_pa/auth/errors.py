"""OAuth 2.0 errors of the token endpoint (RFC 6749 §5.2), as library errors.

The token endpoint answers ``{"error": ..., "error_description": ...}`` rather than an
OperationOutcome; :meth:`OAuthError.to_oauth` renders that body.
"""

from __future__ import annotations

from typing import Any

from davinci_pa.errors import AuthenticationError


class OAuthError(AuthenticationError):
    """A token request was refused; ``error`` is the RFC 6749 error code."""

    code = "oauth-error"
    http_status = 400

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.status = status

    def to_oauth(self) -> dict[str, Any]:
        """The RFC 6749 §5.2 error body."""
        return {"error": self.error, "error_description": self.message}


def invalid_client(description: str) -> OAuthError:
    """Client authentication failed (RFC 6749: 400 or 401; SMART uses 400 or 401)."""
    return OAuthError("invalid_client", description, status=401)


def invalid_request(description: str) -> OAuthError:
    """The request is malformed."""
    return OAuthError("invalid_request", description)
