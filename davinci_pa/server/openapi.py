"""``GET /openapi.json``: the OpenAPI 3.1 description of every non-FHIR route.

The document is hand-written (``openapi.json`` beside this module); FHIR routes under
``/fhir`` are described by the CapabilityStatement instead. ``tests/server/test_openapi.py``
keeps it and the URL map in step.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from flask import Flask, Response, jsonify


@cache
def document() -> dict[str, Any]:
    """The OpenAPI document shipped in the package."""
    text = resources.files(__package__).joinpath("openapi.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def install(app: Flask) -> None:
    """Add ``GET /openapi.json``."""
    app.add_url_rule("/openapi.json", "openapi", _openapi)


def _openapi() -> Response:
    return jsonify(document())
