"""The FHIR REST client: reads, paged searches, limits, errors and the no-SSRF rules."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import responses

from davinci_pa.errors import FhirServerError, ResourceNotFound
from davinci_pa.fhir.client import AllowList, FhirClient, RequestsFhirClient, same_origin

BASE = "https://ehr.example/fhir"


@pytest.mark.parametrize(
    ("url", "permitted"),
    [
        ("https://ehr.example/fhir", True),
        ("https://ehr.example/fhir/", True),
        ("https://ehr.example/fhir/Patient/1?x=1", True),
        ("https://EHR.example:443/fhir/Patient/1", True),
        ("https://ehr.example/fhirx/Patient/1", False),
        ("https://ehr.example/other", False),
        ("http://ehr.example/fhir/Patient/1", False),
        ("https://ehr.example:8443/fhir/Patient/1", False),
        ("https://ehr.example.evil.com/fhir/Patient/1", False),
        ("https://user:pw@ehr.example/fhir/Patient/1", False),
        ("https://ehr.example/fhir/../admin", False),
        ("https://ehr.example/fhir/%2e%2e/admin", False),
        ("https://ehr.example/fhir/Patient/1 x", False),
        ("ftp://ehr.example/fhir", False),
        ("/fhir/Patient/1", False),
        ("https://ehr.example:99999/fhir", False),
        ("", False),
    ],
)
def test_allow_list(url: str, permitted: bool) -> None:
    assert AllowList([BASE, "https://other.example/"]).permits(url) is permitted


def test_allow_list_with_root_prefix_permits_the_host() -> None:
    allow = AllowList(["https://other.example/"])
    assert allow.permits("https://other.example/r4/Patient/1")
    assert not allow.permits("https://other.example.com/r4")


def test_allow_list_rejects_bad_prefixes() -> None:
    with pytest.raises(ValueError, match="not an absolute"):
        AllowList(["ehr.example/fhir"])


def test_same_origin() -> None:
    assert same_origin("https://a.example/x", "https://A.example:443/y")
    assert not same_origin("https://a.example/x", "http://a.example/x")


@responses.activate
def test_read_sends_token_and_accept() -> None:
    responses.get(f"{BASE}/Patient/1", json={"resourceType": "Patient", "id": "1"})
    client = RequestsFhirClient(BASE, token="t0k")
    assert isinstance(client, FhirClient)
    assert client.read("Patient", "1") == {"resourceType": "Patient", "id": "1"}
    sent = responses.calls[0].request
    assert sent.headers["Authorization"] == "Bearer t0k"
    assert "application/fhir+json" in sent.headers["Accept"]


def _page(ids: list[str], next_url: str | None) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": {"resourceType": "Coverage", "id": i}} for i in ids],
    }
    if next_url:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return bundle


@responses.activate
def test_search_follows_next_links_up_to_the_page_limit() -> None:
    responses.get(f"{BASE}/Coverage", json=_page(["a"], f"{BASE}/Coverage?page=2"))
    responses.get(f"{BASE}/Coverage?page=2", json=_page(["b"], f"{BASE}/Coverage?page=3"))
    responses.get(f"{BASE}/Coverage?page=3", json=_page(["c"], None))
    client = RequestsFhirClient(BASE, max_pages=2)
    bundle = client.search("Coverage", {"patient": "p1", "status": ["active"]})
    assert [e["resource"]["id"] for e in bundle["entry"]] == ["a", "b"]
    assert "link" not in bundle
    assert responses.calls[0].request.url == f"{BASE}/Coverage?patient=p1&status=active"
    assert len(responses.calls) == 2


@responses.activate
def test_next_link_to_another_server_is_refused() -> None:
    responses.get(f"{BASE}/Coverage", json=_page(["a"], "https://evil.example/steal"))
    with pytest.raises(FhirServerError, match="outside the FHIR server base"):
        RequestsFhirClient(BASE).get("Coverage?patient=1")
    assert len(responses.calls) == 1


@responses.activate
def test_same_origin_redirect_is_followed_cross_origin_is_not() -> None:
    responses.get(f"{BASE}/Patient/1", status=301, headers={"Location": "/fhir/Patient/2"})
    responses.get(f"{BASE}/Patient/2", json={"resourceType": "Patient", "id": "2"})
    responses.get(f"{BASE}/Patient/3", status=302, headers={"Location": "https://evil.example/x"})
    client = RequestsFhirClient(BASE)
    assert client.read("Patient", "1")["id"] == "2"
    with pytest.raises(FhirServerError, match="another origin"):
        client.read("Patient", "3")
    assert all("evil" not in str(c.request.url) for c in responses.calls)


@responses.activate
def test_redirect_loops_stop() -> None:
    responses.get(f"{BASE}/Patient/1", status=302, headers={"Location": f"{BASE}/Patient/1"})
    with pytest.raises(FhirServerError, match="too many redirects"):
        RequestsFhirClient(BASE, max_redirects=2).read("Patient", "1")
    assert len(responses.calls) == 3


FAILURES: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"status": 404, "json": {"resourceType": "OperationOutcome"}}, ResourceNotFound, "HTTP 404"),
    ({"status": 410}, ResourceNotFound, "HTTP 410"),
    ({"status": 500}, FhirServerError, "HTTP 500"),
    ({"status": 401}, FhirServerError, "HTTP 401"),
    ({"body": "<html>"}, FhirServerError, "not JSON"),
    ({"json": [1, 2]}, FhirServerError, "not a FHIR resource"),
    ({"json": {"id": "1"}}, FhirServerError, "not a FHIR resource"),
    ({"body": "x" * 2000}, FhirServerError, "byte limit"),
    ({"body": requests.ConnectTimeout("slow")}, FhirServerError, "ConnectTimeout"),
    ({"body": requests.ConnectionError("down")}, FhirServerError, "ConnectionError"),
]


@pytest.mark.parametrize(("reply", "error", "text"), FAILURES, ids=[f[2] for f in FAILURES])
@responses.activate
def test_failures_raise_fhir_errors(
    reply: dict[str, Any], error: type[Exception], text: str
) -> None:
    responses.get(f"{BASE}/Patient/1", **reply)
    with pytest.raises(error, match=text) as caught:
        RequestsFhirClient(BASE, max_bytes=1000).read("Patient", "1")
    if isinstance(reply.get("body"), Exception):
        assert caught.value.__cause__ is reply["body"]


@responses.activate
def test_declared_oversize_body_is_refused_before_reading() -> None:
    responses.get(f"{BASE}/Patient/1", body="{}", headers={"Content-Length": "99999999"})
    with pytest.raises(FhirServerError, match="exceeds"):
        RequestsFhirClient(BASE).read("Patient", "1")


def test_absolute_url_outside_the_base_is_refused_without_a_request() -> None:
    with pytest.raises(FhirServerError, match="outside the FHIR server base"):
        RequestsFhirClient(BASE).get("https://elsewhere.example/fhir/Patient/1")


def test_base_must_be_http() -> None:
    with pytest.raises(ValueError, match="FHIR base"):
        RequestsFhirClient("file:///etc")
