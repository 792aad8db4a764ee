"""Build the CRD ``ext-coverage-information`` extension (CRD 2.2 §Coverage Information).

Sub-extensions are emitted in profile order; the decision has been checked against the
``crd-ci-q*`` invariants before it reaches this module.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from davinci_pa.crd.versions import CrdVersion
from davinci_pa.rules.model import Decision, Reason
from davinci_pa.rules.vocabulary import REASONS

COVERAGE_INFO_URL = (
    "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
)


@dataclass(frozen=True, slots=True)
class Assertion:
    """Everything one coverage-information extension states."""

    decision: Decision
    coverage: Mapping[str, Any]
    assertion_id: str
    on: date
    contact: Mapping[str, Any] | None = None
    expiry: date | None = None


def coverage_information(assertion: Assertion, version: CrdVersion) -> dict[str, Any]:
    """Render one ``ext-coverage-information`` extension in the given version's shape."""
    return {"url": COVERAGE_INFO_URL, "extension": list(_parts(assertion, version))}


def _parts(a: Assertion, version: CrdVersion) -> Iterator[dict[str, Any]]:
    d = a.decision
    yield {"url": "coverage", "valueReference": dict(a.coverage)}
    yield _code("covered", d.covered)
    if d.pa_needed:
        yield _code("pa-needed", d.pa_needed)
    yield from (_code("doc-needed", c) for c in d.doc_needed)
    yield from (_code("doc-purpose", c) for c in d.doc_purpose)
    yield from (_code("info-needed", c) for c in d.info_needed)
    yield from ({"url": "reason", "valueCodeableConcept": _reason(r, version)} for r in d.reasons)
    yield from ({"url": "detail", "extension": _detail(x, version)} for x in d.details)
    yield from ({"url": "questionnaire", "valueCanonical": q} for q in d.questionnaires)
    yield {"url": "date", "valueDate": a.on.isoformat()}
    yield {"url": "coverage-assertion-id", "valueString": a.assertion_id}
    if d.satisfied_pa_id:
        yield {"url": "satisfied-pa-id", "valueString": d.satisfied_pa_id}
    if a.contact:
        yield {"url": "contact", **_contact(a.contact, version)}
    if a.expiry and version.has_expiry_date:
        yield {"url": "expiry-date", "valueDate": a.expiry.isoformat()}


def _code(url: str, code: str) -> dict[str, Any]:
    return {"url": url, "valueCode": code}


def _reason(reason: Reason, version: CrdVersion) -> dict[str, Any]:
    concept: dict[str, Any] = {"text": reason.text}
    if reason.code in REASONS:
        concept["coding"] = [{"system": version.reason_system, "code": reason.code}]
    return concept


def _detail(detail: Mapping[str, Any], version: CrdVersion) -> list[dict[str, Any]]:
    system = version.reason_system
    parts: list[dict[str, Any]] = [
        {"url": "category", "valueCodeableConcept": _concept(system, detail["category"])},
        {"url": "code", "valueCodeableConcept": _concept(system, detail["code"])},
    ]
    value = detail.get("value")
    if isinstance(value, dict):
        parts.append({"url": "value", **value})
    if detail.get("qualification"):
        parts.append({"url": "qualification", "valueString": detail["qualification"]})
    return parts


def _concept(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _contact(contact: Mapping[str, Any], version: CrdVersion) -> dict[str, Any]:
    if version.contact_is_contact_detail:
        return {"valueContactDetail": dict(contact)}
    telecom = contact.get("telecom") or [{}]
    return {"valueContactPoint": dict(telecom[0])}
