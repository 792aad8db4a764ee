"""``$questionnaire-package``: kit replay, the DTR payer checks of the conformance kit, profiles."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from davinci_pa.dtr.errors import DtrRequestError, UnknownDtrContext
from davinci_pa.dtr.service import DtrService, shipped_content
from davinci_pa.rules.loader import load_rule_pack
from davinci_pa.store.crd_records import AssertionRecord
from tests._shared import REPO, load_shared_json
from tests.dtr.helpers import (
    DTR_SD,
    bundles,
    device_order,
    package_request,
    profile_errors,
    service,
    service_order,
)

INFERNO = ("fixtures", "dtr", "inferno", "initial_static_questionnaire_request.json")


def _kit_checks(output: dict[str, Any]) -> None:
    """Inferno DTR payer tests 1.03-1.06 (conformance-kits.md §2.1)."""
    found = bundles(output)
    assert found, "No questionnaire bundle found in the response"
    names: list[str] = []
    library_urls: set[str] = set()
    for bundle in found:
        resources = [e["resource"] for e in bundle["entry"]]
        assert resources[0]["resourceType"] == "Questionnaire"
        for library in (r for r in resources if r["resourceType"] == "Library"):
            types = {c["contentType"] for c in library["content"]}
            assert {"text/cql", "application/elm+json"} <= types
            names.append(library["name"])
            library_urls.add(f"{library['url']}|{library['version']}")
            for content in library["content"]:
                assert base64.b64decode(content["data"])
    assert names
    assert len(names) == len(set(names)), names
    for bundle in found:
        questionnaire = bundle["entry"][0]["resource"]
        root = {e["url"].rsplit("/", 1)[-1]: e for e in questionnaire["extension"]}
        assert {"cqf-library", "sdc-questionnaire-launchContext"} <= set(root)
        for ext in questionnaire["extension"]:
            if "valueExpression" in ext:
                assert ext["valueExpression"]["language"] == "text/cql"
            if ext["url"].endswith("cqf-library"):
                assert ext["valueCanonical"] in library_urls
        expressions = _item_expressions(questionnaire["item"])
        assert expressions
        assert all(e["language"] == "text/cql" for e in expressions)


def _item_expressions(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kinds = ("initialExpression", "candidateExpression", "contextExpression")
    found = []
    for item in items:
        found += [
            e["valueExpression"] for e in item.get("extension", []) if e["url"].endswith(kinds)
        ]
        found += _item_expressions(item.get("item", []))
    return found


@pytest.mark.parametrize("version", ["2.0.1", "2.2"])
def test_inferno_static_request_passes_the_kit_checks(version: str) -> None:
    output = service().questionnaire_package(load_shared_json(*INFERNO), version=version)
    _kit_checks(output)
    name = "PackageBundle" if version == "2.0.1" else "packagebundle"
    assert [p["name"] for p in output["parameter"]] == [name]


def test_inferno_static_output_validates_against_dtr_201_profiles() -> None:
    output = service().questionnaire_package(load_shared_json(*INFERNO), version="2.0.1")
    assert profile_errors(output, DTR_SD + "dtr-qpackage-output-parameters") == []
    bundle = bundles(output)[0]
    assert profile_errors(bundle, DTR_SD + "DTR-QPackageBundle") == []
    questionnaire, draft = bundle["entry"][0]["resource"], bundle["entry"][-1]["resource"]
    assert profile_errors(questionnaire, DTR_SD + "dtr-std-questionnaire") == []
    assert profile_errors(draft, DTR_SD + "dtr-questionnaireresponse") == []


def test_draft_response_is_prepopulated_from_the_order_and_coverage() -> None:
    output = service().questionnaire_package(load_shared_json(*INFERNO), version="2.2")
    draft = bundles(output)[0]["entry"][-1]["resource"]
    assert draft["questionnaire"] == "http://davinci-pa.org/fhir/Questionnaire/home-oxygen|1.0.0"
    assert draft["subject"] == {"reference": "Patient/pat015"}
    urls = [(e["url"].rsplit("/", 1)[-1], e.get("valueReference")) for e in draft["extension"]]
    assert ("qr-coverage", {"reference": "Coverage/cov015"}) in urls
    assert ("qr-context", {"reference": "DeviceRequest/devreq015"}) in urls
    answers = {i["linkId"]: i["answer"] for g in draft["item"] for i in g["item"]}
    assert answers["order.code"][0]["valueCoding"]["code"] == "E0424"
    assert answers["patient.member-id"][0]["valueString"] == "10A3D58WH456"
    origin = answers["order.code"][0]["extension"][0]["extension"][0]
    assert origin == {"url": "source", "valueCode": "auto-server"}


def test_references_are_version_specific() -> None:
    output = service().questionnaire_package(load_shared_json(*INFERNO))
    for entry in bundles(output)[0]["entry"]:
        text = json.dumps(entry["resource"])
        for marker in ('"valueCanonical": "', '"answerValueSet": "', '"resource": "http'):
            for chunk in text.split(marker)[1:]:
                assert "|" in chunk.split('"', 1)[0], chunk[:80]


def _libraries(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        e["resource"]["name"]: e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Library"
    }


def test_every_bundle_carries_the_libraries_its_form_needs() -> None:
    """oper-12 over the kit's response-wide name check (docs/dtr.md): shared ones repeat."""
    body = package_request(device_order("E0424"), device_order("E0601", "o2"))
    found = bundles(service().questionnaire_package(body))
    assert len(found) == 2
    by_name: dict[str, str] = {}
    for bundle in found:
        libraries = _libraries(bundle)
        names = [e["resource"]["name"] for e in bundle["entry"] if "name" in e["resource"]]
        assert len(names) == len(set(names)), names
        assert "FHIRHelpers" in libraries
        canonicals = {f"{lib['url']}|{lib['version']}" for lib in libraries.values()}
        questionnaire = bundle["entry"][0]["resource"]
        needed = [
            e["valueCanonical"] for e in questionnaire["extension"] if "cqf-library" in e["url"]
        ]
        needed += [
            a["resource"]
            for lib in libraries.values()
            for a in lib.get("relatedArtifact", [])
            if a["type"] == "depends-on" and "/Library/" in a["resource"]
        ]
        assert set(needed) <= canonicals
        for name, library in libraries.items():
            assert by_name.setdefault(name, library["url"]) == library["url"]
        _kit_checks({"parameter": [{"resource": bundle}]})


def test_large_value_sets_are_sent_without_expansion() -> None:
    output = service().questionnaire_package(package_request(device_order("K0823")))
    valuesets = {
        e["resource"]["id"]: e["resource"]
        for e in bundles(output)[0]["entry"]
        if e["resource"]["resourceType"] == "ValueSet"
    }
    assert "expansion" not in valuesets["power-mobility-devices"]
    assert valuesets["power-mobility-devices"]["compose"]["include"]


def test_adaptive_package_holds_an_adapt_search_questionnaire_and_a_contained_draft() -> None:
    output = service().questionnaire_package(
        package_request(service_order("27447")), version="2.0.1"
    )
    bundle = bundles(output)[0]
    questionnaire, draft = bundle["entry"][0]["resource"], bundle["entry"][-1]["resource"]
    assert profile_errors(questionnaire, DTR_SD + "dtr-questionnaire-adapt-search") == []
    assert draft["questionnaire"] == f"#{draft['contained'][0]['id']}"
    assert draft["contained"][0]["derivedFrom"] == [
        "http://davinci-pa.org/fhir/Questionnaire/knee-arthroplasty|1.0.0"
    ]
    _kit_checks(output)


def test_requested_canonicals_and_unknown_ones() -> None:
    body = package_request(
        questionnaire={"valueCanonical": "http://davinci-pa.org/fhir/Questionnaire/cpap|1.0.0"}
    )
    body["parameter"].append(
        {"name": "questionnaire", "valueCanonical": "http://x.org/Questionnaire/none"}
    )
    output = service().questionnaire_package(body)
    assert [b["entry"][0]["resource"]["id"] for b in bundles(output)] == ["cpap"]
    outcome = output["parameter"][-1]["resource"]
    assert "http://x.org/Questionnaire/none" in outcome["issue"][0]["diagnostics"]


def test_changed_since_after_the_form_date_omits_it() -> None:
    body = package_request(
        device_order("E0424"), changedsince={"valueInstant": "2030-01-01T00:00:00Z"}
    )
    output = service().questionnaire_package(body)
    assert bundles(output) == []
    assert "has not changed" in output["parameter"][0]["resource"]["issue"][0]["diagnostics"]


def test_order_without_a_form_gets_an_informational_outcome() -> None:
    output = service().questionnaire_package(
        load_shared_json(
            "fixtures", "dtr", "golden", "questionnaire_package_input_params_conformant.json"
        )
    )
    assert bundles(output) == []
    assert output["parameter"][0]["name"] == "outcome"


class _Assertions:
    def __init__(self, decision: dict[str, Any]) -> None:
        self.record = AssertionRecord(
            "a-1", "r-1", "DeviceRequest/o1", "Coverage/cov1", "acme", "cpap", "cql", decision
        )

    def assertion(self, assertion_id: str) -> AssertionRecord | None:
        return self.record if assertion_id == "a-1" else None


def test_context_uses_the_crd_assertion_and_unknown_context_is_404() -> None:
    decision = {
        "questionnaires": ["http://davinci-pa.org/fhir/Questionnaire/cpap|1.0.0"],
        "doc-needed": ["clinical"],
        "doc-purpose": ["withpa"],
    }
    dtr = DtrService(
        shipped_content(),
        rules=load_rule_pack(REPO / "cql_rules"),
        assertions=_Assertions(decision),
    )
    output = dtr.questionnaire_package(
        package_request(device_order("E0424"), context={"valueString": "a-1"})
    )
    bundle = bundles(output)[0]
    assert bundle["entry"][0]["resource"]["id"] == "cpap"
    draft = bundle["entry"][-1]["resource"]
    uses = [
        e["valueCodeableConcept"]["coding"][0]["code"]
        for e in draft["extension"]
        if e["url"].endswith("intendedUse")
    ]
    assert uses == ["withpa"]
    with pytest.raises(UnknownDtrContext) as caught:
        dtr.questionnaire_package(
            package_request(device_order("E0424"), context={"valueString": "nope"})
        )
    assert caught.value.http_status == 404


def test_documentation_needed_without_a_form_explains_what_to_do() -> None:
    decision = {"questionnaires": [], "doc-needed": ["clinical"]}
    dtr = DtrService(shipped_content(), assertions=_Assertions(decision))
    output = dtr.questionnaire_package(
        package_request(device_order("E0424"), context={"valueString": "a-1"})
    )
    assert (
        "documentation is needed" in output["parameter"][0]["resource"]["issue"][0]["diagnostics"]
    )


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"resourceType": "Parameters", "parameter": []}, "empty"),
        (package_request(), "oper-6"),
        (
            package_request(device_order("E0424"), changedsince={"valueInstant": "yesterday"}),
            "valueInstant",
        ),
        (package_request(device_order("E0424"), context={"valueString": ""}), "valueString"),
        (
            package_request(device_order("E0424"), questionnaire={"valueString": "x"}),
            "valueCanonical",
        ),
        (package_request(device_order("E0424"), bogus={"valueString": "x"}), "unknown parameter"),
        (
            {
                "resourceType": "Parameters",
                "parameter": [{"name": "order", "resource": {"resourceType": "Patient"}}],
            },
            "DeviceRequest",
        ),
    ],
)
def test_bad_input_is_a_400_naming_the_defect(body: Any, fragment: str) -> None:
    _assert_400_naming(body, fragment)


@pytest.mark.parametrize(
    ("fixture", "fragment"),
    [
        ("questionnaire_package_input_params_ri.json", "Coverage.beneficiary"),
        ("questionnaire_package_input_params_non_conformant.json", "not 'Bundle'"),
    ],
)
def test_bad_golden_input_is_a_400_naming_the_defect(fixture: str, fragment: str) -> None:
    """The reference implementation's golden inputs (loaded here so collection never skips)."""
    _assert_400_naming(load_shared_json("fixtures", "dtr", "golden", fixture), fragment)


def _assert_400_naming(body: Any, fragment: str) -> None:
    with pytest.raises(DtrRequestError) as caught:
        service().questionnaire_package(body)
    assert caught.value.http_status == 400
    outcome = caught.value.to_operation_outcome()
    assert any(fragment in i["diagnostics"] for i in outcome["issue"]), outcome
