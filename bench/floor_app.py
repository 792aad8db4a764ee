"""The bare-Flask floor for bench/load.py: reads the body, answers a JSON of a given size."""

from __future__ import annotations

import os

from flask import Flask, Response, request

app = Flask(__name__)
_SIZE = int(os.environ.get("FLOOR_RESPONSE_BYTES", "2000"))
_BODY = b'{"cards": [], "padding": "' + b"x" * max(0, _SIZE - 27) + b'"}'


@app.get("/healthz")
def healthz() -> Response:
    """Ready as soon as it answers."""
    return Response(b"{}", mimetype="application/json")


@app.post("/cds-services/<service>")
def hook(service: str) -> Response:
    """Read the whole request body, as the service does, and answer the sized JSON."""
    request.get_data()
    return Response(_BODY, mimetype="application/json")
