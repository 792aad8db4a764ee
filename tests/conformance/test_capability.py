"""``/fhir/metadata`` tells the truth: what it lists is served, what is served is listed.

The statement is generated from the Flask URL map (:mod:`davinci_pa.server.capability`);
these tests check it from the other side: each listed interaction or operation is routed
(and not 404/405 when called), each ``/fhir`` route is listed, it instantiates the
payer-side PAS and DTR statements whose SHALL capabilities it offers (PAS ``spec-55``:
Subscription create, update, delete), and it is a valid R4 CapabilityStatement.
"""

from __future__ import annotations

import json
import re
import tarfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.exceptions import MethodNotAllowed, NotFound

from davinci_pa.fhir.fhirpath import evaluate
from davinci_pa.fhir.validation import Validator
from davinci_pa.server import ServerSettings, create_app
from davinci_pa.server.capability import INSTANTIATES, OPERATION_DEFINITIONS
from tests._shared import shared_path
from tests.support.database import migrated_sqlite

EXPECTATION = "http://hl7.org/fhir/StructureDefinition/capabilitystatement-expectation"
PATHS = {
    "read": ("/fhir/{t}/x1", "GET"),
    "update": ("/fhir/{t}/x1", "PUT"),
    "delete": ("/fhir/{t}/x1", "DELETE"),
    "create": ("/fhir/{t}", "POST"),
    "search-type": ("/fhir/{t}", "GET"),
}
CPB = {  # FHIR R4 CapabilityStatement invariants (error severity)
    "cpb-1": "rest.exists() or messaging.exists() or document.exists()",
    "cpb-2": "(description.count() + software.count() + implementation.count()) > 0",
    "cpb-3": "messaging.endpoint.empty() or kind = 'instance'",
    "cpb-9": "rest.all(resource.select(type).isDistinct())",
    "cpb-12": "rest.resource.all(searchParam.select(name).isDistinct())",
    "cpb-14": "(kind != 'instance') or implementation.exists()",
    "cpb-15": "(kind != 'capability') or (implementation.exists().not() and software.exists())",
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    folder: Path = tmp_path_factory.mktemp("capability")
    settings = ServerSettings(
        database_url=migrated_sqlite(folder / "cap.sqlite3"),
        insecure_disable_jwt=True,
        pas_delivery_seconds="0",
    )
    application = create_app(settings)
    yield application
    application.extensions["davinci_pa.payer"].database.dispose()


@pytest.fixture(scope="module")
def statement(app: Flask) -> dict[str, Any]:
    reply = app.test_client().get("/fhir/metadata")
    assert reply.status_code == 200
    body: dict[str, Any] = reply.get_json()
    return body


def _listed(statement: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(path, method) for every interaction and operation the statement lists."""
    rest = statement["rest"][0]
    for op in rest.get("operation", []):
        yield f"/fhir/${op['name']}", "POST"
    for resource in rest["resource"]:
        rtype = resource["type"]
        for interaction in resource.get("interaction", []):
            path, method = PATHS[interaction["code"]]
            yield path.format(t=rtype), method
        for op in resource.get("operation", []):
            yield f"/fhir/{rtype}/${op['name']}", "POST"


def test_every_listed_capability_is_routed(app: Flask, statement: dict[str, Any]) -> None:
    """An operation may be served on the type or on an instance (``Group/{id}/$export``)."""
    adapter = app.url_map.bind("payer.example.org")
    for path, method in _listed(statement):
        instance = re.sub(r"^(/fhir/[A-Za-z]+)/\$", r"\1/x1/$", path)
        candidates = [(path, method), *([(instance, method)] if instance != path else [])]
        if not any(_served(adapter, p, m) for p, m in candidates):
            pytest.fail(f"{method} {path} is listed but not served")


def _served(adapter: Any, path: str, method: str) -> bool:
    try:
        endpoint, _ = adapter.match(path, method)
    except (NotFound, MethodNotAllowed):
        return False
    return "$" not in path or "$" in str(adapter.map._rules_by_endpoint[endpoint][0].rule)


def test_every_fhir_route_is_listed(app: Flask, statement: dict[str, Any]) -> None:
    """The Flask URL map has no /fhir route the statement leaves out."""
    listed = set(_listed(statement))
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/fhir/") or rule.endpoint.endswith(
            ("metadata", "smart_configuration")
        ):
            continue
        for path in _concrete(rule.rule):
            for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
                served = (path, method)
                as_type_op = (re.sub(r"/x1/\$", "/$", path), "POST")  # instance ops on the type
                assert served in listed or as_type_op in listed, f"{method} {rule.rule}"


def _concrete(rule: str) -> list[str]:
    choice = re.search(r"<any\(([^)]*)\):\w+>", rule)
    if choice:
        names = [c.strip().strip("'\"") for c in choice.group(1).split(",")]
        return [p for n in names for p in _concrete(rule.replace(choice.group(0), n))]
    return [re.sub(r"<[^>]+>", "x1", rule)]


def test_instantiates_the_payer_side_pas_and_dtr_statements(statement: dict[str, Any]) -> None:
    """DTR conf-1 (we conform to a DTR CapabilityStatement: every SHALL operation of
    dtr-payer-service, $questionnaire-package and $expand, is offered), PAS spec-55 (the
    PAS IntermediaryCapabilities' Claim $submit and $inquire and Subscription create,
    update and delete are offered and listed)."""
    assert statement["instantiates"] == list(INSTANTIATES)
    offered = _offered(statement)
    for canonical in statement["instantiates"]:
        required = _offered(_ig_statement(canonical), shall_only=True)
        assert required, canonical
        assert required <= offered, (canonical, required - offered)


def _offered(statement: dict[str, Any], *, shall_only: bool = False) -> set[str]:
    def wanted(element: dict[str, Any]) -> bool:
        codes = [e["valueCode"] for e in element.get("extension", []) if e["url"] == EXPECTATION]
        return not shall_only or not codes or "SHALL" in codes

    found = set()
    for rest in statement["rest"]:
        found |= {
            f"${o['definition'].split('|')[0]}" for o in rest.get("operation", []) if wanted(o)
        }
        for resource in rest.get("resource", []):
            found |= {
                f"{resource['type']}.{i['code']}"
                for i in resource.get("interaction", [])
                if wanted(i)
            }
            found |= {
                f"${o['definition'].split('|')[0]}"
                for o in resource.get("operation", [])
                if wanted(o)
            }
    return found


@cache
def _ig_statements() -> dict[str, dict[str, Any]]:
    found = {}
    for name in ("davinci_pas_2.2.1.tgz", "davinci_dtr_2.0.1.tgz"):
        with tarfile.open(shared_path("igs", name)) as archive:
            for member in archive.getmembers():
                if "/CapabilityStatement-" in member.name or "/OperationDefinition-" in member.name:
                    handle = archive.extractfile(member)
                    assert handle is not None
                    resource = json.load(handle)
                    found[resource["url"]] = resource
    return found


def _ig_statement(canonical: str) -> dict[str, Any]:
    return _ig_statements()[canonical]


def test_ig_operations_point_at_their_published_definitions(statement: dict[str, Any]) -> None:
    """Each PAS and DTR operation names an OperationDefinition the IG package publishes,
    under the code that definition gives it."""
    published = _ig_statements()
    for definition in OPERATION_DEFINITIONS.values():
        if definition.startswith(
            ("http://hl7.org/fhir/us/davinci-pas", "http://hl7.org/fhir/us/davinci-dtr")
        ):
            assert definition in published, definition
    rest = statement["rest"][0]
    for resource in rest["resource"]:
        for op in resource.get("operation", []):
            if op["definition"] in published:
                assert published[op["definition"]]["code"] == op["name"]


def test_security_is_smart_with_the_token_endpoint(statement: dict[str, Any]) -> None:
    """DTR spec-120 / PAS: SMART Backend Services; the token URL is the one we serve."""
    security = statement["rest"][0]["security"]
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    uris = security["extension"][0]
    assert uris["extension"][0]["valueUri"].endswith("/auth/token")


def test_statement_is_a_valid_r4_capability_statement(statement: dict[str, Any]) -> None:
    """Base R4 structure (types, cardinalities, codes) and the CapabilityStatement
    invariants cpb-1..cpb-15."""
    validator = Validator.from_packages([shared_path("igs", "davinci_pas_2.2.1.tgz")])
    errors = [str(i) for i in validator.validate(statement) if i.severity == "error"]
    assert errors == []
    for key, expression in CPB.items():
        assert evaluate(statement, expression) == [True], key
