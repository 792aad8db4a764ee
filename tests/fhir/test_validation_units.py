"""Unit checks: terminology, primitives, OperationOutcome, package loading, must-support."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from davinci_pa.fhir.validation import (
    ConformanceIndex,
    IgPackage,
    InvalidResource,
    Issue,
    Validator,
    checker,
    issues_to_operation_outcome,
    raise_for_errors,
)
from davinci_pa.fhir.validation.bindings import check_binding
from davinci_pa.fhir.validation.extract import write_subset
from davinci_pa.fhir.validation.primitives import check_primitive
from davinci_pa.fhir.validation.profile import Binding
from davinci_pa.fhir.validation.references import ReferenceIndex
from davinci_pa.fhir.validation.structural import validate_structure
from davinci_pa.fhir.validation.terminology import Terminology
from tests._shared import load_shared_json, shared_path
from tests.fhir.test_validation_examples import validator_for

CRD_VS = "http://hl7.org/fhir/us/davinci-crd/ValueSet/"
CRD_TEMP = "http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp"


@pytest.mark.parametrize(
    ("value_set", "system", "code", "expected"),
    [
        (CRD_VS + "coverageInfo", None, "covered", True),
        (CRD_VS + "coverageInfo", CRD_TEMP, "not-covered", True),
        (CRD_VS + "coverageInfo", None, "maybe", False),
        (CRD_VS + "coverageInfo", "http://other", "covered", False),
        (CRD_VS + "cardType", CRD_TEMP, "coverage-info", True),  # descendent-of filter
        (CRD_VS + "deviceRequest", "http://www.ama-assn.org/go/cpt", "E0424", True),
        (CRD_VS + "serviceRequestCodes", "http://snomed.info/sct", "1", None),  # SNOMED filter
        (CRD_VS + "orderDetail", "http://example.org", "x", None),  # external nested ValueSet
        ("http://example.org/ValueSet/unknown", None, "x", None),
    ],
)
def test_value_set_membership(
    value_set: str, system: str | None, code: str, expected: bool | None
) -> None:
    terminology = Terminology(validator_for("davinci-crd-2.0.1.tgz").index)
    assert terminology.contains(value_set, system, code) is expected


@pytest.mark.parametrize(
    ("type_code", "value", "ok"),
    [
        ("date", "2024-02-29", True),
        ("date", "2024-13-01", False),
        ("dateTime", "2024-01-01T10:00:00Z", True),
        ("dateTime", "2024-01-01T10:00", False),
        ("instant", "2024-01-01", False),
        ("positiveInt", 0, False),
        ("unsignedInt", 0, True),
        ("integer", True, False),
        ("decimal", 1.5, True),
        ("boolean", "true", False),
        ("code", "a b", True),
        ("code", " a", False),
        ("id", "x" * 65, False),
        ("uuid", "urn:uuid:c757873d-ec9a-4326-a141-556f43239520", True),
    ],
)
def test_primitive_rules(type_code: str, value: Any, ok: bool) -> None:
    assert (check_primitive(type_code, value) is None) is ok


def test_operation_outcome_has_expression_per_issue() -> None:
    issues = [
        Issue("error", "Claim.patient", "minimum required = 1", "http://p", "required"),
        Issue("warning", "Claim.text", "dom-6", None, "invariant"),
    ]
    outcome = issues_to_operation_outcome(issues)
    assert [i["expression"] for i in outcome["issue"]] == [["Claim.patient"], ["Claim.text"]]
    assert outcome["issue"][0]["code"] == "required"
    assert issues_to_operation_outcome([])["issue"][0]["severity"] == "information"
    with pytest.raises(InvalidResource) as raised:
        raise_for_errors(issues, "PAS Bundle")
    assert raised.value.http_status == 400
    assert raised.value.to_operation_outcome() == outcome
    raise_for_errors(issues[1:])  # warnings only: no exception


def test_package_loads_from_bytes_like_from_path() -> None:
    path = shared_path("igs", "davinci-crd-2.0.1.tgz")
    from_bytes = IgPackage.load(path.read_bytes())
    assert from_bytes.name == "hl7.fhir.us.davinci-crd"
    assert from_bytes.version == "2.0.1"
    assert len(from_bytes.resources) == len(IgPackage.load(path).resources)


def test_shipped_subset_folder_validates_like_the_package(tmp_path: Path) -> None:
    full = validator_for("davinci_pas_2.2.1.tgz")
    request_bundle = (
        "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-pas-request-bundle"
    )
    bundle = load_shared_json(
        "fixtures", "pas", "v2.2.1", "approval_pa_submit_request_payload.json"
    )
    declared = [
        p for e in bundle["entry"] for p in e["resource"].get("meta", {}).get("profile", [])
    ]
    written = write_subset(full.index, [request_bundle, *declared], tmp_path)
    assert 10 < len(written) < len(full.index.packages[0].resources)
    subset = Validator.from_packages([tmp_path])
    bundle["entry"][0]["resource"]["use"] = "claimx"
    expected = [i for i in full.validate(bundle, request_bundle) if i.severity == "error"]
    found = [i for i in subset.validate(bundle, request_bundle) if i.severity == "error"]
    assert found == expected
    assert any(i.path == "Bundle.entry[0].resource.use" for i in found)


def test_entry_profiles_apply_to_unconstrained_entries() -> None:
    validator = validator_for("davinci_pas_2.2.1.tgz")
    bundle = load_shared_json("fixtures", "pas", "golden-v2.2.1", "approval_json_response.json")
    patient = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    patient["resource"].pop("meta", None)
    patient["resource"].pop("gender")
    beneficiary = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-beneficiary"
    assert not _has_error(validator.validate(bundle), "gender")
    issues = validator.validate(bundle, entry_profiles={"Patient": beneficiary})
    assert _has_error(issues, "gender")


def test_missing_must_support_lists_absent_elements() -> None:
    validator = validator_for("davinci-crd-2.0.1.tgz")
    action = load_shared_json(
        "fixtures", "crd", "golden", "coverage_info_system_action_covered.json"
    )
    profile = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/profile-devicerequest"
    missing = validator.missing_must_support(action["resource"], profile)
    assert "DeviceRequest.extension:Coverage-Information" not in missing
    action["resource"].pop("extension")
    assert "DeviceRequest.extension:Coverage-Information" in validator.missing_must_support(
        action["resource"], profile
    )


def test_unknown_profile_is_a_configuration_error() -> None:
    from davinci_pa.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        Validator(ConformanceIndex()).validate({"resourceType": "Patient"}, "http://x/y")


def _has_error(issues: list[Issue], fragment: str) -> bool:
    return any(i.severity == "error" and fragment in i.path for i in issues)


def test_a_slice_set_by_a_required_binding_takes_its_codes() -> None:
    """FHIR §5.1.0.5: value and pattern discriminators may be determined by a required
    binding (PDex's ``adjudicationamounttype`` slice binds ``category`` to PDexAdjudication)."""
    pdex = Validator.from_packages([shared_path("igs", "davinci-pdex-2.1.0.tgz")])
    profile = "http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/pdex-priorauthorization"

    def adjudication(code: str) -> dict[str, Any]:
        category = {"system": "http://terminology.hl7.org/CodeSystem/adjudication", "code": code}
        item = {
            "sequence": 1,
            "productOrService": {
                "coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "27447"}]
            },
            "adjudication": [
                {"category": {"coding": [category]}, "amount": {"value": 10, "currency": "USD"}}
            ],
        }
        claim_type = {"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "oral"}
        return {
            "resourceType": "ExplanationOfBenefit",
            "status": "active",
            "type": {"coding": [claim_type]},
            "use": "preauthorization",
            "patient": {"reference": "Patient/1"},
            "created": "2026-01-01T00:00:00Z",
            "insurer": {"display": "Payer"},
            "provider": {"display": "Provider"},
            "outcome": "complete",
            "insurance": [{"focal": True, "coverage": {"display": "Coverage"}}],
            "item": [item],
        }

    def closed_slicing_errors(code: str) -> list[str]:
        issues = pdex.validate(adjudication(code), profile)
        return [i.message for i in issues if "closed slicing" in i.message]

    assert closed_slicing_errors("submitted") == []
    assert closed_slicing_errors("tax") != []  # not in PDexAdjudication: no slice takes it


def test_a_null_nested_resource_type_is_an_issue_not_a_crash() -> None:
    """Found by the DTR fuzz test: ``"resourceType": null`` in a contained resource."""
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "in-progress",
        "contained": [{"resourceType": None, "id": "q"}],
    }
    issues = validate_structure(response)
    assert [i.message for i in issues] == ["unknown resource type None"]
    assert issues[0].path == "QuestionnaireResponse.contained[0]"


def test_any_of_walks_a_profile_ruled_out_by_top_level_cardinality_only_when_none_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PAS Claims are one of profile-claim-update (``related`` 1..*) or profile-claim (0..0).

    Only the profile a Claim's top-level cardinalities leave possible is walked when it
    passes; when it does not, the other is walked too, for the closest match's issues.
    """
    validator = validator_for("davinci_pas_2.2.1.tgz")
    pas = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
    alternatives = [pas + "profile-claim-update", pas + "profile-claim"]
    payload = "must_support_pa_submit_request_payload.json"  # a list of two Bundles
    bundle = load_shared_json("fixtures", "pas", "v2.2.1", payload)[0]
    claims = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Claim"]
    initial = next(c for c in claims if "related" not in c)
    update = next(c for c in claims if "related" in c)  # its NUBC revenue codes fail both
    walked: list[str] = []
    apply = checker.Walk._apply

    def recording(walk: checker.Walk, value: Any, profile: Any, path: str, resource: bool) -> None:
        if resource:
            walked.append(profile.url)
        apply(walk, value, profile, path, resource)

    monkeypatch.setattr(checker.Walk, "_apply", recording)
    walk = checker.Walk(validator._services, ReferenceIndex(bundle))
    assert walk.conforms(initial, alternatives)
    assert walked == [pas + "profile-claim"]
    walked.clear()
    assert not walk.conforms(update, alternatives)
    assert walked == alternatives


def test_an_empty_resource_type_is_not_a_resource() -> None:
    """Found by the validation fuzz test: the issue had an empty path."""
    issues = validator_for("davinci-crd-2.0.1.tgz").validate({"resourceType": ""})
    assert [(i.path, i.message) for i in issues] == [("$", "not a FHIR resource (no resourceType)")]


@pytest.mark.parametrize(
    ("unverifiable", "verdict"), [((), "error"), (("example.org",), "unchecked")]
)
def test_a_required_binding_leaves_codes_of_unverifiable_systems_unchecked(
    unverifiable: tuple[str, ...], verdict: str
) -> None:
    """Licensed code systems (X12, NUBC) cannot be judged locally: no binding error for them."""
    index = validator_for("davinci-crd-2.0.1.tgz").index
    terminology = Terminology(index, unverifiable=unverifiable)
    coding = {"system": "http://example.org/licensed", "code": "covered"}
    binding = Binding("required", CRD_VS + "coverageInfo")
    result = check_binding(coding, "Coding", binding, "Extension.valueCoding", terminology)
    assert result.verdict == verdict
