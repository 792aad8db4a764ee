"""Deliberately broken variants of IG examples produce the right error at the right path."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from davinci_pa.fhir.validation import Issue
from tests._shared import load_shared_json
from tests.fhir.test_validation_examples import validator_for

CRD = "davinci-crd-2.0.1.tgz"
PAS = "davinci_pas_2.2.1.tgz"
CRD_SD = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/"
PAS_SD = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
COVERAGE_INFO = CRD_SD + "ext-coverage-information"

GOLDEN = "golden:coverage_info_system_action_covered.json"
"""The CRD golden coverage-information system action (its DeviceRequest)."""

Mutation = Callable[[dict[str, Any]], None]


def _coverage_info(resource: dict[str, Any]) -> dict[str, Any]:
    return next(e for e in resource["extension"] if e["url"] == COVERAGE_INFO)


def _set_sub(url: str, **value: Any) -> Mutation:
    def mutate(resource: dict[str, Any]) -> None:
        subs = _coverage_info(resource)["extension"]
        subs[:] = [s for s in subs if s["url"] != url] + [{"url": url, **value}]

    return mutate


def _delete(key: str) -> Mutation:
    return lambda resource: resource.pop(key)


def _set(key: str, value: Any) -> Mutation:
    return lambda resource: resource.__setitem__(key, value)


def _add_identifiers(resource: dict[str, Any]) -> None:
    resource["identifier"] = [{"system": "urn:x", "value": str(i)} for i in range(3)]


CASES = [
    # (id, package, example, profile, mutation, expected path, message fragment)
    ("missing-required", PAS, "Claim-HomecareAuthorizationExample.json", PAS_SD + "profile-claim",
     _delete("patient"), "Claim.patient", "minimum required = 1"),
    ("cardinality-exceeded", PAS, "Claim-HomecareAuthorizationExample.json",
     PAS_SD + "profile-claim", _add_identifiers, "Claim.identifier", "maximum allowed = 2"),
    ("core-required-binding", PAS, "Claim-HomecareAuthorizationExample.json",
     PAS_SD + "profile-claim", _set("use", "claimx"), "Claim.use", "not in the required"),
    ("wrong-fixed-value", CRD, "DeviceRequest-example.json", CRD_SD + "profile-devicerequest",
     _set("status", "active"), "DeviceRequest.status", "fixed value 'draft'"),
    ("bad-primitive", CRD, "DeviceRequest-example.json", CRD_SD + "profile-devicerequest",
     _set("authoredOn", "2019-13-45"), "DeviceRequest.authoredOn", "not a valid dateTime"),
    ("unknown-element", CRD, "DeviceRequest-example.json", CRD_SD + "profile-devicerequest",
     _set("colour", "red"), "DeviceRequest.colour", "unknown element"),
    ("reference-target", CRD, "DeviceRequest-example.json", CRD_SD + "profile-devicerequest",
     _set("subject", {"reference": "Organization/1"}), "DeviceRequest.subject",
     "reference to a Organization is not allowed"),
    ("extension-code-binding", CRD, GOLDEN, CRD_SD + "profile-devicerequest",
     _set_sub("covered", valueCode="maybe"),
     "DeviceRequest.extension[0].extension[4].valueCode", "'maybe' is not in the required"),
    ("extension-value-type", CRD, GOLDEN, CRD_SD + "profile-devicerequest",
     _set_sub("covered", valueString="covered"),
     "DeviceRequest.extension[0].extension[4].valueString", "is not allowed for value[x]"),
    ("extension-missing-sub", CRD, GOLDEN, CRD_SD + "profile-devicerequest",
     lambda r: _coverage_info(r)["extension"].pop(0),
     "DeviceRequest.extension[0].extension:coverage", "minimum required = 1"),
    ("invariant-crd-ci-q5", CRD, GOLDEN, CRD_SD + "profile-devicerequest",
     _set_sub("satisfied-pa-id", valueString="PA-1"), "DeviceRequest.extension[0]", "crd-ci-q5"),
    ("invariant-crd-ci-q5-reverse", CRD, GOLDEN, CRD_SD + "profile-devicerequest",
     _set_sub("pa-needed", valueCode="satisfied"), "DeviceRequest.extension[0]", "crd-ci-q5"),
]  # fmt: skip


def _example(package: str, name: str) -> dict[str, Any]:
    if name.startswith("golden:"):
        action = load_shared_json("fixtures", "crd", "golden", name.removeprefix("golden:"))
        return dict(action["resource"])
    examples = dict(validator_for(package).index.packages[0].examples)
    return copy.deepcopy(examples[name])


@pytest.mark.parametrize(
    ("package", "name", "profile", "mutate", "path", "fragment"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_broken_variant_is_reported(
    package: str, name: str, profile: str, mutate: Mutation, path: str, fragment: str
) -> None:
    validator = validator_for(package)
    resource = _example(package, name)
    assert _errors(validator.validate(resource, profile)) == []
    mutate(resource)
    errors = _errors(validator.validate(resource, profile))
    matching = [e for e in errors if e.path == path and fragment in e.message]
    assert matching, "\n".join(map(str, errors))
    assert all(e.profile in (profile, None) or e.profile.startswith(CRD_SD) for e in matching)


def _errors(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.severity == "error"]
