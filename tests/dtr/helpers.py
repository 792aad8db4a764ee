"""Shared builders for the DTR tests: one service over the shipped content and rule pack."""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from davinci_pa.dtr.answers import answers_by_link
from davinci_pa.dtr.service import DtrService, shipped_content
from davinci_pa.fhir.validation import Validator
from davinci_pa.rules.loader import load_rule_pack
from tests._shared import REPO, shared_path

DTR_SD = "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/"
ORIGIN = DTR_SD + "information-origin"


@lru_cache(maxsize=1)
def service() -> DtrService:
    """A records-less DTR service over the shipped forms and rule pack."""
    return DtrService(shipped_content(), rules=load_rule_pack(REPO / "cql_rules"))


@lru_cache(maxsize=1)
def validator() -> Validator:
    """DTR 2.0.1 (with CRD 2.0.1) profiles from ../shared/igs."""
    return Validator.from_packages(
        [shared_path("igs", "davinci_dtr_2.0.1.tgz"), shared_path("igs", "davinci-crd-2.0.1.tgz")]
    )


def profile_errors(resource: dict[str, Any], profile: str) -> list[str]:
    """Errors against a DTR profile."""
    issues = validator().validate(resource, profile)
    return [str(i) for i in issues if i.severity == "error"]


def coverage(patient: str = "p1") -> dict[str, Any]:
    return {
        "resourceType": "Coverage",
        "id": "cov1",
        "status": "active",
        "subscriberId": "M-0001",
        "beneficiary": {"reference": f"Patient/{patient}"},
        "payor": [{"display": "Acme Health Plan"}],
    }


def device_order(code: str, oid: str = "o1", patient: str = "p1") -> dict[str, Any]:
    return {
        "resourceType": "DeviceRequest",
        "id": oid,
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{patient}"},
        "codeCodeableConcept": {
            "coding": [
                {"system": "https://bluebutton.cms.gov/resources/codesystem/hcpcs", "code": code}
            ]
        },
    }


def service_order(code: str, oid: str = "s1", patient: str = "p1") -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "id": oid,
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{patient}"},
        "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": code}]},
    }


def package_request(*orders: dict[str, Any], **extra: Any) -> dict[str, Any]:
    params: list[dict[str, Any]] = [{"name": "coverage", "resource": coverage()}]
    params += [{"name": "order", "resource": copy.deepcopy(o)} for o in orders]
    params += [{"name": k, **v} for k, v in extra.items()]
    return {"resourceType": "Parameters", "parameter": params}


def bundles(output: dict[str, Any]) -> list[dict[str, Any]]:
    return [p["resource"] for p in output["parameter"] if p["resource"]["resourceType"] == "Bundle"]


def answer(value: dict[str, Any], source: str = "manual") -> dict[str, Any]:
    origin: dict[str, Any] = {"url": ORIGIN, "extension": [{"url": "source", "valueCode": source}]}
    if source in ("manual", "override"):
        origin["extension"].append(
            {
                "url": "author",
                "extension": [
                    {"url": "practitioner", "valueReference": {"reference": "Practitioner/dr1"}}
                ],
            }
        )
    return {**value, "extension": [origin]}


TYPED: dict[str, dict[str, Any]] = {
    "boolean": {"valueBoolean": True},
    "string": {"valueString": "Jane Clinician"},
    "text": {"valueString": "seen in clinic"},
    "date": {"valueDate": "2026-01-02"},
    "decimal": {"valueDecimal": 80.5},
    "integer": {"valueInteger": 3},
}


def complete(draft: dict[str, Any], form: dict[str, Any]) -> dict[str, Any]:
    """The draft with every required question it leaves empty answered by hand, completed."""
    response = copy.deepcopy(draft)
    response["item"] = _filled(form["item"], answers_by_link(draft.get("item")))
    response["status"] = "completed"
    return response


def _filled(items: list[dict[str, Any]], given: dict[str, list[Any]]) -> list[dict[str, Any]]:
    filled = []
    for item in items:
        entry: dict[str, Any] = {"linkId": item["linkId"]}
        if item["type"] == "group":
            entry["item"] = _filled(item.get("item", []), given)
        elif item["linkId"] in given:
            entry["answer"] = given[item["linkId"]]
        elif item.get("required"):
            options = item.get("answerOption") or []
            value = {"valueCoding": options[0]["valueCoding"]} if options else TYPED[item["type"]]
            entry["answer"] = [answer(value)]
        if entry.get("item") or entry.get("answer"):
            filled.append(entry)
    return filled
