"""The whole prior-authorization path, CRD → DTR → PAS, as an EHR would walk it.

    make serve                                   # in one terminal
    .venv/bin/python examples/crd_dtr_pas.py     # in another
    .venv/bin/python examples/crd_dtr_pas.py --in-process   # no server needed

1. CRD: sign an order-sign hook with the demo EHR key (examples/keys) and read the
   coverage-information the payer attaches to the order: the assertion id and the forms.
2. SMART Backend Services: get an access token from /auth/token with the demo client key.
3. DTR: fetch the $questionnaire-package for the order (context = the assertion id) and take
   its prepopulated QuestionnaireResponse, completed by the clinician.
4. PAS: build the request Bundle with ``davinci_pa.pas.build_request_bundle`` (the answers
   travel as an attachment whose control number is the CRD assertion id) and $submit it.

The demo keys are published on purpose: never trust them outside a demo.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import requests

from davinci_pa.auth.client import sign_client_assertion, token_form
from davinci_pa.cdshooks.jwt import sign_test_token
from davinci_pa.pas import ClaimOptions, ClaimParties, ItemCodes, build_request_bundle

EXAMPLES = Path(__file__).resolve().parent
PAS_IG = EXAMPLES.parent.parent / "shared" / "igs" / "davinci_pas_2.2.1.tgz"
"""The published PAS package, used for profile validation when present (as `make serve`)."""
COVERAGE_INFO = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
SCOPE = "system/Questionnaire.read system/Claim.write system/Claim.read"
ACTIONS = {"A1": "approved", "A3": "denied", "A4": "pended for review", "A6": "modified"}


class Transport(Protocol):
    """POSTs to the service and returns the HTTP status and the JSON body."""

    def post(
        self, path: str, *, json_body: Any = None, form: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        """Send one request."""
        ...


class HttpTransport:
    """Talks to a running server (``make serve``)."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self._session = requests.Session()

    def post(
        self, path: str, *, json_body: Any = None, form: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if json_body is not None:
            headers["Content-Type"] = "application/fhir+json"
        response = self._session.post(
            self.base + path,
            data=json.dumps(json_body) if json_body is not None else form,
            headers=headers,
            timeout=60,
        )
        return response.status_code, response.json() if response.content else None


class InProcessTransport:
    """Talks to an app built in this process, on a throw-away SQLite database."""

    def __init__(self, client: Any, base: str) -> None:
        self.base = base
        self._client = client

    def post(
        self, path: str, *, json_body: Any = None, form: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if json_body is not None:
            response = self._client.post(path, json=json_body, headers=headers)
        else:
            response = self._client.post(path, data=form, headers=headers)
        return response.status_code, response.get_json(silent=True)


@contextmanager
def in_process_app() -> Iterator[InProcessTransport]:
    """The service as ``make serve`` configures it, without a socket."""
    from davinci_pa.server import create_app
    from davinci_pa.server.settings import ServerSettings
    from davinci_pa.store import Database

    base = "http://127.0.0.1:8080"
    with tempfile.TemporaryDirectory() as folder:
        database_url = f"sqlite:///{folder}/example.sqlite3"
        Database(database_url).migrate()  # what `davinci-pa db upgrade` does
        settings = ServerSettings(
            database_url=database_url,
            trusted_issuers=EXAMPLES / "keys" / "trusted-issuers.json",
            clients=str(EXAMPLES / "keys" / "demo-clients.json"),
            public_base_url=base,
            pas_delivery_seconds="0",
            ig_packages=str(PAS_IG) if PAS_IG.exists() else None,
        )
        app = create_app(settings)
        try:
            yield InProcessTransport(app.test_client(), base)
        finally:
            app.extensions["davinci_pa.payer"].database.dispose()


def _load(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def _check(status: int, body: Any, step: str) -> Any:
    if status != 200:
        raise SystemExit(f"{step} failed with HTTP {status}: {json.dumps(body)[:800]}")
    return body


# -- 1. CRD --------------------------------------------------------------------------------


def crd(transport: Transport, base: str, hook: dict[str, Any]) -> dict[str, Any]:
    """Send the signed order-sign hook; return the order as the payer annotated it."""
    signer = _load("keys/demo-ehr.private.json")
    key = signer["key"]
    path = "/cds-services/order-sign-crd"
    jwt = sign_test_token(
        key, iss=signer["issuer"], aud=base + path, kid=key["kid"], alg=key["alg"]
    )
    answer = _check(*transport.post(path, json_body=hook, token=jwt), "CRD order-sign")
    for card in answer.get("cards", []):
        print(f"  card: {card.get('summary')}")
    for action in answer.get("systemActions", []):
        resource = action.get("resource", {})
        if coverage_information(resource):
            return dict(resource)
    raise SystemExit("CRD returned no coverage-information for the order")


def coverage_information(resource: dict[str, Any]) -> dict[str, list[Any]]:
    """The coverage-information sub-extensions of a resource, by name."""
    found: dict[str, list[Any]] = {}
    for ext in resource.get("extension", []):
        if ext.get("url") == COVERAGE_INFO:
            for part in ext.get("extension", []):
                value = next((v for k, v in part.items() if k.startswith("value")), None)
                found.setdefault(part["url"], []).append(value)
    return found


# -- 2. SMART Backend Services ----------------------------------------------------------------


def access_token(transport: Transport, base: str) -> str:
    """Sign a client assertion with the demo client key and exchange it for a token."""
    key = _load("keys/demo-client.private.json")
    assertion = sign_client_assertion(key, client_id="demo-client", token_url=base + "/auth/token")
    answer = _check(*transport.post("/auth/token", form=token_form(assertion, SCOPE)), "token")
    print(f"  token for scopes: {answer['scope']}")
    return str(answer["access_token"])


# -- 3. DTR ----------------------------------------------------------------------------------


def dtr(transport: Transport, token: str, order: dict[str, Any], coverage: dict[str, Any]) -> Any:
    """Fetch the questionnaire package; return its prepopulated response, completed."""
    assertion = coverage_information(order).get("coverage-assertion-id", [None])[0]
    parameters: list[dict[str, Any]] = [
        {"name": "coverage", "resource": coverage},
        {"name": "order", "resource": order},
    ]
    if assertion:
        parameters.append({"name": "context", "valueString": assertion})
    body = {"resourceType": "Parameters", "parameter": parameters}
    path = "/fhir/Questionnaire/$questionnaire-package"
    package = _check(*transport.post(path, json_body=body, token=token), "DTR package")
    for parameter in package.get("parameter", []):
        for entry in parameter.get("resource", {}).get("entry", []):
            if entry["resource"]["resourceType"] == "QuestionnaireResponse":
                response = dict(entry["resource"])
                response["status"] = "completed"  # the clinician reviewed and signed it
                print(f"  form: {response.get('questionnaire')}")
                return response
    print("  no form applies to this order")
    return None


# -- 4. PAS ----------------------------------------------------------------------------------


def pas_bundle(hook: dict[str, Any], order: dict[str, Any], response: Any) -> dict[str, Any]:
    """Build the PAS request Bundle with the library."""
    directory = _load("pas/provider-directory.json")
    prefetch = hook["prefetch"]
    parties = ClaimParties(
        patient=prefetch["patient"],
        coverage=prefetch["coverage"]["entry"][0]["resource"],
        insurer=directory["insurer"],
        requester=directory["requester"],
        orders=[order],
        questionnaire_responses=[response] if response else [],
        supporting=directory["supporting"],
    )
    options = ClaimOptions(
        trace_number=f"EX-{uuid.uuid4().hex[:12]}",
        codes=ItemCodes(service_type="12"),  # X12 1365: durable medical equipment purchase
    )
    return build_request_bundle(parties, options, created=datetime.now(UTC))


def submit(transport: Transport, token: str, bundle: dict[str, Any]) -> list[str]:
    """$submit the Bundle; print and return each item's review action."""
    answer = _check(*transport.post("/fhir/Claim/$submit", json_body=bundle, token=token), "PAS")
    claim_response = answer["entry"][0]["resource"]
    actions = []
    for item in claim_response.get("item", []):
        review = item["adjudication"][0]["extension"][0]["extension"][0]
        code = review["valueCodeableConcept"]["coding"][0]["code"]
        actions.append(code)
        print(f"  item {item['itemSequence']}: {code} ({ACTIONS.get(code, code)})")
    for note in claim_response.get("processNote", []):
        print(f"  note: {note['text']}")
    if claim_response.get("preAuthRef"):
        print(f"  preAuthRef {claim_response['preAuthRef']}")
    return actions


def run(transport: Transport, base: str) -> list[str]:
    """Walk CRD → DTR → PAS; return the review actions of the submitted items."""
    hook = _load("requests/order-sign-power-wheelchair.json")
    print("1. CRD order-sign")
    order = crd(transport, base, hook)
    info = coverage_information(order)
    print(f"  covered={info.get('covered')} pa-needed={info.get('pa-needed')}")
    print(f"  assertion id {info.get('coverage-assertion-id')}, forms {info.get('questionnaire')}")
    print("2. SMART Backend Services token")
    token = access_token(transport, base)
    print("3. DTR $questionnaire-package")
    coverage = hook["prefetch"]["coverage"]["entry"][0]["resource"]
    response = dtr(transport, token, order, coverage)
    print("4. PAS Claim/$submit")
    return submit(transport, token, pas_bundle(hook, order, response))


def main(argv: list[str] | None = None) -> int:
    """Run the example against a server (default) or in process."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="the running service")
    parser.add_argument("--in-process", action="store_true", help="build the app in process")
    args = parser.parse_args(argv)
    if args.in_process:
        with in_process_app() as transport:
            run(transport, transport.base)
    else:
        run(HttpTransport(args.url), args.url.rstrip("/"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
