"""Rule-pack test cases: a patient record and an order in, the expected CRD answer out.

A case is ``<topic>/tests/<name>.json``::

    {"description": "...", "payer": "medicare-demo", "hook": "order-sign",
     "now": "2026-03-01T12:00:00+00:00",
     "order": {...}, "records": [{...}, ...],        # or "request": a whole hook request
     "expect": {"topic": "cpap", "covered": "covered", "pa-needed": "no-auth",
                "doc-needed": [], "doc-purpose": [], "info-needed": [],
                "questionnaires": [], "cards": ["text a card must contain"]}}

The case runs through the real CRD responder (prefetch, EHR queries answered from
``records``, the topic's CQL, cards); only the keys present in ``expect`` are compared.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from davinci_pa.cdshooks.hooks import parse_hook_request
from davinci_pa.crd.gathering import DataGatherer
from davinci_pa.crd.responder import CrdResponder, hook_input
from davinci_pa.crd.services import ServiceCatalog
from davinci_pa.crd.versions import SUPPORTED, select_version
from davinci_pa.errors import DavinciError
from davinci_pa.fhir.client import SearchParams
from davinci_pa.rules.evaluation import RuleBook
from davinci_pa.rules.model import Payer, RulePack
from davinci_pa.types import Resource

EHR = "https://ehr.rules-test.invalid/fhir"
EXPECT_KEYS = (
    "topic",
    "covered",
    "pa-needed",
    "doc-needed",
    "doc-purpose",
    "info-needed",
    "questionnaires",
    "cards",
)
DEFAULT_PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "1950-05-01"}


class CaseError(ValueError):
    """A case file that cannot be run; the message names the file and what is wrong."""


@dataclass(frozen=True, slots=True)
class Case:
    """One parsed test case."""

    file: Path
    name: str
    body: Mapping[str, Any]
    records: tuple[Resource, ...]
    expect: Mapping[str, Any]
    now: datetime


@dataclass(frozen=True, slots=True)
class CaseResult:
    """The outcome of one case: differences between expected and observed (empty: passed)."""

    case: Case
    differences: tuple[str, ...]
    observed: Mapping[str, Any]

    @property
    def passed(self) -> bool:
        """True when every expected key matched."""
        return not self.differences


def case_files(pack: Path) -> Iterator[Path]:
    """Every ``<topic>/tests/*.json`` of a pack, in topic then file order."""
    for topic in sorted(p for p in pack.iterdir() if (p / "topic.json").is_file()):
        yield from sorted((topic / "tests").glob("*.json"))


def load_case(path: Path, pack: RulePack) -> Case:
    """Parse a case file.

    Raises:
        CaseError: naming the file and the problem (bad JSON, missing or unknown keys).
    """
    where = path.as_posix()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise CaseError(f"{where}: not valid JSON ({exc})") from exc
    if not isinstance(raw, dict):
        raise CaseError(f"{where}: expected a JSON object")
    expect = raw.get("expect")
    if not isinstance(expect, dict) or not expect:
        raise CaseError(f"{where}: 'expect' must be a non-empty object")
    unknown = sorted(set(expect) - set(EXPECT_KEYS))
    if unknown:
        raise CaseError(f"{where}: expect: unknown keys {unknown}; known: {list(EXPECT_KEYS)}")
    records = _records(raw, where)
    body = raw.get("request") or _request(raw, records, pack, where)
    if isinstance(raw.get("order"), dict) and str(body.get("hook", "")).startswith("encounter-"):
        records = (*records, raw["order"])
    if not isinstance(body, dict):
        raise CaseError(f"{where}: 'request' must be a hook request object")
    return Case(
        path, str(raw.get("description") or path.stem), body, records, expect, _now(raw, where)
    )


def _records(raw: Mapping[str, Any], where: str) -> tuple[Resource, ...]:
    records = raw.get("records", [])
    if isinstance(records, dict) and records.get("resourceType") == "Bundle":
        records = [e.get("resource") for e in records.get("entry") or []]
    if not isinstance(records, list) or not all(
        isinstance(r, dict) and isinstance(r.get("resourceType"), str) for r in records
    ):
        raise CaseError(f"{where}: 'records' must be a Bundle or a list of FHIR resources")
    return tuple(records)


def _now(raw: Mapping[str, Any], where: str) -> datetime:
    if raw.get("now") is None:
        return datetime.now(UTC)
    try:
        now = datetime.fromisoformat(str(raw["now"]))
    except ValueError as exc:
        raise CaseError(f"{where}: 'now' is not an ISO 8601 date/time") from exc
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def _request(
    raw: Mapping[str, Any], records: tuple[Resource, ...], pack: RulePack, where: str
) -> Resource:
    order = raw.get("order")
    if not isinstance(order, dict) or not isinstance(order.get("resourceType"), str):
        raise CaseError(f"{where}: needs 'order' (a FHIR resource) or a whole 'request'")
    payer = pack.payer(str(raw.get("payer")))
    if payer is None:
        known = [p.id for p in pack.payers]
        raise CaseError(f"{where}: 'payer' {raw.get('payer')!r} is not in payers.json {known}")
    patient = next((r for r in records if r["resourceType"] == "Patient"), DEFAULT_PATIENT)
    hook = str(raw.get("hook") or "order-sign")
    context: dict[str, Any] = {"userId": "Practitioner/rules-test", "patientId": patient["id"]}
    if hook.startswith("encounter-"):
        context["encounterId"] = order.get("id")
    else:
        key = "appointments" if hook == "appointment-book" else "draftOrders"
        entries = [{"resource": order}]
        context[key] = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    return {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": EHR,
        "fhirAuthorization": {
            "access_token": "rules-test",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "davinci-pa-rules-test",
        },
        "context": context,
        "prefetch": {"patient": patient, "coverage": _coverage(payer, patient)},
        "extension": {"davinci-crd.requestedVersion": "2.2"},
    }


def _coverage(payer: Payer, patient: Resource) -> Resource:
    payor: dict[str, Any] = {"display": payer.name}
    if payer.identifiers:
        system, value = sorted(payer.identifiers)[0]
        payor["identifier"] = {"system": system, "value": value}
    return {
        "resourceType": "Coverage",
        "id": "coverage-1",
        "status": "active",
        "beneficiary": {"reference": f"Patient/{patient['id']}"},
        "payor": [payor],
    }


class CaseEhr:
    """The EHR's FHIR server as a case describes it: searches return the case's records."""

    def __init__(self, records: tuple[Resource, ...]) -> None:
        self._records = records

    def read(self, resource_type: str, resource_id: str) -> Resource:
        """Return the record of that type and id (an empty Bundle-less dict when absent)."""
        return next(
            (
                r
                for r in self._records
                if (r["resourceType"], r.get("id")) == (resource_type, resource_id)
            ),
            {},
        )

    def search(self, resource_type: str, params: SearchParams) -> Resource:
        """Every record of the type (a case holds one patient's record)."""
        hits = [r for r in self._records if r["resourceType"] == resource_type]
        return {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": r} for r in hits],
        }

    def get(self, url: str) -> Resource:
        """Type-level URLs are answered like searches."""
        return self.search(url.split("?", 1)[0].rsplit("/", 1)[-1], {})


def run_case(case: Case, rules: RuleBook) -> CaseResult:
    """Answer the case's hook request with the pack's rules and compare with ``expect``."""
    ehr = CaseEhr(case.records)
    gatherer = DataGatherer(allowed_fhir_servers=(EHR,), client_factory=lambda _u, _t: ehr)
    responder = CrdResponder(rules, clock=lambda: case.now, new_id=lambda: str(uuid.uuid4()))
    try:
        service = ServiceCatalog.default().get(f"{case.body.get('hook')}-crd")
        request = parse_hook_request(case.body, service_hook=service.hook)
        gathered = gatherer.gather(service, request)
        version = select_version(request.requested_version, SUPPORTED["2.2"])
        answer = responder.answer(hook_input(service, request, gathered, version))
    except DavinciError as error:
        return CaseResult(case, (f"the hook request failed: {error.message}",), {})
    observed = _observed(answer.assessments, answer.body.get("cards") or [])
    return CaseResult(case, tuple(_differences(case.expect, observed)), observed)


def _observed(assessments: Any, cards: list[Any]) -> dict[str, Any]:
    texts = [f"{c.get('summary', '')}\n{c.get('detail', '')}" for c in cards if isinstance(c, dict)]
    if not assessments:
        return {"cards": texts}
    first = assessments[0]
    d = first.decision
    return {
        "topic": first.outcome.topic.id if first.outcome.topic else None,
        "covered": d.covered,
        "pa-needed": d.pa_needed,
        "doc-needed": list(d.doc_needed),
        "doc-purpose": list(d.doc_purpose),
        "info-needed": list(d.info_needed),
        "questionnaires": list(d.questionnaires),
        "reasons": [r.text for r in d.reasons],
        "cards": texts,
    }


def _differences(expect: Mapping[str, Any], observed: Mapping[str, Any]) -> Iterator[str]:
    for key, wanted in expect.items():
        got = observed.get(key)
        if key == "cards":
            for text in wanted if isinstance(wanted, list) else [wanted]:
                if not any(str(text) in card for card in got or []):
                    yield f"cards: no card contains {text!r}"
        elif wanted != got:
            yield f"{key}: expected {json.dumps(wanted)}, got {json.dumps(got)}"
