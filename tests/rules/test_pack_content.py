"""Content checks for the shipped rule pack in ``cql_rules/``.

Every topic must load, cite a public policy, own its codes alone for each payer and code
system, and ship a CQL library that declares the Da Vinci CDS-Library contract. The real
orders of the Inferno CRD kit and of the CRD 2.2 examples must each reach a topic.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from davinci_pa.crd.orders import REQUEST_TYPES, bundle_resources, order_codes
from davinci_pa.fhir.codes import normalize_system
from davinci_pa.rules.loader import load_rule_pack
from davinci_pa.rules.model import RulePack
from tests._shared import REPO, load_shared_json

PACK = REPO / "cql_rules"
TOPIC_DIRS = sorted(p.parent for p in PACK.glob("*/topic.json"))
TOPIC_IDS = [d.name for d in TOPIC_DIRS]
CONTRACT_DEFINES = ("RULE_APPLIES", "PRIORAUTH_REQUIRED", "DOCUMENTATION_REQUIRED")
ORDER_PARAMETERS = {
    "device_request": "DeviceRequest",
    "service_request": "ServiceRequest",
    "medication_request": "MedicationRequest",
    "nutrition_order": "NutritionOrder",
    "vision_prescription": "VisionPrescription",
    "communication_request": "CommunicationRequest",
    "appointment": "Appointment",
    "encounter": "Encounter",
    "coverage": "Coverage",
}
QUESTIONNAIRE = re.compile(r"http://davinci-pa\.org/fhir/Questionnaire/[a-z0-9-]+\|\d+\.\d+\.\d+")
MEDICARE, ACME = "medicare-demo", "acme-health-plan"


def _topic(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "topic.json").read_text(encoding="utf-8"))
    return data


def _library_text(folder: Path) -> str:
    name = _topic(folder)["library"]["name"]
    return (folder / f"{name}.cql").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return load_rule_pack(PACK)


def test_pack_loads_with_every_topic(pack: RulePack) -> None:
    assert sorted(t.id for t in pack.topics) == TOPIC_IDS
    assert len(TOPIC_IDS) >= 10
    assert {p.id for p in pack.payers} == {MEDICARE, ACME}


def test_pack_mixes_realistic_answers(pack: RulePack) -> None:
    decisions = [t.decision for t in pack.topics]
    assert {"covered", "not-covered", "conditional"} <= {d.covered for d in decisions}
    assert {"no-auth", "auth-needed", "conditional"} <= {d.pa_needed for d in decisions}
    assert {"withpa", "withorder", "retain-doc"} <= {p for d in decisions for p in d.doc_purpose}


@pytest.mark.parametrize("folder", TOPIC_DIRS, ids=TOPIC_IDS)
def test_topic_follows_the_format(folder: Path) -> None:
    topic = _topic(folder)
    assert topic["id"] == folder.name
    for key in ("title", "summary", "instructions"):
        assert isinstance(topic[key], str), key
        assert topic[key].strip(), key
    assert topic["payers"]
    assert all(isinstance(p, str) for p in topic["payers"])
    for block in topic["codes"]:
        assert block["codes"]
        assert len(set(block["codes"])) == len(block["codes"])
        assert all(c == c.strip() and c for c in block["codes"])
    for question in topic["questionnaires"]:
        assert re.fullmatch(
            r"http://davinci-pa\.org/fhir/Questionnaire/[a-z0-9-]+\|\d+\.\d+\.\d+", question
        )


@pytest.mark.parametrize("folder", TOPIC_DIRS, ids=TOPIC_IDS)
def test_topic_cites_a_public_policy(folder: Path) -> None:
    policies = _topic(folder)["policies"]
    assert policies
    for policy in policies:
        assert policy["title"].strip()
        assert re.fullmatch(r"https://[a-z0-9.-]+\.[a-z]{2,}/\S*", policy["url"]), policy["url"]


@pytest.mark.parametrize("folder", TOPIC_DIRS, ids=TOPIC_IDS)
def test_alternatives_name_an_ordered_code_of_the_topic(folder: Path) -> None:
    topic = _topic(folder)
    own = {c for block in topic["codes"] for c in block["codes"]}
    for alternative in topic["alternatives"]:
        assert alternative["when"] in own
        assert alternative["code"]["code"] != alternative["when"]
        assert alternative["display"].strip()
        assert alternative["reason"].strip()


def test_no_code_belongs_to_two_topics_for_the_same_payer() -> None:
    owners: dict[tuple[str, str], list[tuple[str, frozenset[str]]]] = defaultdict(list)
    for folder in TOPIC_DIRS:
        topic = _topic(folder)
        for block in topic["codes"]:
            payers = frozenset(block.get("payers") or topic["payers"])
            for code in block["codes"]:
                owners[(normalize_system(block["system"]), code)].append((topic["id"], payers))
    clashes = [
        (key, first[0], second[0])
        for key, claims in owners.items()
        for i, first in enumerate(claims)
        for second in claims[i + 1 :]
        if "*" in first[1] | second[1] or first[1] & second[1]
    ]
    assert clashes == []


@pytest.mark.parametrize("folder", TOPIC_DIRS, ids=TOPIC_IDS)
def test_library_declares_the_rule_contract(folder: Path) -> None:
    library = _topic(folder)["library"]
    text = _library_text(folder)
    header = rf"library {library['name']} version '{re.escape(library['version'])}'"
    assert re.search(header, text)
    assert "using FHIR version '4.0.1'" in text
    assert "include FHIRHelpers version '4.0.1' called FHIRHelpers" in text
    assert re.search(r"^context Patient$", text, re.MULTILINE)
    defines = set(re.findall(r'^define (?:function )?"?([A-Za-z_ ]+?)"?[:(]', text, re.MULTILINE))
    assert set(CONTRACT_DEFINES) <= defines


@pytest.mark.parametrize("folder", TOPIC_DIRS, ids=TOPIC_IDS)
def test_library_parameters_follow_the_contract(folder: Path) -> None:
    text = _library_text(folder)
    declared = dict(re.findall(r"^parameter (\w+) (\w+)", text, re.MULTILINE))
    assert set(declared) - {"coverage"}, "a rule receives at least one order parameter"
    for name, kind in declared.items():
        assert ORDER_PARAMETERS.get(name) == kind, name


@pytest.mark.parametrize("folder", TOPIC_DIRS, ids=TOPIC_IDS)
def test_library_value_sets_ship_with_an_expansion(folder: Path) -> None:
    urls = set(re.findall(r"^valueset \"[^\"]+\": '([^']+)'", _library_text(folder), re.MULTILINE))
    shipped = {}
    for path in sorted((folder / "valuesets").glob("*.json")):
        resource = json.loads(path.read_text(encoding="utf-8"))
        assert resource["resourceType"] == "ValueSet"
        contains = resource["expansion"]["contains"]
        assert contains, path.name
        assert all(c["system"] and c["code"] for c in contains), path.name
        assert "Source:" in resource["description"], path.name
        shipped[resource["url"]] = path.name
    assert urls == set(shipped)


def _resolver(resources: list[dict[str, Any]]) -> Any:
    index = {f"{r['resourceType']}/{r['id']}": r for r in resources if "id" in r}
    return lambda reference: index.get(reference)


def _hook_orders(request: dict[str, Any]) -> list[dict[str, Any]]:
    context, prefetch = request.get("context", {}), request.get("prefetch") or {}
    orders = []
    for key in ("draftOrders", "appointments"):
        orders += bundle_resources(context.get(key), REQUEST_TYPES)
    order = prefetch.get("order")
    if isinstance(order, dict) and order.get("resourceType") in REQUEST_TYPES:
        orders.append(order)
    return orders


def _inferno(name: str) -> tuple[str, ...]:
    return ("fixtures", "crd", "inferno", name)


HOOK_FIXTURES = [
    (_inferno("order_sign-1.json"), MEDICARE, {"devreq-015-e0250": "hospital-beds"}),
    (_inferno("order_sign-2.json"), MEDICARE, {"servreq-g0180-1": "home-health"}),
    (
        _inferno("order_select-1.json"),
        MEDICARE,
        {"pat015-mr-azathioprine": "immunosuppressive-drugs"},
    ),
    (
        _inferno("order_select-2.json"),
        MEDICARE,
        {"pat015-mr-methotrexate": "immunosuppressive-drugs"},
    ),
    (
        _inferno("order_sign_hook_request.json"),
        MEDICARE,
        {"pureeddiet-simple": "nutrition", "smart-MedicationRequest-103": "oral-antibiotics"},
    ),
    (
        _inferno("order_select_hook_request.json"),
        MEDICARE,
        {"pureeddiet-simple": "nutrition", "smart-MedicationRequest-103": "oral-antibiotics"},
    ),
    (_inferno("order_dispatch-1.json"), MEDICARE, {"servreq-g0180-1": "home-health"}),
    (_inferno("order_dispatch-2.json"), MEDICARE, {"devreq015": "home-oxygen"}),
    (_inferno("appointment_book-1.json"), MEDICARE, {"124": "office-visits"}),
    (
        _inferno("appointment_book-2.json"),
        MEDICARE,
        {"125": "sleep-medicine-visits", "126": None},
    ),
    (
        _inferno("any_hook_request-1.json"),
        MEDICARE,
        {"125": "sleep-medicine-visits", "126": None},
    ),
    (
        ("specs", "crd-2.2", "CRDServiceRequest.json"),
        ACME,
        {"1357": "breast-imaging", "2468": "home-oxygen"},
    ),
    (("specs", "crd-2.2", "CRDServiceRequest4.json"), ACME, {"example": "complementary-therapies"}),
]


@pytest.mark.parametrize(
    ("parts", "payer", "expected"), HOOK_FIXTURES, ids=[p[0][-1] for p in HOOK_FIXTURES]
)
def test_fixture_orders_reach_their_topic(
    pack: RulePack, parts: tuple[str, ...], payer: str, expected: dict[str, str | None]
) -> None:
    orders = _hook_orders(load_shared_json(*parts))
    resolve = _resolver(orders)
    found = {}
    for order in orders:
        topics = {t.id for c in order_codes(order, resolve) if (t := pack.topic_for(c, payer))}
        assert len(topics) <= 1, topics
        found[order["id"]] = next(iter(topics), None)
    assert found == expected


BUNDLE_ORDERS = {
    "devreq014": "home-oxygen",
    "devreq015": "home-oxygen",
    "devreq020": "cpap",
    "devreqe0470": "cpap",
    "devreq021": "cpap",
    "devreq-014-e0250": "hospital-beds",
    "devreq-015-e0250": "hospital-beds",
    "servreq01": "non-emergency-ambulance",
    "servreq-pat014-hhs": "home-health",
    "servreq-g0180-1": "home-health",
    "pat014-mr-azathioprine": "immunosuppressive-drugs",
    "pat014-mr-methotrexate": "immunosuppressive-drugs",
    "125": "sleep-medicine-visits",
}


def test_inferno_record_orders_reach_their_topic(pack: RulePack) -> None:
    bundle = load_shared_json(*_inferno("crd_transaction_bundle.json"))
    resources = [e["resource"] for e in bundle["entry"]]
    resolve = _resolver(resources)
    found = {
        r["id"]: topic.id
        for r in bundle_resources(bundle, REQUEST_TYPES)
        for c in order_codes(r, resolve)
        if (topic := pack.topic_for(c, MEDICARE)) and r["id"] in BUNDLE_ORDERS
    }
    assert found == BUNDLE_ORDERS
