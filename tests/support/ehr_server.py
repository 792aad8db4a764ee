"""A small EHR FHIR server on 127.0.0.1 for end-to-end tests.

It serves the resources of a transaction Bundle (the Inferno CRD kit's EHR data) with
read (``/Type/id``) and search (``/Type?_id=a,b&patient=X&status=Y``), answering like a
FHIR R4 server: searchset Bundles, OperationOutcome with 404 for unknown ids.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

_PATIENT_FIELDS = ("subject", "patient", "beneficiary")


class FakeEhr:
    """A WSGI FHIR server over a fixed set of resources; records every request path."""

    def __init__(self, resources: Iterable[dict[str, Any]]) -> None:
        self.resources = {(r["resourceType"], r["id"]): r for r in resources}
        self.requests: list[str] = []
        self.authorizations: list[str | None] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.requests.append(request.full_path)
        self.authorizations.append(request.headers.get("Authorization"))
        parts = [p for p in request.path.split("/") if p][1:]  # drop the base segment
        if len(parts) == 2:
            found = self.resources.get((parts[0], parts[1]))
            if found is None:
                return _json(_not_found(parts), 404)(environ, start_response)
            return _json(found, 200)(environ, start_response)
        if len(parts) == 1:
            params = {k: v[0] for k, v in parse_qs(request.query_string.decode()).items()}
            return _json(self._search(parts[0], params), 200)(environ, start_response)
        return _json(_not_found(parts), 404)(environ, start_response)

    def _search(self, resource_type: str, params: dict[str, str]) -> dict[str, Any]:
        hits = [r for (t, _), r in self.resources.items() if t == resource_type]
        if "_id" in params:
            wanted = set(params["_id"].split(","))
            hits = [r for r in hits if r["id"] in wanted]
        if "patient" in params:
            hits = [r for r in hits if _about_patient(r, params["patient"])]
        if "status" in params:
            hits = [r for r in hits if r.get("status") == params["status"]]
        return {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(hits),
            "entry": [{"resource": r, "search": {"mode": "match"}} for r in hits],
        }


def _about_patient(resource: dict[str, Any], patient: str) -> bool:
    wanted = patient.split("/")[-1]
    for field in _PATIENT_FIELDS:
        ref = resource.get(field)
        if isinstance(ref, dict) and str(ref.get("reference", "")).split("/")[-1] == wanted:
            return True
    return False


def _not_found(parts: list[str]) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "not-found", "diagnostics": "/".join(parts)}],
    }


def _json(body: dict[str, Any], status: int) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/fhir+json")


@contextmanager
def serve_wsgi(factory: Callable[[str], Any]) -> Iterator[str]:
    """Serve ``factory(base_url)`` on 127.0.0.1 (a free port) in a thread; yield the URL."""
    server = make_server("127.0.0.1", 0, _unavailable, threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    server.app = factory(base_url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base_url
    finally:
        server.shutdown()
        thread.join(timeout=5)


def _unavailable(environ: dict[str, Any], start_response: Any) -> Any:
    return _json({"resourceType": "OperationOutcome", "issue": []}, 503)(environ, start_response)
