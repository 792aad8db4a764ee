"""Everything CRD emits validates against its CRD profile (conformance-kits.md §1.4 .11).

The shared IG packages hold CRD 2.0.1, so 2.0-shape answers must validate with no error;
2.2-shape answers differ from 2.0.1 by design only where CRD 2.2 changed the extension
(``contact`` became a ContactDetail), and nowhere else.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from davinci_pa.crd.coverage_info import COVERAGE_INFO_URL
from davinci_pa.fhir.validation import Validator
from tests._shared import load_shared_json, params_or_skip, shared_path
from tests.server.conftest import Service
from tests.server.test_crd_replay import KIT_REQUESTS

PROFILE = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/profile-{}"
CRD_2_2_CHANGES = ("valueContactDetail",)


@cache
def crd_201() -> Validator:
    return Validator.from_packages([shared_path("igs", "davinci-crd-2.0.1.tgz")])


def _errors(resource: dict[str, Any]) -> list[str]:
    profile = PROFILE.format(resource["resourceType"].lower())
    return [
        f"{i.path}: {i.message}"
        for i in crd_201().validate(resource, profile)
        if i.severity == "error"
    ]


def _coverage_actions(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        a["resource"]
        for a in answer.get("systemActions", [])
        if any(e["url"] == COVERAGE_INFO_URL for e in a["resource"].get("extension", []))
    ]


@pytest.mark.parametrize("name", params_or_skip(KIT_REQUESTS))
def test_kit_answers_validate_against_crd_201_profiles(service: Service, name: str) -> None:
    body = load_shared_json("fixtures", "crd", "inferno", name)
    for request in body if isinstance(body, list) else [body]:
        answer = service.call(service.at_ehr(request)).json()
        for resource in _coverage_actions(answer):
            assert _errors(resource) == []


@pytest.mark.parametrize("version", ["2.0", "2.2"])
def test_ig_example_answer_validates_in_both_shapes(service: Service, version: str) -> None:
    body = load_shared_json("specs", "crd-2.2", "CRDServiceRequest.json")
    body["extension"]["davinci-crd.requestedVersion"] = version
    resources = _coverage_actions(service.call(body).json())
    assert resources
    for resource in resources:
        errors = _errors(resource)
        if version == "2.2":
            errors = [e for e in errors if not any(c in e for c in CRD_2_2_CHANGES)]
        assert errors == []
