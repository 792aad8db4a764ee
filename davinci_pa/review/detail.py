"""What a reviewer sees of one request: who, what, why it pended, the evidence, the history.

Read from the stored PAS request Bundle (the latest version), the items' current decisions,
the CRD coverage assertions the orders carry (CRD ``resp-31``: the rule and its trace), the
DTR QuestionnaireResponses and attachments in the Bundle, and the request's history.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from davinci_pa.fhir.codes import Code
from davinci_pa.fhir.json import obj, objects
from davinci_pa.pas.builder_items import assertion_ids
from davinci_pa.pas.decisions import item_codes
from davinci_pa.pas.request import PasRequest
from davinci_pa.store.crd_records import AssertionRecord, CrdRecords
from davinci_pa.store.pas_history import HistoryEvent
from davinci_pa.store.pas_records import Authorization, ItemState, ReviewEntry
from davinci_pa.store.review_records import AppealRow
from davinci_pa.types import Resource


@dataclass(frozen=True, slots=True)
class ItemView:
    """One item: its code, what was asked, and its current decision."""

    sequence: int
    codes: tuple[tuple[str, str, str], ...]
    """(system, code, display) of ``productOrService``."""
    quantity: str | None
    action: str
    reason: str | None
    reviewer: str | None
    topic: str | None


@dataclass(frozen=True, slots=True)
class Answer:
    """One answered question of a DTR QuestionnaireResponse."""

    question: str
    answer: str


@dataclass(frozen=True, slots=True)
class RequestView:
    """Everything the request page shows."""

    authorization: Authorization
    review: ReviewEntry | None
    patient: str
    birth_date: str | None
    member_id: str | None
    provider: str
    items: tuple[ItemView, ...]
    assertions: tuple[AssertionRecord, ...]
    answers: tuple[tuple[str, tuple[Answer, ...]], ...]
    """(questionnaire, answers) per QuestionnaireResponse in the Bundle."""
    attachments: tuple[str, ...]
    history: tuple[HistoryEvent, ...]
    appeals: tuple[AppealRow, ...]


def request_view(
    auth: Authorization,
    bundle: Resource,
    items: Sequence[ItemState],
    *,
    review: ReviewEntry | None,
    assertions: CrdRecords,
    history: Sequence[HistoryEvent],
    appeals: Sequence[AppealRow],
) -> RequestView:
    """Assemble the request page's content."""
    request = PasRequest.parse(bundle)
    resources = [obj(e.get("resource")) for e in objects(bundle.get("entry"))]
    patient = request.resolve(request.claim.get("patient")) or {}
    provider = request.resolve(request.claim.get("provider")) or {}
    found = [assertions.assertion(i) for i in assertion_ids(resources)]
    return RequestView(
        authorization=auth,
        review=review,
        patient=_name(patient),
        birth_date=patient.get("birthDate") if isinstance(patient.get("birthDate"), str) else None,
        member_id=auth.member_id,
        provider=_provider(provider),
        items=tuple(_item(i, request) for i in items),
        assertions=tuple(a for a in found if a is not None),
        answers=tuple(
            (str(r.get("questionnaire", "")), tuple(_answers(r.get("item"))))
            for r in resources
            if r.get("resourceType") == "QuestionnaireResponse"
        ),
        attachments=tuple(_attachments(resources)),
        history=tuple(history),
        appeals=tuple(appeals),
    )


def _item(state: ItemState, request: PasRequest) -> ItemView:
    found: dict[tuple[str, str], Code] = {}
    for code in item_codes(request, state.item):
        found.setdefault(code.key, code)
    codes = tuple((c.system, c.code, c.display or "") for c in found.values())
    quantity = obj(state.item.get("quantity"))
    amount = f"{quantity.get('value')} {quantity.get('unit', '')}".strip() if quantity else None
    decision = state.decision
    return ItemView(
        state.sequence,
        codes,
        amount,
        state.action,
        decision.get("reason"),
        decision.get("reviewer"),
        decision.get("topic"),
    )


def _name(patient: Resource) -> str:
    for name in objects(patient.get("name")):
        if isinstance(name.get("text"), str):
            return str(name["text"])
        given = " ".join(str(g) for g in name.get("given") or [] if isinstance(g, str))
        family = name.get("family") if isinstance(name.get("family"), str) else ""
        if given or family:
            return f"{given} {family}".strip()
    return "(no name)"


def _provider(resource: Resource) -> str:
    name = resource.get("name")
    label = name if isinstance(name, str) else _name(resource)
    npis = [
        str(i.get("value"))
        for i in objects(resource.get("identifier"))
        if str(i.get("system", "")).endswith("us-npi")
    ]
    return f"{label} (NPI {npis[0]})" if npis else label


def _answers(items: Any, prefix: str = "") -> Iterator[Answer]:
    for item in objects(items):
        text = str(item.get("text") or item.get("linkId") or "")
        values = [_value(a) for a in objects(item.get("answer"))]
        if values:
            yield Answer(prefix + text, ", ".join(values))
        yield from _answers(item.get("item"), prefix)
        for answer in objects(item.get("answer")):
            yield from _answers(answer.get("item"), prefix)


def _value(answer: Resource) -> str:
    for key, value in answer.items():
        if not key.startswith("value"):
            continue
        if isinstance(value, dict):
            coding = value if "code" in value else obj((value.get("coding") or [{}])[0])
            shown = value.get("display") or coding.get("display") or coding.get("code")
            if "value" in value:
                shown = f"{value.get('value')} {value.get('unit', '')}".strip()
            return str(shown)
        return str(value)
    return ""


def _attachments(resources: Sequence[Resource]) -> Iterator[str]:
    for resource in resources:
        if resource.get("resourceType") != "DocumentReference":
            continue
        for content in objects(resource.get("content")):
            attachment = obj(content.get("attachment"))
            title = attachment.get("title") or resource.get("description") or "document"
            kind = attachment.get("contentType") or "unknown type"
            yield f"{title} ({kind})"
