from __future__ import annotations

from typing import Any

import jwt as pyjwt
import pytest
import responses

from davinci_pa.auth import AuthService, OAuthError
from davinci_pa.auth.client import sign_client_assertion, token_form
from davinci_pa.errors import AuthenticationError, ForbiddenError
from tests.auth.conftest import NOW, TOKEN_URL, private_jwk, public_of


def _assertion(key: dict[str, Any], client_id: str = "ehr-es", **kw: Any) -> str:
    kw.setdefault("now", NOW)
    return sign_client_assertion(key, client_id=client_id, token_url=TOKEN_URL, **kw)


@pytest.mark.parametrize(
    ("client", "key_name", "scope", "granted"),
    [
        (
            "ehr-es",
            "es_key",
            "system/Claim.write system/Claim.read",
            "system/Claim.write system/Claim.read",
        ),
        ("ehr-es", "es_key", "system/*.rs openid", "system/*.rs"),
        ("ehr-rs", "rs_key", "system/Claim.write system/Patient.read", "system/Claim.write"),
        ("ehr-rs", "rs_key", "system/Claim.c", "system/Claim.c"),
    ],
)
def test_token_is_issued_for_granted_scopes(
    auth: AuthService,
    request: pytest.FixtureRequest,
    client: str,
    key_name: str,
    scope: str,
    granted: str,
) -> None:
    key = request.getfixturevalue(key_name)
    answer = auth.token(token_form(_assertion(key, client), scope))
    assert answer["token_type"] == "bearer"
    assert answer["expires_in"] == 300
    assert answer["scope"] == granted
    grant = auth.authenticate("Bearer " + answer["access_token"])
    assert grant.client_id == client
    assert grant.scopes == tuple(granted.split())


def _bad_form(es_key: dict[str, Any], case: str) -> dict[str, str]:
    good = token_form(_assertion(es_key), "system/Claim.write")
    other = private_jwk("ES384", "es-1")
    changes: dict[str, dict[str, str]] = {
        "grant": {"grant_type": "authorization_code"},
        "assertion-type": {"client_assertion_type": "password"},
        "no-assertion": {"client_assertion": ""},
        "no-scope": {"scope": " "},
        "not-jwt": {"client_assertion": "abc.def"},
        "unknown-client": {"client_assertion": _assertion(es_key, "nobody")},
        "wrong-key": {"client_assertion": _assertion(other)},
        "wrong-aud": {
            "client_assertion": sign_client_assertion(
                es_key, client_id="ehr-es", token_url="https://other/token", now=NOW
            )
        },
        "expired": {"client_assertion": _assertion(es_key, now=NOW - 1000)},
        "too-long": {"client_assertion": _assertion(es_key, lifetime=3600)},
        "hs256": {
            "client_assertion": pyjwt.encode(
                {"iss": "ehr-es", "sub": "ehr-es", "aud": TOKEN_URL, "exp": NOW + 60, "jti": "x"},
                "secret-secret-secret-secret-secret",
                algorithm="HS256",
                headers={"kid": "es-1"},
            )
        },
        "scope-not-allowed": {"scope": "patient/Patient.read"},
    }
    return {**good, **changes[case]}


@pytest.mark.parametrize(
    ("case", "error", "status"),
    [
        ("grant", "unsupported_grant_type", 400),
        ("assertion-type", "invalid_request", 400),
        ("no-assertion", "invalid_request", 400),
        ("no-scope", "invalid_request", 400),
        ("not-jwt", "invalid_client", 401),
        ("unknown-client", "invalid_client", 401),
        ("wrong-key", "invalid_client", 401),
        ("wrong-aud", "invalid_client", 401),
        ("expired", "invalid_client", 401),
        ("too-long", "invalid_client", 401),
        ("hs256", "invalid_client", 401),
        ("scope-not-allowed", "invalid_scope", 400),
    ],
)
def test_bad_token_requests_are_refused(
    auth: AuthService, es_key: dict[str, Any], case: str, error: str, status: int
) -> None:
    with pytest.raises(OAuthError) as raised:
        auth.token(_bad_form(es_key, case))
    assert raised.value.error == error
    assert raised.value.status == status
    assert raised.value.to_oauth()["error"] == error


def test_assertion_jti_cannot_be_replayed(auth: AuthService, es_key: dict[str, Any]) -> None:
    form = token_form(_assertion(es_key, jti="once"), "system/Claim.write")
    auth.token(form)
    with pytest.raises(OAuthError, match="already used"):
        auth.token(form)


@responses.activate
def test_jwks_url_clients_are_fetched_and_refreshed(auth: AuthService) -> None:
    old, new = private_jwk("ES384", "old"), private_jwk("ES384", "new")
    url = "https://ehr.example.org/jwks.json"
    responses.get(url, json={"keys": [public_of(old)]})
    responses.get(url, json={"keys": [public_of(old), public_of(new)]})
    auth.token(token_form(_assertion(old, "ehr-url"), "system/Claim.read"))
    answer = auth.token(token_form(_assertion(new, "ehr-url"), "system/Claim.read"))
    assert auth.authenticate("Bearer " + answer["access_token"]).client_id == "ehr-url"
    assert len(responses.calls) == 2


@pytest.mark.parametrize(
    ("scope", "rtype", "access", "allowed"),
    [
        ("system/Claim.write", "Claim", "write", True),
        ("system/Claim.write", "Claim", "read", False),
        ("system/*.read", "Claim", "read", True),
        ("system/*.read", "Claim", "write", False),
        ("system/Claim.cruds", "Claim", "write", True),
        ("system/Claim.rs", "Claim", "read", True),
        ("system/Subscription.c", "Claim", "write", False),
    ],
)
def test_authorize_checks_scopes(
    auth: AuthService, es_key: dict[str, Any], scope: str, rtype: str, access: Any, allowed: bool
) -> None:
    token = auth.token(token_form(_assertion(es_key), scope))["access_token"]
    if allowed:
        assert auth.authorize("Bearer " + token, rtype, access).client_id == "ehr-es"
    else:
        with pytest.raises(ForbiddenError):
            auth.authorize("Bearer " + token, rtype, access)


@pytest.mark.parametrize(
    "header", [None, "", "Basic abc", "Bearer ", "Bearer not-a-token", "Bearer a.b.c"]
)
def test_missing_or_garbage_bearer_is_401(auth: AuthService, header: str | None) -> None:
    with pytest.raises(AuthenticationError) as raised:
        auth.authenticate(header)
    assert raised.value.http_status == 401


def test_expired_or_foreign_tokens_are_401(auth: AuthService, es_key: dict[str, Any]) -> None:
    assert auth.issuer is not None
    token, _ = auth.issuer.issue("ehr-es", ("system/Claim.write",))
    later = type(auth)(
        registry=auth.registry,
        issuer=type(auth.issuer)(
            auth.issuer.key,
            issuer=auth.issuer.issuer,
            audience=auth.issuer.audience,
            clock=lambda: NOW + 301,
        ),
        token_url=TOKEN_URL,
        replay=None,  # type: ignore[arg-type]
    )
    with pytest.raises(AuthenticationError, match="expired"):
        later.authenticate("Bearer " + token)
    forged = pyjwt.encode(
        {"iss": auth.issuer.issuer, "aud": auth.issuer.audience, "exp": NOW + 60, "sub": "x"},
        pyjwt.PyJWK(es_key, algorithm="ES384").key,
        algorithm="ES384",
        headers={"kid": auth.issuer.key.kid},
    )
    with pytest.raises(AuthenticationError):
        auth.authenticate("Bearer " + forged)


def test_smart_configuration_advertises_the_token_endpoint(auth: AuthService) -> None:
    document = auth.smart_configuration()
    assert document["token_endpoint"] == TOKEN_URL
    assert "client-confidential-asymmetric" in document["capabilities"]
    assert document["token_endpoint_auth_signing_alg_values_supported"] == ["RS384", "ES384"]
    assert auth.jwks()["keys"][0]["kid"] == auth.issuer.key.kid if auth.issuer else False
