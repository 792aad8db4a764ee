"""The client side of SMART Backend Services: sign an assertion and obtain a token.

Used by ``examples/``, the benchmark and the tests, and by payer code that calls another
SMART-protected server.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

import jwt as pyjwt
import requests

from davinci_pa.auth.service import ASSERTION_TYPE, GRANT_TYPE
from davinci_pa.errors import AuthenticationError


def sign_client_assertion(
    private_jwk: Mapping[str, Any],
    *,
    client_id: str,
    token_url: str,
    lifetime: int = 240,
    now: float | None = None,
    jti: str | None = None,
) -> str:
    """Sign a client assertion with the key's ``alg`` (RS384 or ES384) and ``kid``."""
    alg = str(private_jwk.get("alg") or ("ES384" if private_jwk.get("kty") == "EC" else "RS384"))
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "iat": issued,
        "exp": issued + lifetime,
        "jti": jti or str(uuid.uuid4()),
    }
    key = pyjwt.PyJWK(dict(private_jwk), algorithm=alg).key
    headers = {"kid": str(private_jwk.get("kid", "")), "typ": "JWT"}
    return pyjwt.encode(claims, key, algorithm=alg, headers=headers)


def token_form(assertion: str, scope: str) -> dict[str, str]:
    """The form fields of a token request."""
    return {
        "grant_type": GRANT_TYPE,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
        "scope": scope,
    }


def fetch_token(
    private_jwk: Mapping[str, Any],
    *,
    client_id: str,
    token_url: str,
    scope: str,
    session: requests.Session | None = None,
) -> str:
    """POST a signed assertion to ``token_url`` and return the access token."""
    assertion = sign_client_assertion(private_jwk, client_id=client_id, token_url=token_url)
    http = session or requests.Session()
    response = http.post(token_url, data=token_form(assertion, scope), timeout=10)
    if response.status_code != 200:
        raise AuthenticationError(f"token request failed: HTTP {response.status_code}")
    token = response.json().get("access_token")
    if not isinstance(token, str):
        raise AuthenticationError("token response has no access_token")
    return token
