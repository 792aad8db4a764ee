"""CRD 2.2.1 server-side statements, each checked over HTTP against the running service.

The service is the shipped rule pack behind real HTTP, the EHR a fake FHIR server holding
the Inferno kit's data (``tests/server/conftest.py``). Each test names the requirement keys
it checks in its docstring; ``tools/conformance.py`` traces them into docs/conformance.md.
"""

from __future__ import annotations

import copy
import json
import re
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import requests

from davinci_pa.cdshooks.response import validate_response
from davinci_pa.crd.coverage_info import COVERAGE_INFO_URL
from davinci_pa.crd.services import PRIMARY_HOOKS
from davinci_pa.fhir.validation import Validator
from davinci_pa.fhir.validation.profile import CompiledProfile
from davinci_pa.server import ServerSettings, create_app
from davinci_pa.store import Database
from davinci_pa.store.audit import AuditLog
from tests._shared import load_shared_json, shared_path
from tests.server.conftest import Keys, Service, fresh_instance, make_payer
from tests.server.test_crd_replay import KIT_REQUESTS
from tests.support.ehr_server import serve_wsgi
from tests.support.profile_data import minimal_by_profile
from tests.support.us_core import VERSIONS, deep_as_us_core

CRD_SD = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/"
CARD_TYPES = "http://terminology.hl7.org/CodeSystem/cdshooks-card-type"
RESPONSE_TYPES = {
    "coverage-info", "unsolicited-determ", "claim", "insurance", "limits", "network",
    "appropriate-use", "cost", "therapy-alternatives-opt", "therapy-alternatives-req",
    "clinical-reminder", "duplicate-therapy", "contraindication", "guideline",
    "off-guideline", "instructions",
}  # fmt: skip
"""CRD Response Types (ValueSet cardType, CRD 2.2; CRD temp codes in 2.0)."""
CLIENT_CAPABILITIES = {"dtr"}
"""Boolean options that are not card types (dev-7: no applicable type is in the list): ``dtr``
says whether the client launches DTR (false: Request Form Completion cards instead)."""


@contextmanager
def serve_crd(folder: Path, keys: Keys, jwks: dict[str, Any], ehr_url: str) -> Iterator[Service]:
    """The CRD service over HTTP, allowed to query the EHR at ``ehr_url``."""
    database = Database(f"sqlite:///{folder / 'crd.sqlite3'}")
    database.migrate()
    holder: dict[str, Any] = {}

    def factory(base_url: str) -> Any:
        holder["payer"] = make_payer(database, jwks, base_url, ehr_url)
        return create_app(ServerSettings(), payer=holder["payer"])

    with serve_wsgi(factory) as url:
        yield Service(url, holder["payer"], keys, ehr_url)
    database.dispose()


@pytest.fixture(scope="module")
def crd(
    tmp_path_factory: pytest.TempPathFactory,
    keys: Keys,
    public_jwks: dict[str, Any],
    ehr_url: str,
) -> Iterator[Service]:
    """One service for the module: the statements below share its database."""
    with serve_crd(tmp_path_factory.mktemp("crd-conformance"), keys, public_jwks, ehr_url) as s:
        yield s


def ig_request(version: str | None = None) -> dict[str, Any]:
    """The CRD 2.2 IG's order-sign example, fresh hookInstance, optionally a version."""
    body: dict[str, Any] = load_shared_json("specs", "crd-2.2", "CRDServiceRequest.json")
    body["hookInstance"] = str(uuid.uuid4())
    if version:
        body["extension"]["davinci-crd.requestedVersion"] = version
    return body


def kit_requests(service: Service) -> Iterator[dict[str, Any]]:
    for name in KIT_REQUESTS:
        data = load_shared_json("fixtures", "crd", "inferno", name)
        for body in data if isinstance(data, list) else [data]:
            yield service.at_ehr(body)


@pytest.fixture(scope="module")
def kit_answers(crd: Service) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(request, answer) for every answerable kit hook request."""
    found = []
    for body in kit_requests(crd):
        response = crd.call(body)
        assert response.status_code == 200, response.text
        found.append((body, response.json()))
    return found


def coverage_actions(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        a
        for a in answer.get("systemActions", [])
        if any(e["url"] == COVERAGE_INFO_URL for e in a["resource"].get("extension", []))
    ]


def coverage_parts(resource: dict[str, Any]) -> list[dict[str, list[Any]]]:
    """Each coverage-information extension as {sub-extension url: [values]}."""
    found = []
    for ext in resource.get("extension", []):
        if ext["url"] != COVERAGE_INFO_URL:
            continue
        parts: dict[str, list[Any]] = {}
        for part in ext["extension"]:
            value = next(v for k, v in part.items() if k.startswith("value") or k == "extension")
            parts.setdefault(part["url"], []).append(value)
        found.append(parts)
    return found


def all_cards(answers: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[dict[str, Any]]:
    return [card for _, answer in answers for card in answer["cards"]]


# -- discovery and configuration ----------------------------------------------------------


def test_discovery_declares_versions_and_boolean_options_per_card_type(
    crd: Service, kit_answers: list[tuple[dict[str, Any], dict[str, Any]]]
) -> None:
    """CRD dev-1 (at least one version per hook), dev-2 (all versions: 2.0 and 2.2, both
    answered), dev-4 (code, type, name, description and a default), dev-5 (a boolean option
    for each card type we return), dev-7 (codes are JSON property names from the CRD
    Response Types, where a type applies), dev-8 (codes, names, descriptions unique per
    service)."""
    services = requests.get(f"{crd.base_url}/cds-services", timeout=10).json()["services"]
    for service in services:
        ext = service["extension"]
        assert ext["davinci-crd.version"] == ["2.0", "2.2"]
        options = ext["davinci-crd.configuration-options"]
        for option in options:
            assert {"code", "type", "name", "description", "default"} <= option.keys()
            assert option["type"] in {"boolean", "integer"}
            assert isinstance(option["default"], bool | int)
            assert json.loads(json.dumps({option["code"]: 1})) == {option["code"]: 1}
            if option["type"] == "boolean" and option["code"] not in CLIENT_CAPABILITIES:
                assert option["code"] in RESPONSE_TYPES
        for field in ("code", "name", "description"):
            values = [o[field] for o in options]
            assert len(values) == len(set(values)), (service["id"], field)
        booleans = {o["code"] for o in options if o["type"] == "boolean"}
        returned = {
            card["source"]["topic"]["code"]
            for request, answer in kit_answers
            if request["hook"] == service["hook"]
            for card in answer["cards"]
        }
        assert returned <= booleans, service["id"]
    for version in ("2.0", "2.2"):
        assert crd.call(ig_request(version)).status_code == 200


def test_configuration_is_obeyed_optional_and_unknown_options_ignored(crd: Service) -> None:
    """CRD dev-14 (each card type switched off is not returned; coverage-info off means no
    coverage information, resp-28), dev-15 (no configuration: answered), dev-17 (unsupported
    options ignored), dev-6 (a nonsensical combination, everything off and max-cards
    negative, is answered gracefully)."""
    plain = crd.call(ig_request()).json()
    assert coverage_actions(plain)
    topics = {c["source"]["topic"]["code"] for c in plain["cards"]}
    for code in topics:
        body = ig_request()
        body["extension"]["davinci-crd.configuration"] = {code: False}
        answer = crd.call(body).json()
        assert code not in {c["source"]["topic"]["code"] for c in answer["cards"]}
    body = ig_request()
    body["extension"]["davinci-crd.configuration"] = {"coverage-info": False}
    assert coverage_actions(crd.call(body).json()) == []
    body = ig_request()
    body["extension"]["davinci-crd.configuration"] = {"no-such-option": True, "x": [1]}
    unknown = crd.call(body)
    assert unknown.status_code == 200
    assert coverage_actions(unknown.json())
    body = ig_request()
    body["extension"]["davinci-crd.configuration"] = {
        "coverage-info": False,
        "guideline": False,
        "therapy-alternatives-opt": False,
        "clinical-reminder": False,
        "max-cards": -3,
    }
    odd = crd.call(body)
    assert odd.status_code == 200
    assert odd.json()["cards"] == []


def test_every_hook_and_order_type_is_served(crd: Service) -> None:
    """CRD hook-4 (a service for every hook and order type CRD requires of clients),
    resp-14 and resp-26 (Coverage Information supported for order-sign, order-dispatch and
    appointment-book), found-15 (one CRD endpoint handles every coverage: no endpoint
    discovery, all payers of the pack behind the same services)."""
    services = requests.get(f"{crd.base_url}/cds-services", timeout=10).json()["services"]
    assert {s["hook"] for s in services} == {
        "order-sign", "order-select", "order-dispatch", "appointment-book",
        "encounter-start", "encounter-discharge",
    }  # fmt: skip
    assert len({s["id"] for s in services}) == len(services)
    labels = set()
    for body in (
        ig_request(),
        fresh_instance(
            crd.at_ehr(load_shared_json("fixtures", "crd", "inferno", "order_sign-1.json"))
        ),
    ):
        answer = crd.call(body).json()
        labels |= {c["source"]["label"] for c in answer["cards"]}
    assert len(labels) == 2  # the same endpoint answers for two payers' coverages
    assert set(PRIMARY_HOOKS) == {"order-sign", "order-dispatch", "appointment-book"}


# -- answers --------------------------------------------------------------------------------


def test_primary_hooks_get_coverage_information_for_each_order(
    kit_answers: list[tuple[dict[str, Any], dict[str, Any]]],
) -> None:
    """CRD hook-16 and resp-29 (a Coverage Information system action for each in-scope
    order of a primary hook), hook-26 (appointment-book), hook-33 (order-dispatch), resp-48
    (system actions, applied without the user), resp-25 (never as a card), found-24 and
    found-29 (answered from the prefetch the kit sends), found-34 (what can be said is said:
    every order gets an answer)."""
    seen = set()
    for request, answer in kit_answers:
        hook = request["hook"]
        actions = coverage_actions(answer)
        if hook in PRIMARY_HOOKS:
            assert actions, hook
            seen.add(hook)
        for action in actions:
            assert action["type"] == "update"
        for card in answer["cards"]:
            text = json.dumps(card)
            assert COVERAGE_INFO_URL not in text
    assert seen == set(PRIMARY_HOOKS)


def test_order_select_coverage_information_asks_for_no_documentation(
    kit_answers: list[tuple[dict[str, Any], dict[str, Any]]],
) -> None:
    """CRD hook-39 (order-select supports the Coverage Information system action) and
    hook-19 (on order-select it names no clinical or administrative documentation need)."""
    selects = [a for r, a in kit_answers if r["hook"] == "order-select"]
    assert selects
    assert any(coverage_actions(a) for a in selects)
    for answer in selects:
        for action in coverage_actions(answer):
            for parts in coverage_parts(action["resource"]):
                assert not {"clinical", "admin"} & set(parts.get("doc-needed", []))


def test_cards_have_recognisable_source_topics_and_suggestion_ids(
    kit_answers: list[tuple[dict[str, Any], dict[str, Any]]],
) -> None:
    """CRD resp-3 (every suggestion has a uuid), resp-4 (source.label is the insurer's name
    from the rule pack, as on the member's card), resp-5 (source.topic populated, from the
    CRD Response Types), resp-13 (every answer meets the CDS Hooks response profile)."""
    names = {p.name for p in (payer for payer in _payers())}
    for request, answer in kit_answers:
        assert validate_response(answer, hook=request["hook"]) == []
    for card in all_cards(kit_answers):
        assert card["source"]["label"] in names
        topic = card["source"]["topic"]
        assert topic["code"] in RESPONSE_TYPES
        for suggestion in card.get("suggestions", []):
            uuid.UUID(suggestion["uuid"])


def _payers() -> list[Any]:
    from davinci_pa import shipped
    from davinci_pa.rules.loader import load_rule_pack

    return list(load_rule_pack(shipped.rule_pack()).payers)


def test_external_reference_and_instruction_cards_point_at_policies_not_portals(
    kit_answers: list[tuple[dict[str, Any], dict[str, Any]]],
) -> None:
    """CRD resp-18 and resp-19 (an External Reference card has links, all absolute), resp-22
    and resp-24 (External Reference and Instructions cards keep their logical model: summary,
    indicator, source, links only of type absolute), resp-17 and resp-23 (neither directs to
    a portal to start prior authorization or determine coverage)."""
    references = [c for c in all_cards(kit_answers) if c["source"]["topic"]["code"] == "guideline"]
    instructions = [
        c for c in all_cards(kit_answers) if c["source"]["topic"]["code"] == "coverage-info"
    ]
    assert references
    assert instructions
    for card in references:
        assert card["links"]
        assert all(link["type"] == "absolute" for link in card["links"])
        for link in card["links"]:
            assert "portal" not in link["url"].lower()
            assert "prior-auth" not in link["url"].lower()
    for card in instructions:
        assert "links" not in card
        assert "suggestions" not in card
        assert card["indicator"] in {"info", "warning", "critical"}
        assert len(card["summary"]) < 140


def test_coverage_information_follows_its_profile_and_invariants(
    kit_answers: list[tuple[dict[str, Any], dict[str, Any]]],
) -> None:
    """CRD resp-47 (each annotated order complies with its CRD profile), resp-52 (the
    coverage-information extension follows its model: coverage, covered, date and
    coverage-assertion-id present; crd-ci-q5 satisfied-pa-id iff satisfied), resp-32 (one
    assertion id per coverage), resp-30 (validity qualifiers, such as an expiry date, sit
    inside the annotation), resp-37 (the update changes nothing but coverage-information)."""
    validator = Validator.from_packages([shared_path("igs", "davinci-crd-2.0.1.tgz")])
    for request, answer in kit_answers:
        originals = _orders_in(request)
        for action in coverage_actions(answer):
            resource = action["resource"]
            profile = CRD_SD + "profile-" + resource["resourceType"].lower()
            issues = validator.validate(resource, profile)
            assert [str(i) for i in issues if i.severity == "error"] == []
            repetitions = coverage_parts(resource)
            ids = [p["coverage-assertion-id"][0] for p in repetitions]
            assert len(ids) == len(set(ids))
            for parts in repetitions:
                assert {"coverage", "covered", "date", "coverage-assertion-id"} <= parts.keys()
                assert ("satisfied-pa-id" in parts) == (parts.get("pa-needed") == ["satisfied"])
            original = originals.get(f"{resource['resourceType']}/{resource['id']}")
            if original is not None:
                assert _without_coverage_info(resource) == _without_coverage_info(original)


def _orders_in(request: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for key in ("draftOrders", "appointments"):
        for entry in request["context"].get(key, {}).get("entry", []):
            resource = entry["resource"]
            found[f"{resource['resourceType']}/{resource['id']}"] = resource
    return found


def _without_coverage_info(resource: dict[str, Any]) -> dict[str, Any]:
    copied = copy.deepcopy(resource)
    kept = [e for e in copied.get("extension", []) if e["url"] != COVERAGE_INFO_URL]
    copied.pop("extension", None)
    if kept:
        copied["extension"] = kept
    return copied


def test_an_order_already_annotated_with_the_same_answer_gets_no_update(crd: Service) -> None:
    """CRD resp-35 (no system action unless something is new or changed) and resp-29 (an
    order that already carries our coverage-information, with nothing new, is left alone)."""
    first = crd.call(ig_request()).json()
    actions = coverage_actions(first)
    assert actions
    body = ig_request()
    annotated = {f"{a['resource']['resourceType']}/{a['resource']['id']}": a for a in actions}
    for entry in body["context"]["draftOrders"]["entry"]:
        resource = entry["resource"]
        action = annotated.get(f"{resource['resourceType']}/{resource['id']}")
        if action is not None:
            entry["resource"] = action["resource"]
    again = crd.call(body).json()
    refs = {
        f"{a['resource']['resourceType']}/{a['resource']['id']}" for a in coverage_actions(again)
    }
    assert not refs & set(annotated)


def test_cards_for_some_orders_say_which_orders(
    kit_answers: list[tuple[dict[str, Any], dict[str, Any]]],
) -> None:
    """CRD dev-24: with several orders in context, a card about one of them names it in
    its detail in words (the ordered item), not only by id."""
    multi = [(r, a) for r, a in kit_answers if len(_orders_in(r)) > 1 and a["cards"]]
    assert multi
    for request, answer in multi:
        text = json.dumps(list(_orders_in(request).values()))
        codes = set(re.findall(r'"code": "([^"]+)"', text))
        for card in answer["cards"]:
            if card["source"]["topic"]["code"] == "coverage-info":
                assert any(code in card["summary"] for code in codes), card["summary"]


# -- errors ---------------------------------------------------------------------------------


def test_errors_are_4xx_with_an_operation_outcome(crd: Service) -> None:
    """CRD hook-9 (errors use a 4xx or 5xx status), hook-10 (with an OperationOutcome when
    the failure is FHIR-aware), hook-13 (400 for a body that is not CDS Hooks or FHIR valid,
    and for a Coverage of a payer this endpoint does not handle)."""
    url = crd.url("order-sign-crd")
    token = crd.keys.token(url)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    not_json = requests.post(url, data=b"{nope", headers=headers, timeout=10)
    assert not_json.status_code == 400
    body = ig_request()
    body["context"]["draftOrders"]["entry"][0]["resource"]["status"] = 7
    invalid = crd.call(body)
    assert invalid.status_code == 400
    assert invalid.json()["operationOutcome"]["resourceType"] == "OperationOutcome"
    body = ig_request()
    body["prefetch"]["coverage"]["entry"][0]["resource"]["payor"] = [
        {"identifier": {"system": "urn:example", "value": "elsewhere"}}
    ]
    other = crd.call(body)
    assert other.status_code == 400
    assert other.json()["error"] == "payer-not-served"


def test_missing_record_data_is_an_answer_not_a_412(crd: Service) -> None:
    """CRD found-32: with prefetch given but the record lacking data (no Patient, no
    Practitioner), the answer is a 200 with what can be said (found-34), never a 412."""
    body = ig_request()
    for key in ("patient", "practitioners", "practitionerRoles", "organizations", "locations"):
        body["prefetch"][key] = None
    response = crd.call(body)
    assert response.status_code == 200, response.text


def test_unknown_context_and_elements_are_ignored(crd: Service) -> None:
    """CRD hook-23 (unrecognized context elements ignored), found-33 and conf-12 (unexpected
    elements ignored; optional elements omitted are no error), dev-15."""
    body = ig_request()
    body["context"]["somethingNew"] = {"a": 1}
    body["unexpectedTopLevel"] = True
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    order.pop("note", None)
    order.pop("reasonCode", None)
    assert crd.call(body).status_code == 200


def test_technical_failure_at_the_ehr_is_indeterminate_with_the_reason(
    tmp_path: Path, keys: Keys, public_jwks: dict[str, Any]
) -> None:
    """CRD resp-43: the Coverage was not prefetched and the EHR's FHIR server (allowed, but
    refusing connections) fails when queried for it: the answer is indeterminate with
    reason technical, the details in reason.text."""
    down = f"http://127.0.0.1:{_free_port()}/fhir"
    body = ig_request()
    del body["prefetch"]["coverage"]
    body["fhirServer"] = down
    with serve_crd(tmp_path, keys, public_jwks, down) as service:
        answer = service.call(body)
    assert answer.status_code == 200, answer.text
    repetitions = [
        p for a in coverage_actions(answer.json()) for p in coverage_parts(a["resource"])
    ]
    assert repetitions
    for parts in repetitions:
        assert parts["covered"] == ["indeterminate"]
        reason = parts["reason"][0]
        assert reason["coding"][0]["code"] == "technical"
        assert reason["text"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unresolvable_patient_is_not_covered_no_member_found(crd: Service) -> None:
    """CRD resp-44: neither the Patient nor a Coverage can be found (the EHR says none):
    not-covered with reason no-member-found."""
    body = ig_request()
    body["prefetch"]["coverage"] = None
    body["prefetch"]["patient"] = None
    answer = crd.call(body).json()
    repetitions = [p for a in coverage_actions(answer) for p in coverage_parts(a["resource"])]
    assert repetitions
    for parts in repetitions:
        assert parts["covered"] == ["not-covered"]
        assert parts["reason"][0]["coding"][0]["code"] == "no-member-found"


# -- records, security ------------------------------------------------------------------------


def test_every_call_and_answer_is_logged_and_assertions_kept(crd: Service) -> None:
    """CRD found-37 (every hook invocation and its response kept for disputes) and found-11
    (each coverage assertion kept with its decision, so a later claim or PAS request can be
    judged against it), sec-6 (what is kept is the answer and the assertion, not the
    request's clinical data)."""
    body = ig_request()
    answer = crd.call(body).json()
    calls = crd.payer.crd_records.calls(limit=500)
    mine = [c for c in calls if c.hook_instance == body["hookInstance"]]
    assert len(mine) == 1
    assert mine[0].response == answer
    for action in coverage_actions(answer):
        for parts in coverage_parts(action["resource"]):
            record = crd.payer.crd_records.assertion(parts["coverage-assertion-id"][0])
            assert record is not None
            assert record.decision
    patient = body["prefetch"]["patient"]
    import sqlalchemy as sa

    with crd.payer.database.transaction() as conn:
        for table in sa.inspect(conn).get_table_names():
            rows = conn.execute(sa.text(f'SELECT * FROM "{table}"')).fetchall()
            dumped = json.dumps([list(map(str, r)) for r in rows])
            assert patient["birthDate"] not in dumped, table


CRD_TABLES = {"hook_calls", "coverage_assertions", "jwt_replay", "audit_events"}
"""What a hook call may write: its record and assertions, the token's replay entry, the audit."""


def _row_counts(service: Service) -> dict[str, int]:
    import sqlalchemy as sa

    with service.payer.database.transaction() as conn:
        return {
            table: int(conn.execute(sa.text(f'SELECT COUNT(*) FROM "{table}"')).scalar_one())
            for table in sa.inspect(conn).get_table_names()
        }


def test_hook_data_serves_only_the_coverage_decision(
    crd: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CRD sec-5 (what a hook call brings is used for the coverage determination and decision
    support only): every kit hook request is answered while the only outbound requests go
    to the EHR's own FHIR server (to complete the data for the decision), and nothing is
    written beyond the call's record, its coverage assertions, the token's replay entry and
    the audit event: no member index, no PAS, DTR, access or notification row."""
    sent: list[str] = []
    original = requests.Session.send

    def record(session: requests.Session, request: Any, **kwargs: Any) -> Any:
        sent.append(str(request.url))
        return original(session, request, **kwargs)

    before = _row_counts(crd)
    monkeypatch.setattr(requests.Session, "send", record)
    for body in kit_requests(crd):
        assert crd.call(body).status_code == 200
    monkeypatch.undo()
    outbound = [url for url in sent if not url.startswith(crd.base_url)]
    assert outbound
    assert all(url.startswith(crd.ehr_url) for url in outbound), outbound
    after = _row_counts(crd)
    changed = {table for table, count in after.items() if count != before.get(table)}
    assert changed <= CRD_TABLES, changed
    assert {"hook_calls", "coverage_assertions"} <= changed


def test_authorized_users_can_read_the_kept_call_logs(
    crd: Service, tmp_path: Path, public_jwks: dict[str, Any]
) -> None:
    """CRD found-38 (logs reachable by authorized users to resolve discrepancies in a timely
    manner): a client registered with the auditor role gets a hook call's kept record by the
    EHR's hookInstance at once (the answer as sent and every coverage assertion with its
    decision); a client without the role gets 403, no token 401, an unknown hookInstance
    404; the read itself is audited."""
    from davinci_pa.auth.client import sign_client_assertion, token_form
    from tests.auth.conftest import private_jwk, public_of

    body = ig_request()
    answer = crd.call(body).json()
    keys = {name: private_jwk("ES384", f"{name}-1") for name in ("auditor", "clerk")}
    clients = tmp_path / "clients.json"
    registry = {
        "auditor": {"jwks": {"keys": [public_of(keys["auditor"])]}, "roles": ["auditor"]},
        "clerk": {"jwks": {"keys": [public_of(keys["clerk"])]}},
    }
    clients.write_text(json.dumps(registry))
    base = "https://payer.example.org"
    reader = make_payer(crd.payer.database, public_jwks, base, crd.ehr_url)
    settings = ServerSettings(clients=str(clients), public_base_url=base)
    app = create_app(settings, payer=reader).test_client()

    def bearer(name: str) -> dict[str, str]:
        assertion = sign_client_assertion(
            keys[name], client_id=name, token_url=base + "/auth/token"
        )
        reply = app.post("/auth/token", data=token_form(assertion, "system/AuditEvent.read"))
        assert reply.status_code == 200, reply.get_json()
        return {"Authorization": f"Bearer {reply.get_json()['access_token']}"}

    path = f"/admin/crd/calls/{body['hookInstance']}"
    read = app.get(path, headers=bearer("auditor"))
    assert read.status_code == 200, read.get_json()
    (logged,) = read.get_json()["calls"]
    assert logged["response"] == answer
    assert logged["hook"] == "order-sign"
    ids = {a["coverageAssertionId"] for a in logged["assertions"]}
    sent = {
        p["coverage-assertion-id"][0]
        for action in coverage_actions(answer)
        for p in coverage_parts(action["resource"])
    }
    assert sent
    assert ids == sent
    assert all(a["decision"] for a in logged["assertions"])
    assert app.get(path, headers=bearer("clerk")).status_code == 403
    assert app.get(path).status_code == 401
    assert app.get("/admin/crd/calls/no-such-call", headers=bearer("auditor")).status_code == 404
    reads = [e for e in AuditLog(crd.payer.database).recent(limit=50) if e.action == "crd.log.read"]
    assert {(e.actor, e.status) for e in reads} >= {("auditor", 200), ("clerk", 403)}


def test_calls_are_answered_within_the_crd_time_target(crd: Service) -> None:
    """CRD found-2: every supported hook is answered, 90% within the target (5 s for most
    hooks; 10 s for order-sign, order-dispatch and appointment-book without cache): here all
    of ten calls of the IG example, measured end to end over HTTP."""
    times = []
    for _ in range(10):
        started = time.perf_counter()
        assert crd.call(ig_request()).status_code == 200
        times.append(time.perf_counter() - started)
    assert sorted(times)[8] < 5.0


def test_jwt_rules_are_enforced(crd: Service) -> None:
    """CRD sec-1 (CDS Hooks security: a signed JWT on every call, the audience the service's
    URL; a call without a trusted token gets no answer)."""
    url = crd.url("order-sign-crd")
    for token in ("", "not-a-jwt", crd.keys.token(crd.url("order-select-crd"))):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = requests.post(url, json=ig_request(), headers=headers, timeout=10)
        assert response.status_code == 401
        assert "cards" not in response.json()


def _with_order_code(
    code: str, system: str = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
) -> dict[str, Any]:
    """The IG's order-sign request with its one ServiceRequest ordering ``code``."""
    body = ig_request()
    entries = body["context"]["draftOrders"]["entry"]
    order = entries[0]["resource"]
    order["code"] = {"coding": [{"system": system, "code": code}]}
    body["context"]["draftOrders"]["entry"] = entries[:1]
    return body


def test_billing_options_are_optional_and_considered(crd: Service) -> None:
    """CRD billopt-2 (no billing-options needed: an order without them is answered) and
    billopt-3 (codes given in billing-options are considered: an order whose own code no
    policy knows is answered from its billing option's policy)."""
    plain = _with_order_code("99999", "http://example.org/local-codes")
    plain_answer = crd.call(plain)
    assert plain_answer.status_code == 200
    with_option = copy.deepcopy(plain)
    code = with_option["context"]["draftOrders"]["entry"][0]["resource"]["code"]
    code["extension"] = [
        {
            "url": "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-billing-options",
            "valueCodeableConcept": {
                "coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "72148"}]
            },
        }
    ]
    with_option["hookInstance"] = str(uuid.uuid4())
    answer = crd.call(with_option).json()
    plain_parts = [
        p for a in coverage_actions(plain_answer.json()) for p in coverage_parts(a["resource"])
    ]
    parts = [p for a in coverage_actions(answer) for p in coverage_parts(a["resource"])]
    assert plain_parts[0] != parts[0]
    records = crd.payer.crd_records
    assert records.assertion(plain_parts[0]["coverage-assertion-id"][0]).topic_id is None
    assert records.assertion(parts[0]["coverage-assertion-id"][0]).topic_id == "lumbar-spine-mri"


def test_crd_guidance_agrees_with_the_pas_decision(crd: Service) -> None:
    """CRD found-9: CRD's guidance is as accurate as the payer's other channels: the same
    rule pack answers CRD and decides PAS, so for the same payer an order CRD calls not
    covered is denied at PAS, one CRD says needs authorization is pended at PAS, one CRD
    calls covered without authorization is approved."""
    from datetime import UTC, datetime

    from davinci_pa.pas.decisions import ItemDecider
    from davinci_pa.pas.request import PasRequest
    from tests.conformance.test_kit_replay import demo_payload

    hcpcs = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
    expected = {"E0240": ("not-covered", "A3"), "K0823": ("auth-needed", "A4")}
    decider = ItemDecider(crd.payer.rules)
    for code, (crd_says, pas_says) in expected.items():
        body = ig_request()
        order = body["context"]["draftOrders"]["entry"][0]["resource"]
        device = {
            "resourceType": "DeviceRequest",
            "id": "dr-1",
            "status": "draft",
            "intent": "original-order",
            "codeCodeableConcept": {"coding": [{"system": hcpcs, "code": code}]},
            "subject": order["subject"],
        }
        body["context"]["draftOrders"]["entry"] = [{"resource": device}]
        answer = crd.call(body).json()
        parts = [p for a in coverage_actions(answer) for p in coverage_parts(a["resource"])]
        assert parts, code
        said = set(parts[0]["covered"]) | set(parts[0].get("pa-needed", []))
        assert crd_says in said, (code, said)
        record = crd.payer.crd_records.assertion(parts[0]["coverage-assertion-id"][0])
        assert record is not None
        payer = next(p for p in crd.payer.rules.pack.payers if p.id == record.payer_id)
        bundle = demo_payload("v2.2.1", "pended")
        for entry in bundle["entry"]:
            if entry["resource"]["resourceType"] == "DeviceRequest":
                entry["resource"]["codeCodeableConcept"] = device["codeCodeableConcept"]
        request = PasRequest.parse(bundle)
        decision = decider.decide(request, request.claim["item"][0], payer, datetime.now(UTC))
        assert decision.action == pas_says, code


def test_proposed_alternatives_comply_with_the_crd_profiles(crd: Service) -> None:
    """CRD resp-55 (a Propose Alternate Request suggestion's order complies with its CRD
    profile) and resp-56 (the card keeps its model: one update action per suggestion, a
    label, selectionBehavior, topic therapy-alternatives-opt)."""
    validator = Validator.from_packages([shared_path("igs", "davinci-crd-2.0.1.tgz")])
    body = ig_request()
    original = body["context"]["draftOrders"]["entry"][0]["resource"]
    subject = original["subject"]
    order = {
        "resourceType": "DeviceRequest",
        "id": "dr-2",
        "authoredOn": "2026-01-05",
        "requester": original["requester"],
        "status": "draft",
        "intent": "original-order",
        "codeCodeableConcept": {
            "coding": [
                {
                    "system": "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
                    "code": "E0471",
                }
            ]
        },
        "subject": subject,
    }
    body["context"]["draftOrders"]["entry"] = [{"resource": order}]
    answer = crd.call(body).json()
    cards = [
        c for c in answer["cards"] if c["source"]["topic"]["code"] == "therapy-alternatives-opt"
    ]
    assert cards
    for card in cards:
        assert card["selectionBehavior"] in {"at-most-one", "any"}
        for suggestion in card["suggestions"]:
            assert suggestion["label"]
            actions = suggestion["actions"]
            assert [a["type"] for a in actions] == ["update"]
            proposed = actions[0]["resource"]
            assert proposed["id"] == order["id"]
            profile = CRD_SD + "profile-" + proposed["resourceType"].lower()
            issues = validator.validate(proposed, profile)
            assert [str(i) for i in issues if i.severity == "error"] == []


def test_no_form_completion_or_coverage_update_responses(
    kit_answers: list[tuple[dict[str, Any], dict[str, Any]]],
) -> None:
    """CRD resp-59 (Request Form Completion is not used where DTR applies: we never return
    it, DTR serves every form) and resp-69 (Update Coverage Records is not used: no answer
    creates or updates a Coverage), dev-20 (so we never send a Questionnaire to create)."""
    for _request, answer in kit_answers:
        actions = [
            a for c in answer["cards"] for s in c.get("suggestions", []) for a in s["actions"]
        ]
        actions += answer.get("systemActions", [])
        for action in actions:
            resource = action.get("resource", {})
            assert resource.get("resourceType") not in {"Task", "Questionnaire", "Coverage"}


def test_only_relevant_cards(crd: Service) -> None:
    """CRD found-13: an order no policy governs gets its coverage information and no card
    at all; an order with requirements gets cards about that order only."""
    unknown = crd.call(_with_order_code("99999", "http://example.org/local-codes")).json()
    assert coverage_actions(unknown)
    assert unknown["cards"] == []
    governed = crd.call(_with_order_code("72148", "http://www.ama-assn.org/go/cpt")).json()
    assert governed["cards"]
    for card in governed["cards"]:
        assert "72148" in json.dumps(card) or "lumbar" in json.dumps(card).lower()


# -- only mandatory and must-support data is depended on ------------------------------------


@cache
def crd_validator() -> Validator:
    return Validator.from_packages([shared_path("igs", "davinci-crd-2.0.1.tgz")])


def crd_profile(resource: dict[str, Any]) -> CompiledProfile | None:
    """The CRD profile for a resource's type (the kit's resources declare none)."""
    return crd_validator().get(CRD_SD + "profile-" + str(resource.get("resourceType")).lower())


def minimal_request(body: dict[str, Any]) -> dict[str, Any]:
    """The hook request with every context and prefetch resource (and each Bundle entry's)
    cut to its CRD profile's mandatory and must-support elements."""
    copied = copy.deepcopy(body)

    def cut(resource: dict[str, Any]) -> dict[str, Any]:
        if resource.get("resourceType") == "Bundle":
            for entry in resource.get("entry", []):
                entry["resource"] = cut(entry["resource"])
            return resource
        profile = crd_profile(resource)
        return minimal_by_profile(resource, profile) if profile is not None else resource

    for key, value in copied["context"].items():
        if isinstance(value, dict) and "resourceType" in value:
            copied["context"][key] = cut(value)
    if copied.get("prefetch"):
        copied["prefetch"] = {k: cut(v) for k, v in copied["prefetch"].items() if v}
    return copied


def _decisions(answer: dict[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """What the answer decides: each annotated order and its coverage-information parts
    (without the assertion id and the date, which are per call), and each card's gist."""
    found = []
    for action in coverage_actions(answer):
        resource = action["resource"]
        for parts in coverage_parts(resource):
            gist = sorted(
                (url, json.dumps(v, sort_keys=True))
                for url, values in parts.items()
                if url not in {"coverage-assertion-id", "date"}
                for v in values
            )
            found.append((f"{resource['resourceType']}/{resource['id']}", gist))
    for card in answer["cards"]:
        found.append((card["summary"], [(card["indicator"], card["source"]["topic"]["code"])]))
    return sorted(found)


def _without_based_on(body: dict[str, Any]) -> dict[str, Any]:
    copied = copy.deepcopy(body)
    for entry in copied["context"].get("appointments", {}).get("entry", []):
        entry["resource"].pop("basedOn", None)
    return copied


def test_minimal_by_profile_requests_get_the_same_coverage_information(crd: Service) -> None:
    """CRD conf-8 and hook-22 (no dependence on data elements neither mandatory nor
    must-support), conf-7 (nor on resource instances outside the CRD, HRex and US Core
    profiles: only CRD-profiled resources, cut to their profiles, are sent) and conf-4 (the
    must-support data available is what the decision is made from): every kit hook request,
    its context and prefetch resources cut to their CRD profiles' mandatory and must-support
    elements, gets the same coverage information and cards as the full request (the EHR
    still answers queries for what is not prefetched, such as the payor Organization). The
    one non-must-support element used, ``Appointment.basedOn``, only makes the answer more
    specific (the booked ServiceRequest is assessed); without it the Appointment itself is
    answered, as for the full request without it."""
    compared = cut = 0
    for body in kit_requests(crd):
        minimal = minimal_request(body)
        cut += minimal != body
        full_answer, minimal_answer = crd.call(_without_based_on(body)), crd.call(minimal)
        assert full_answer.status_code == minimal_answer.status_code == 200, minimal_answer.text
        decisions = _decisions(full_answer.json())
        assert _decisions(minimal_answer.json()) == decisions, body["hook"]
        compared += bool(coverage_actions(full_answer.json()))
    assert compared >= 8
    assert cut >= 8


# -- what we emit: must-support populated, standard elements used ---------------------------


def _coverage_extensions(
    answers: list[tuple[dict[str, Any], dict[str, Any]]],
) -> Iterator[dict[str, Any]]:
    for _, answer in answers:
        for action in coverage_actions(answer):
            for ext in action["resource"]["extension"]:
                if ext["url"] == COVERAGE_INFO_URL:
                    yield ext


def test_must_support_coverage_information_is_populated_when_there_is_a_value(
    kit_answers: list[tuple[dict[str, Any], dict[str, Any]]],
) -> None:
    """CRD conf-5: every must-support part of coverage-information is present whenever we
    have a value for it: covered and pa-needed always; doc-needed whenever a form or other
    documentation is asked for; doc-purpose with every doc-needed; info-needed whenever the
    answer is conditional on information we lack."""
    parts_seen: set[str] = set()
    for ext in _coverage_extensions(kit_answers):
        missing = set(crd_validator().missing_must_support(ext, COVERAGE_INFO_URL))
        parts = {p["url"]: p for p in ext["extension"]}
        parts_seen |= parts.keys()
        assert not {"Extension.extension:covered", "Extension.extension:pa-needed"} & missing
        if "questionnaire" in parts:
            assert "Extension.extension:doc-needed" not in missing
        if "doc-needed" in parts:
            assert "Extension.extension:doc-purpose" not in missing
        conditional = {parts["covered"]["valueCode"], parts["pa-needed"]["valueCode"]}
        if "conditional" in conditional:
            assert "Extension.extension:info-needed" not in missing
    assert {"doc-needed", "doc-purpose", "info-needed", "questionnaire"} <= parts_seen


def test_coverage_information_uses_the_crd_elements(
    kit_answers: list[tuple[dict[str, Any], dict[str, Any]]],
) -> None:
    """CRD conf-13: the answer is conveyed in the CRD-defined elements: the decision (covered,
    pa-needed, doc-needed, doc-purpose, info-needed) in the must-support parts of
    coverage-information, the rest (reason, questionnaire, contact, date, the coverage and
    its assertion id) in parts the CRD extension defines; no part, and no extension on the
    annotated order, that CRD does not define."""
    definition = crd_validator().require(COVERAGE_INFO_URL)
    slices = {s.slice_name: s for s in definition.root.element_children()["extension"].slices}
    for ext in _coverage_extensions(kit_answers):
        for part in ext["extension"]:
            assert part["url"] in slices, part["url"]
            if part["url"] in {"covered", "pa-needed", "doc-needed", "doc-purpose", "info-needed"}:
                assert slices[part["url"]].must_support, part["url"]
    for request, answer in kit_answers:
        sent = {
            key: {e["url"] for e in order.get("extension", [])}
            for key, order in _orders_in(request).items()
        }
        for action in coverage_actions(answer):
            resource = action["resource"]
            added = {e["url"] for e in resource["extension"]}
            added -= sent.get(f"{resource['resourceType']}/{resource['id']}", set())
            assert added <= {COVERAGE_INFO_URL}, added


@pytest.mark.parametrize("version", VERSIONS)
def test_every_us_core_version_is_handled(crd: Service, version: str) -> None:
    """CRD conf-2 (all three US Core versions handled): every kit hook request, its context
    and prefetch resources declaring the US Core 3.1.1, 6.1.0 or 7.0.0 profile of their type
    (with that version's Patient extension), gets the same coverage information and cards
    as the kit's request."""
    shaped_count = 0
    for body in kit_requests(crd):
        shaped = copy.deepcopy(body)
        shaped["context"] = deep_as_us_core(body["context"], version)
        if body.get("prefetch"):
            shaped["prefetch"] = deep_as_us_core(body["prefetch"], version)
        shaped_count += shaped != body
        expected, answer = crd.call(body), crd.call(shaped)
        assert answer.status_code == 200, answer.text
        assert _decisions(answer.json()) == _decisions(expected.json()), body["hook"]
    assert shaped_count >= 8


ADDITIONAL_ORDER_TYPES = {
    "CommunicationRequest", "Device", "DeviceRequest", "Medication", "MedicationRequest",
    "NutritionOrder", "ServiceRequest", "VisionPrescription",
}  # fmt: skip
"""What an Identify Additional Orders suggestion may create (CRD resp-57's profiles)."""


def test_additional_orders_are_draft_orders_meeting_the_crd_profiles(crd: Service) -> None:
    """CRD resp-57 (each proposed order complies with its CRD profile: validated against
    profile-servicerequest and the rest) and resp-58 (the Additional Orders card follows its
    model: a clinical-reminder card about the order, suggestions with a label and uuid whose
    actions all create one of the order types, any number of which may be chosen, for the
    patient, encounter and requester of the order): the IG's order-sign example with home
    oxygen gets the topic's prerequisite test; a client that turns the card type off gets
    none, and only order-select and order-sign offer it."""
    body = ig_request()
    answer = crd.call(body).json()
    assert validate_response(answer, hook="order-sign") == []
    cards = [c for c in answer["cards"] if c["source"]["topic"]["code"] == "clinical-reminder"]
    assert cards
    orders = _orders_in(body)
    for card in cards:
        assert card["selectionBehavior"] == "any"
        (about,) = card["extension"]["davinci-crd.associated-resource"]
        order = orders[about["reference"]]
        assert card["suggestions"]
        for suggestion in card["suggestions"]:
            uuid.UUID(suggestion["uuid"])
            assert suggestion["label"]
            for action in suggestion["actions"]:
                assert action["type"] == "create"
                created = action["resource"]
                assert created["resourceType"] in ADDITIONAL_ORDER_TYPES
                profile = CRD_SD + "profile-" + created["resourceType"].lower()
                issues = crd_validator().validate(created, profile)
                assert [str(i) for i in issues if i.severity == "error"] == []
                assert created["status"] == "draft"
                assert created["subject"] == order["subject"]
    off = ig_request()
    off["extension"]["davinci-crd.configuration"] = {"clinical-reminder": False}
    topics = {c["source"]["topic"]["code"] for c in crd.call(off).json()["cards"]}
    assert "clinical-reminder" not in topics
    services = requests.get(f"{crd.base_url}/cds-services", timeout=10).json()["services"]
    offering = {
        s["hook"]
        for s in services
        for o in s["extension"]["davinci-crd.configuration-options"]
        if o["code"] == "clinical-reminder"
    }
    assert offering == {"order-select", "order-sign"}


def _form_tasks(answer: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(card, Task) for every Task a card's suggestion would create."""
    return [
        (card, action["resource"])
        for card in answer["cards"]
        for suggestion in card.get("suggestions", [])
        for action in suggestion["actions"]
        if action["type"] == "create" and action["resource"]["resourceType"] == "Task"
    ]


def test_form_completion_only_for_clients_without_dtr(crd: Service) -> None:
    """CRD resp-62 (the Task a Request Form Completion card creates complies with
    profile-taskquestionnaire), resp-65 (the card follows the Form Completion model: an
    info card about the order whose suggestions, any of which may be taken, each create a
    ready Task coded complete-questionnaire for the patient, based on the order, naming the
    form's canonical as its questionnaire input), resp-59 (never used when the client
    launches DTR, the default: the forms go through DTR then). The IG's order-sign example
    asks for the home oxygen form."""
    assert _form_tasks(crd.call(ig_request()).json()) == []
    body = ig_request()
    body["extension"]["davinci-crd.configuration"] = {"dtr": False}
    answer = crd.call(body).json()
    assert validate_response(answer, hook="order-sign") == []
    found = _form_tasks(answer)
    assert found
    orders = _orders_in(body)
    asked = {
        q
        for action in coverage_actions(answer)
        for parts in coverage_parts(action["resource"])
        for q in parts.get("questionnaire", [])
    }
    for card, task in found:
        assert card["indicator"] == "info"
        assert card["selectionBehavior"] == "any"
        issues = crd_validator().validate(task, CRD_SD + "profile-taskquestionnaire")
        assert [str(i) for i in issues if i.severity == "error"] == []
        assert task["status"] == "ready"
        assert task["code"]["coding"][0]["code"] == "complete-questionnaire"
        (based_on,) = task["basedOn"]
        assert task["for"] == orders[based_on["reference"]]["subject"]
        (form,) = [i for i in task["input"] if i["type"].get("text") == "questionnaire"]
        assert form["valueCanonical"].startswith("http")
        assert form["valueCanonical"] in asked
