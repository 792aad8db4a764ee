"""The conformance-kit and golden fixtures, checked against their IG profiles.

Each row says what the validator must conclude. Fixtures that fail carry the reason found
when investigating them (they are kit inputs, not our output).
"""

from __future__ import annotations

from typing import Any

import pytest

from davinci_pa.fhir.validation import Issue, issues_to_operation_outcome
from tests._shared import load_shared_json
from tests.fhir.test_validation_examples import validator_for

PAS201, PAS221 = "davinci_pas_2.0.1.tgz", "davinci_pas_2.2.1.tgz"
CRD = "davinci-crd-2.0.1.tgz"
REVENUE = "revenue-code#0105 is not in the required value set"
"""2.2.1 binds item.revenue to https://www.nubc.org/CodeSystem/RevenueCodes; these kit
payloads still use the 2.0.1 system https://www.nubc.org/revenue-code (the kit suppresses
NUBC terminology errors)."""

PAS_FIXTURES = [
    # (folder, file, package, None = no errors, else a fragment one error must contain)
    ("v2.0.1", "approval_pa_submit_request_payload.json", PAS201, None),
    ("v2.0.1", "denial_pa_submit_request_payload.json", PAS201, None),
    ("v2.0.1", "pended_pa_submit_request_payload.json", PAS201, None),
    ("v2.0.1", "pended_pa_inquire_request_payload.json", PAS201, None),
    ("v2.0.1", "must_support_pa_submit_request_payload.json", PAS201, None),
    ("v2.0.1", "must_support_pa_inquire_request_payload.json", PAS201, None),
    ("v2.0.1", "subscription_resource.json", PAS201, None),
    ("v2.2.1", "approval_pa_submit_request_payload.json", PAS221, REVENUE),
    ("v2.2.1", "denial_pa_submit_request_payload.json", PAS221, REVENUE),
    ("v2.2.1", "pended_pa_submit_request_payload.json", PAS221, REVENUE),
    ("v2.2.1", "must_support_pa_submit_request_payload.json", PAS221, REVENUE),
    ("v2.2.1", "claim_update_initial_submit_payload.json", PAS221, REVENUE),
    # an inquiry written with 2.0.1-era extensions under the request-bundle profile
    ("v2.2.1", "pended_pa_inquire_request_payload.json", PAS221, "extension 'traceNumber'"),
    ("v2.2.1", "subscription_resource.json", PAS221, None),
    ("v2.2.1", "nonconformant_pas_bundle.json", PAS221, "Bundle.entry:Claim"),
    ("golden-v2.2.1", "approval_json_response.json", PAS221, None),
    ("golden-v2.2.1", "ms_submit_responses.json", PAS221, None),
    ("golden-v2.2.1", "ms_inquire_responses.json", PAS221, None),
    ("golden-v2.2.1", "processing_error_response.json", PAS221, None),
    ("golden-v2.2.1", "operation_failure_operation_outcome.json", PAS221, None),
    # kit mock responses: no Bundle.identifier and no ClaimResponse.request (both 1..1)
    ("golden-v2.2.1", "denial_json_response.json", PAS221, "resource.request"),
    ("golden-v2.2.1", "pended_json_response.json", PAS221, "Bundle.identifier"),
    ("golden-v2.2.1", "modification_json_response.json", PAS221, "Bundle.identifier"),
]


def _errors(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.severity == "error"]


def _as_list(value: Any) -> list[dict[str, Any]]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize(
    ("folder", "name", "package", "expected"),
    PAS_FIXTURES,
    ids=[f"{row[0]}/{row[1]}" for row in PAS_FIXTURES],
)
def test_pas_fixture(folder: str, name: str, package: str, expected: str | None) -> None:
    validator = validator_for(package)
    for resource in _as_list(load_shared_json("fixtures", "pas", folder, name)):
        errors = _errors(validator.validate(resource))
        if expected is None:
            assert errors == [], "\n".join(map(str, errors))
        else:
            assert any(expected in f"{e.path} {e.message}" for e in errors), errors


def test_nonconformant_bundle_outcome_names_every_problem() -> None:
    bundle = load_shared_json("fixtures", "pas", "v2.2.1", "nonconformant_pas_bundle.json")
    issues = validator_for(PAS221).validate(bundle)
    outcome = issues_to_operation_outcome(issues)
    expressions = [i["expression"][0] for i in outcome["issue"] if i["severity"] == "error"]
    assert expressions == ["Bundle.entry", "Bundle.entry:Claim"]


CRD_DEVICEREQUEST = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/profile-devicerequest"


@pytest.mark.parametrize(
    "name",
    ["coverage_info_system_action_covered.json", "coverage_info_system_action_conditional.json"],
)
def test_crd_coverage_information_golden_actions_validate(name: str) -> None:
    action = load_shared_json("fixtures", "crd", "golden", name)
    issues = validator_for(CRD).validate(action["resource"], CRD_DEVICEREQUEST)
    assert _errors(issues) == []


CRD_GOLDEN = [
    # (file, resource index in the card/action, profile suffix, None or expected error)
    ("companions_prerequisites.json", 0, "servicerequest", None),
    ("valid_cards.json", 0, "medicationrequest", None),
    ("crd_authorization_hook_response.json", 0, "appointment", None),
    ("request_form_completion.json", 1, "taskquestionnaire", None),
    # the PAMA example order omits authoredOn and requester, both 1..1 in CRD 2.0.1
    ("other_system_action.json", 0, "servicerequest", "ServiceRequest.requester"),
]


def _resources(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        if "resourceType" in value:
            return [value]
        return [r for v in value.values() for r in _resources(v)]
    if isinstance(value, list):
        return [r for v in value for r in _resources(v)]
    return []


@pytest.mark.parametrize(("name", "index", "suffix", "expected"), CRD_GOLDEN)
def test_crd_golden_resources(name: str, index: int, suffix: str, expected: str | None) -> None:
    resource = _resources(load_shared_json("fixtures", "crd", "golden", name))[index]
    profile = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/profile-" + suffix
    errors = _errors(validator_for(CRD).validate(resource, profile))
    if expected is None:
        assert errors == [], "\n".join(map(str, errors))
    else:
        assert any(e.path == expected for e in errors), errors


DTR_SD = "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/"
DTR_GOLDEN = [
    ("dinner_questionnaire_package.json", DTR_SD + "DTR-QPackageBundle", None),
    ("questionnaire_dinner_order_static.json", DTR_SD + "DTR-QPackageBundle", None),
    ("questionnaire_package_input_params_conformant.json", None, None),
    ("dinner_order_adaptive_next_question_initial.json", None, None),
    ("respiratory_device_example-static_custom_questionnaire_response.json", None, None),
    # Bundle.type is missing (1..1 in R4)
    ("questionnaire_dinner_order_adaptive.json", DTR_SD + "DTR-QPackageBundle", "Bundle.type"),
    # a Questionnaire id with characters R4 ids do not allow
    ("questionnaire_package_output_params_conformant.json", None, "resource.id"),
    # answers without the information-origin extension DTR requires on every answer
    ("questionnaire_response_missing_data_requirement.json", None, "extension:origin"),
    # authored is "*" and the context/intendedUse extensions are missing
    ("questionnaire_response_dinner_order_static.json", None, "QuestionnaireResponse.authored"),
]


@pytest.mark.parametrize(("name", "profile", "expected"), DTR_GOLDEN)
def test_dtr_golden(name: str, profile: str | None, expected: str | None) -> None:
    validator = validator_for("davinci_dtr_2.0.1.tgz", CRD)
    resource = load_shared_json("fixtures", "dtr", "golden", name)
    errors = _errors(validator.validate(resource, profile))
    if expected is None:
        assert errors == [], "\n".join(map(str, errors))
    else:
        assert any(expected in e.path for e in errors), errors
