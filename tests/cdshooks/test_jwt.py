"""CDS Client JWT verification with the Inferno CRD kit's published test keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
import requests
import responses
from cryptography.hazmat.primitives.asymmetric import ec
from jwt import PyJWK, encode
from jwt.algorithms import ECAlgorithm

from davinci_pa.cdshooks.jwks import JwksUnavailable, RequestsJwksFetcher
from davinci_pa.cdshooks.jwt import JwtVerifier, TrustedIssuer, VerifiedToken, sign_test_token
from davinci_pa.cdshooks.replay import InMemoryReplayCache
from davinci_pa.errors import AuthenticationError, ConfigurationError
from tests._shared import load_shared_json

NOW = 1_760_000_000.0
ISS = "https://inferno.example/custom/crd_server"
JKU = "https://inferno.example/custom/crd_server/jwks.json"
AUD = "https://payer.example/cds-services/order-sign-crd"
ES_KID = "4b49a739d1eb115b3225f4cf9beb6d1b"
RS_KID = "b41528b6f37a9500edb8a905a595bdd7"


def _keys() -> list[dict[str, Any]]:
    keys: list[dict[str, Any]] = load_shared_json("fixtures", "crd", "inferno", "crd_jwks.json")[
        "keys"
    ]
    return keys


def _private(kid: str) -> dict[str, Any]:
    return next(k for k in _keys() if k["kid"] == kid and "d" in k)


def _public_jwks() -> dict[str, Any]:
    return {"keys": [k for k in _keys() if "d" not in k]}


def _verifier(**kwargs: Any) -> JwtVerifier:
    issuer = kwargs.pop("issuer", TrustedIssuer(ISS, jwks=_public_jwks()))
    return JwtVerifier({issuer.iss: issuer}, clock=lambda: NOW, **kwargs)


def _token(kid: str = ES_KID, alg: str = "ES384", **kwargs: Any) -> str:
    kwargs.setdefault("iss", ISS)
    kwargs.setdefault("aud", AUD)
    kwargs.setdefault("now", NOW)
    return sign_test_token(_private(kid), kid=kid, alg=alg, **kwargs)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _raw(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    head = _b64(json.dumps(header).encode())
    body = _b64(json.dumps(payload).encode())
    return f"{head}.{body}.{_b64(signature)}"


def _claims(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISS,
        "aud": AUD,
        "iat": int(NOW),
        "exp": int(NOW) + 300,
        "jti": "j-1",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not ...}


@pytest.mark.parametrize(("kid", "alg"), [(ES_KID, "ES384"), (RS_KID, "RS384")])
def test_valid_tokens_pass(kid: str, alg: str) -> None:
    token = _token(kid, alg, jti="abc", extra_claims={"tenant": "t1", "sub": "ehr"})
    verified = _verifier().verify(token, audience=AUD)
    assert verified == VerifiedToken(
        iss=ISS,
        sub="ehr",
        aud=(AUD,),
        exp=int(NOW) + 300,
        iat=int(NOW),
        jti="abc",
        tenant="t1",
        kid=kid,
        alg=alg,
    )


def test_audience_array_and_several_accepted_audiences() -> None:
    token = _token(aud=["https://other.example", AUD])
    assert _verifier().verify(token, audience=[AUD, AUD + "/"]).aud == (
        "https://other.example",
        AUD,
    )


def _hs256_with_public_key() -> str:
    header = {"alg": "HS256", "typ": "JWT", "kid": ES_KID}
    secret = json.dumps(_public_jwks()["keys"][0]).encode()
    head = _b64(json.dumps(header).encode())
    body = _b64(json.dumps(_claims()).encode())
    signature = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(signature)}"


def _tampered() -> str:
    head, _, signature = _token().split(".")
    body = _b64(json.dumps(_claims(aud=AUD, sub="admin")).encode())
    return f"{head}.{body}.{signature}"


def _foreign_key_token() -> str:
    other = json.loads(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP384R1())))
    return sign_test_token(other, iss=ISS, aud=AUD, kid=ES_KID, alg="ES384", now=NOW)


ATTACKS = [
    (
        "alg none",
        lambda: _raw({"alg": "none", "typ": "JWT", "kid": ES_KID}, _claims()),
        "alg 'none'",
    ),
    (
        "alg None",
        lambda: _raw({"alg": "None", "typ": "JWT", "kid": ES_KID}, _claims()),
        "alg 'none'",
    ),
    ("HS256 with public key", _hs256_with_public_key, "symmetric algorithm HS256"),
    ("expired", lambda: _token(now=NOW - 1000), "expired"),
    ("future iat", lambda: _token(now=NOW + 600), "'iat' claim lies in the future"),
    ("wrong aud", lambda: _token(aud="https://payer.example/cds-services"), "'aud' claim does not"),
    ("untrusted iss", lambda: _token(iss="https://evil.example"), "is not trusted"),
    ("untrusted jku", lambda: _token(jku="https://evil.example/jwks.json"), "not on the allowlist"),
    (
        "unknown kid",
        lambda: sign_test_token(
            _private(ES_KID), iss=ISS, aud=AUD, kid="nope", alg="ES384", now=NOW
        ),
        "no usable key with kid 'nope'",
    ),
    ("tampered payload", _tampered, "signature verification failed"),
    ("signed by another key", _foreign_key_token, "signature verification failed"),
    ("too long lifetime", lambda: _token(lifetime=7200), "lives longer than 3600"),
    (
        "alg not enabled",
        lambda: _raw({"alg": "ES256", "typ": "JWT", "kid": ES_KID}, _claims()),
        "algorithm 'ES256' is not accepted",
    ),
    (
        "RS384 header on EC kid",
        lambda: _raw({"alg": "RS384", "typ": "JWT", "kid": ES_KID}, _claims(), b"x" * 256),
        "no usable key",
    ),
    ("missing typ", lambda: _raw({"alg": "ES384", "kid": ES_KID}, _claims()), "'typ' header"),
    ("missing kid", lambda: _raw({"alg": "ES384", "typ": "JWT"}, _claims()), "'kid' header"),
    ("garbage", lambda: "not.a.jwt", "not a well-formed"),
    ("empty", lambda: "", "missing or oversized"),
    ("missing iss", lambda: _token(iss=""), "'iss' claim is required"),
]


@pytest.mark.parametrize(("name", "make", "reason"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_attacks_fail(name: str, make: Any, reason: str) -> None:
    with pytest.raises(AuthenticationError) as caught:
        _verifier().verify(make(), audience=AUD)
    assert reason in caught.value.message
    assert caught.value.http_status == 401
    assert "BEGIN" not in caught.value.message
    assert _private(ES_KID)["d"] not in caught.value.message


@pytest.mark.parametrize("claim", ["exp", "iat", "jti", "aud"])
def test_missing_claims_fail(claim: str) -> None:
    key = PyJWK(_private(ES_KID), algorithm="ES384").key
    headers = {"kid": ES_KID, "typ": "JWT"}
    token = encode(_claims(**{claim: ...}), key, algorithm="ES384", headers=headers)
    with pytest.raises(AuthenticationError, match=f"'{claim}' claim is required"):
        _verifier().verify(token, audience=AUD)


def test_replayed_jti_fails_but_other_issuers_jti_is_independent() -> None:
    verifier = _verifier()
    token = _token(jti="once")
    verifier.verify(token, audience=AUD)
    with pytest.raises(AuthenticationError, match="replayed"):
        verifier.verify(token, audience=AUD)


def test_failed_token_does_not_burn_its_jti() -> None:
    verifier = _verifier()
    with pytest.raises(AuthenticationError):
        verifier.verify(_token(jti="same", aud="https://wrong"), audience=AUD)
    verifier.verify(_token(jti="same"), audience=AUD)


@pytest.mark.parametrize("algorithms", [["HS256"], ["none"], [], ["ES384", "HS512"]])
def test_symmetric_or_empty_algorithm_configuration_is_refused(algorithms: list[str]) -> None:
    with pytest.raises(ConfigurationError):
        _verifier(algorithms=algorithms)


def test_issuer_needs_a_key_source() -> None:
    with pytest.raises(ConfigurationError):
        TrustedIssuer(ISS)


def test_jwk_alg_member_pins_the_algorithm_and_widening_is_opt_in() -> None:
    token = sign_test_token(_private(RS_KID), iss=ISS, aud=AUD, kid=RS_KID, alg="PS384", now=NOW)
    with pytest.raises(AuthenticationError, match="'PS384' is not accepted"):
        _verifier().verify(token, audience=AUD)
    with pytest.raises(AuthenticationError, match="no usable key"):  # the JWK says RS384
        _verifier(algorithms=["RS384", "PS384"]).verify(token, audience=AUD)
    unpinned = {
        "keys": [{k: v for k, v in key.items() if k != "alg"} for key in _public_jwks()["keys"]]
    }
    verifier = _verifier(algorithms=["RS384", "PS384"], issuer=TrustedIssuer(ISS, jwks=unpinned))
    assert verifier.verify(token, audience=AUD).alg == "PS384"


# --- JWK Sets served over HTTP -------------------------------------------------------------


@responses.activate
def test_allowlisted_jku_is_fetched_once_and_cached() -> None:
    responses.get(JKU, json=_public_jwks())
    issuer = TrustedIssuer(ISS, jku_allowlist=(JKU,))
    verifier = _verifier(issuer=issuer)
    verifier.verify(_token(jku=JKU, jti="a"), audience=AUD)
    verifier.verify(_token(RS_KID, "RS384", jku=JKU, jti="b"), audience=AUD)
    assert len(responses.calls) == 1


@responses.activate
def test_jwks_url_key_rotation_refreshes_once() -> None:
    url = "https://ehr.example/.well-known/jwks.json"
    rs_only = {"keys": [k for k in _public_jwks()["keys"] if k["kid"] == RS_KID]}
    responses.get(url, json=rs_only)
    responses.get(url, json=_public_jwks())
    clock = [NOW]
    fetcher = RequestsJwksFetcher(min_refresh_seconds=0, clock=lambda: clock[0])
    verifier = _verifier(issuer=TrustedIssuer(ISS, jwks_url=url), jwks_fetcher=fetcher)
    verifier.verify(_token(RS_KID, "RS384", jti="1"), audience=AUD)
    verifier.verify(_token(jti="2"), audience=AUD)  # ES kid unknown at first: one refresh
    assert len(responses.calls) == 2


@responses.activate
def test_unknown_kid_refreshes_are_rate_limited() -> None:
    url = "https://ehr.example/jwks"
    responses.get(url, json=_public_jwks())
    verifier = _verifier(issuer=TrustedIssuer(ISS, jwks_url=url))
    for n in range(5):
        token = sign_test_token(
            _private(ES_KID), iss=ISS, aud=AUD, kid=f"k{n}", alg="ES384", now=NOW
        )
        with pytest.raises(AuthenticationError, match="no usable key"):
            verifier.verify(token, audience=AUD)
    assert len(responses.calls) == 1


BAD_JWKS = [
    ({"status": 500, "json": {}}, "HTTP 500"),
    ({"status": 302, "headers": {"Location": "https://evil.example/jwks"}}, "HTTP 302"),
    ({"body": "<html>"}, "is not JSON"),
    ({"json": {"kid": "x"}}, "no 'keys' array"),
    ({"body": "x" * 300_000}, "larger than"),
    ({"body": requests.ConnectionError("refused")}, "could not fetch"),
]


@pytest.mark.parametrize(("reply", "reason"), BAD_JWKS, ids=[r for _, r in BAD_JWKS])
@responses.activate
def test_jwks_fetch_failures_are_authentication_errors(reply: dict[str, Any], reason: str) -> None:
    responses.get(JKU, **reply)
    responses.get("https://evil.example/jwks", json=_public_jwks())
    verifier = _verifier(issuer=TrustedIssuer(ISS, jku_allowlist=(JKU,)))
    with pytest.raises(JwksUnavailable, match=reason):
        verifier.verify(_token(jku=JKU), audience=AUD)
    assert all(call.request.url == JKU for call in responses.calls)


@responses.activate
def test_stale_jwks_is_served_through_an_outage() -> None:
    responses.get(JKU, json=_public_jwks())
    responses.get(JKU, status=503)
    clock = [0.0]
    fetcher = RequestsJwksFetcher(ttl_seconds=10, clock=lambda: clock[0])
    assert fetcher.fetch(JKU)["keys"]
    clock[0] = 100.0
    assert fetcher.fetch(JKU)["keys"]
    assert len(responses.calls) == 2


def test_jwks_url_must_be_http() -> None:
    with pytest.raises(JwksUnavailable, match="http"):
        RequestsJwksFetcher().fetch("file:///etc/passwd")


# --- replay cache --------------------------------------------------------------------------


def test_replay_cache_forgets_expired_entries() -> None:
    now = [100.0]
    cache = InMemoryReplayCache(clock=lambda: now[0])
    assert cache.add_if_new("i", "j", 150.0)
    assert not cache.add_if_new("i", "j", 150.0)
    assert cache.add_if_new("other", "j", 150.0)
    now[0] = 151.0
    assert len(cache) == 0
    assert cache.add_if_new("i", "j", 200.0)


def test_replay_cache_is_bounded() -> None:
    cache = InMemoryReplayCache(clock=lambda: 0.0, max_entries=3)
    for n in range(10):
        assert cache.add_if_new("i", str(n), 1000.0 + n)
    assert len(cache) == 3
    assert not cache.add_if_new("i", "9", 2000.0)
