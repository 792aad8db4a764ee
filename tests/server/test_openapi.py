"""``GET /openapi.json`` describes every non-FHIR route, and only those (issue 15, item 8)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from davinci_pa.server import create_app
from davinci_pa.server.openapi import document
from tests.ops.conftest import settings_for

IGNORED = {"HEAD", "OPTIONS"}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = create_app(settings_for(tmp_path))
    yield app
    app.extensions["davinci_pa.payer"].database.dispose()


def _served(app: Flask) -> set[tuple[str, str]]:
    """(OpenAPI path, method) of every non-FHIR, non-static rule of the URL map."""
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/fhir") or rule.endpoint.endswith("static"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        served |= {(path, method.lower()) for method in (rule.methods or set()) - IGNORED}
    return served


def _described() -> set[tuple[str, str]]:
    return {(path, method) for path, item in document()["paths"].items() for method in item}


def test_every_route_is_described_and_nothing_else(app: Flask) -> None:
    served, described = _served(app), _described()
    assert served - described == set(), "routes missing from openapi.json"
    assert described - served == set(), "openapi.json describes routes not served"


def test_path_parameters_match_the_templates() -> None:
    for path, item in document()["paths"].items():
        names = set(re.findall(r"{([a-z_]+)}", path))
        for method, operation in item.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, f"{method.upper()} {path}"


def test_served_at_openapi_json(app: Flask) -> None:
    response = app.test_client().get("/openapi.json")
    assert response.status_code == 200
    assert response.is_json
    body = response.get_json()
    assert body["openapi"].startswith("3.1")
    assert "/cds-services/{service_id}" in body["paths"]
