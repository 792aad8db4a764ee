"""CRD cards and the Coverage Information system action (CRD §CDS Hooks Response Types).

- Coverage Information: one ``update`` system action per assessed order, never a card
  (``resp-25``); skipped when the order already carries the same answer (``resp-35``) and
  changing nothing but coverage-information extensions (``resp-37``).
- Instructions (topic ``coverage-info``): what the payer needs, in words.
- External Reference (topic ``guideline``): the public policies the rule cites, absolute
  links only, never a portal (``resp-17``).
- Propose Alternate Request (topic ``therapy-alternatives-opt``): an ``update`` suggestion.
- Request Form Completion (topic ``coverage-info``), only for a client that says it cannot
  launch DTR (option ``dtr`` false; otherwise forms go through DTR, ``resp-59``): a
  ``create`` suggestion of a Task to complete each form the decision asks for
  (``profile-taskquestionnaire``, ``resp-62``).
- Identify Additional Orders (topic ``clinical-reminder``, order-select and order-sign
  only): the companion or prerequisite orders the topic lists, each a ``create``
  suggestion of a draft order meeting its CRD profile (``resp-57``), any of which may be
  chosen (``selectionBehavior: any``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from davinci_pa.cdshooks import cards as cds
from davinci_pa.crd.assessment import Assessment
from davinci_pa.crd.coverage_info import COVERAGE_INFO_URL, Assertion, coverage_information
from davinci_pa.crd.versions import CrdVersion
from davinci_pa.fhir.json import objects
from davinci_pa.rules.model import Alternative, Companion, Decision, Topic
from davinci_pa.types import JsonObject, Resource

SUMMARY_LIMIT = cds.MAX_SUMMARY - 1
CRD_PROFILE = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/profile-"
"""CRD order profiles (``profile-devicerequest`` and so on; the same URL in 2.0 and 2.2)."""
_CODE_FIELDS = {
    "DeviceRequest": "codeCodeableConcept",
    "ServiceRequest": "code",
    "MedicationRequest": "medicationCodeableConcept",
}


@dataclass(frozen=True, slots=True)
class CardContext:
    """What every card of one response shares."""

    version: CrdVersion
    payer_name: str
    on: date
    new_id: Callable[[], str]
    additional_orders: bool = False
    """Whether the hook may propose additional orders (order-select and order-sign)."""
    dtr: bool = True
    """Whether the client launches DTR for the payer's forms (else: form-completion cards)."""


def coverage_action(assessment: Assessment, ctx: CardContext) -> JsonObject | None:
    """Return the Coverage Information ``update`` for one order, or None if nothing is new."""
    coverage = _coverage_reference(assessment)
    assertion = Assertion(
        decision=assessment.decision,
        coverage=coverage,
        assertion_id=assessment.assertion_id,
        on=ctx.on,
        contact=assessment.match.payer.contact if assessment.match.payer else None,
    )
    extension = coverage_information(assertion, ctx.version)
    target = assessment.target
    kept = [e for e in objects(target.get("extension")) if not _same_coverage(e, coverage)]
    if any(_same_answer(e, extension) for e in objects(target.get("extension"))):
        return None
    updated = {**target, "extension": [*kept, extension]}
    return cds.action("update", f"Coverage information for {_label(assessment)}", resource=updated)


def cards_for(
    assessment: Assessment, ctx: CardContext, enabled: Mapping[str, bool]
) -> list[JsonObject]:
    """Return the cards one order warrants, in priority order, honouring the options."""
    cards: list[JsonObject] = []
    topic = assessment.outcome.topic
    if enabled.get("coverage-info", True) and _needs_instructions(assessment.decision):
        cards.append(_instructions(assessment, topic, ctx))
    if enabled.get("coverage-info", True) and not ctx.dtr and assessment.decision.questionnaires:
        cards.append(_form_completion(assessment, ctx))
    if topic and enabled.get("therapy-alternatives-opt", True):
        cards.extend(_alternatives(assessment, topic, ctx))
    if topic and ctx.additional_orders and enabled.get("clinical-reminder", True):
        cards.extend(_additional_orders(assessment, topic, ctx))
    if topic and topic.policies and enabled.get("guideline", True):
        cards.append(_policy_links(assessment, topic, ctx))
    return cards


def _coverage_reference(assessment: Assessment) -> dict[str, str]:
    if assessment.match.reference:
        return {"reference": assessment.match.reference}
    return {"display": "No coverage on file with this payer"}


def _same_coverage(extension: JsonObject, coverage: Mapping[str, str]) -> bool:
    if extension.get("url") != COVERAGE_INFO_URL:
        return False
    parts = {e.get("url"): e for e in objects(extension.get("extension"))}
    return parts.get("coverage", {}).get("valueReference") == dict(coverage)


def _same_answer(existing: JsonObject, new: JsonObject) -> bool:
    volatile = {"date", "coverage-assertion-id", "satisfied-pa-id"}

    def stable(ext: JsonObject) -> list[Any]:
        return [e for e in objects(ext.get("extension")) if e.get("url") not in volatile]

    return existing.get("url") == COVERAGE_INFO_URL and stable(existing) == stable(new)


def _needs_instructions(d: Decision) -> bool:
    return d.covered != "covered" or d.pa_needed not in (None, "no-auth") or bool(d.doc_needed)


def _instructions(a: Assessment, topic: Topic | None, ctx: CardContext) -> JsonObject:
    d = a.decision
    indicator: cds.Indicator = "warning" if d.covered == "not-covered" else "info"
    return _card(
        a,
        ctx,
        summary=f"{_headline(d)}: {_label(a)}",
        detail="\n\n".join(_instruction_lines(d, topic)),
        topic_code=("coverage-info", "Coverage Information"),
        indicator=indicator,
    )


def _headline(d: Decision) -> str:
    if d.covered == "not-covered":
        return "Not covered"
    if d.pa_needed == "auth-needed":
        return "Prior authorization required"
    if d.pa_needed == "satisfied":
        return f"Prior authorization approved ({d.satisfied_pa_id})"
    if "conditional" in {d.covered, d.pa_needed}:
        return "Coverage depends on more information"
    if d.covered == "indeterminate":
        return "Coverage could not be determined"
    return "Documentation required"


def _instruction_lines(d: Decision, topic: Topic | None) -> Iterator[str]:
    if topic and topic.instructions:
        yield topic.instructions
    yield from (reason.text for reason in d.reasons)
    if d.doc_needed:
        yield f"Documentation needed: {', '.join(d.doc_needed)}."
    if d.info_needed:
        yield f"Information needed to decide: {', '.join(d.info_needed)}."
    if d.questionnaires:
        yield "Complete the payer's documentation form in your DTR application."


def _alternatives(a: Assessment, topic: Topic, ctx: CardContext) -> Iterator[JsonObject]:
    field = _CODE_FIELDS.get(a.target.get("resourceType", ""))
    for alt in topic.alternatives:
        if field is None or all(c.key != alt.replaces.key for c in a.codes):
            continue
        suggestion = cds.suggestion(
            _clip(f"Order {alt.code.display or alt.code.code} instead"),
            [_replace_code(a.target, field, alt)],
            uuid=ctx.new_id(),
        )
        yield _card(
            a,
            ctx,
            summary=f"Consider {alt.code.display or alt.code.code}",
            detail=alt.reason,
            topic_code=("therapy-alternatives-opt", "Optional Therapy Alternatives"),
            suggestions=[suggestion],
        )


def _replace_code(order: Resource, field: str, alt: Alternative) -> JsonObject:
    updated = copy.deepcopy(order)
    updated[field] = {"coding": [alt.code.to_coding()]}
    return cds.action("update", f"Change the order to {alt.code.code}", resource=updated)


SDC_TEMP = "http://hl7.org/fhir/uv/sdc/CodeSystem/temp"
CRD_TEMP = "http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp"
TASK_CODE = {"system": SDC_TEMP, "code": "complete-questionnaire"}
"""The Task code of a form to complete (CRD ``profile-taskquestionnaire``)."""


def _form_completion(a: Assessment, ctx: CardContext) -> JsonObject:
    suggestions = [
        cds.suggestion(
            _clip(f"Add 'complete form {_form_name(canonical)}' to the task list"),
            [
                cds.action(
                    "create",
                    f"Task to complete the payer's form {canonical}",
                    resource=_form_task(a, canonical, ctx),
                )
            ],
            uuid=ctx.new_id(),
        )
        for canonical in a.decision.questionnaires
    ]
    return _card(
        a,
        ctx,
        summary=f"Complete the payer's form for {_label(a)}",
        detail=(
            "The plan needs documentation on its form. Your system does not launch DTR, so "
            "the form is offered as a task; the payer's DTR service serves it by its URL."
        ),
        topic_code=("coverage-info", "Coverage Information"),
        suggestions=suggestions,
        selection="any",
    )


def _form_task(a: Assessment, canonical: str, ctx: CardContext) -> Resource:
    """A Task to complete one Questionnaire for the order's patient (taskquestionnaire).

    The payer (the Coverage's payor) requests it and says what to do with the response.
    """
    order = a.target
    task: Resource = {
        "resourceType": "Task",
        "id": ctx.new_id(),
        "meta": {"profile": [CRD_PROFILE + "taskquestionnaire"]},
        "basedOn": [{"reference": _ref(order)}],
        "status": "ready",
        "intent": "order",
        "code": {"coding": [dict(TASK_CODE)]},
        "description": f"Complete the payer's form {_form_name(canonical)}",
    }
    patient = order.get("subject") or order.get("patient")
    if isinstance(patient, dict):
        task["for"] = copy.deepcopy(patient)
    task["authoredOn"] = ctx.on.isoformat()
    payor = _payor(a)
    if payor is not None:
        task["requester"] = payor
    task["input"] = [
        {
            "type": {
                "coding": [{"system": SDC_TEMP, "code": "questionnaire"}],
                "text": "questionnaire",
            },
            "valueCanonical": canonical,
        },
        {
            "type": {"coding": [{"system": CRD_TEMP, "code": "after-completion-action"}]},
            "valueCodeableConcept": {"coding": [{"system": CRD_TEMP, "code": _after(a.decision)}]},
        },
    ]
    return task


def _payor(a: Assessment) -> dict[str, str] | None:
    """The reference to the payer Organization the member's Coverage names."""
    for payor in objects((a.match.coverage or {}).get("payor")):
        reference = payor.get("reference")
        if isinstance(reference, str) and "Organization/" in reference:
            return {"reference": reference}
    return None


_AFTER_COMPLETION = {"withpa": "prior-auth-include", "withclaim": "initial-claim-include"}
"""What to do with the response (afterCompletionCode) for each documentation purpose; other
purposes (send with the order, keep on file) are stated with their own CRD code."""


def _after(decision: Decision) -> str:
    purpose = decision.doc_purpose[0] if decision.doc_purpose else "withorder"
    return _AFTER_COMPLETION.get(purpose, purpose)


def _form_name(canonical: str) -> str:
    return canonical.partition("|")[0].rstrip("/").rsplit("/", 1)[-1]


def _additional_orders(a: Assessment, topic: Topic, ctx: CardContext) -> Iterator[JsonObject]:
    companions = [
        c for c in topic.companions if c.when is None or any(k.key == c.when.key for k in a.codes)
    ]
    if not companions:
        return
    suggestions = [
        cds.suggestion(
            _clip(f"Add an order for {c.code.display or c.code.code}"),
            [
                cds.action(
                    "create",
                    f"Draft order for {c.code.display or c.code.code}: {c.reason}",
                    resource=_companion_order(c, a.target, ctx),
                )
            ],
            uuid=ctx.new_id(),
        )
        for c in companions
    ]
    yield _card(
        a,
        ctx,
        summary=f"Orders to go with {_label(a)}",
        detail=" ".join(dict.fromkeys(c.reason for c in companions)),
        topic_code=("clinical-reminder", "Clinical Reminder"),
        suggestions=suggestions,
        selection="any",
    )


def _companion_order(companion: Companion, order: Resource, ctx: CardContext) -> Resource:
    """A draft order for the companion, for the same patient, encounter and requester."""
    rtype = companion.resource_type
    created: Resource = {
        "resourceType": rtype,
        "id": ctx.new_id(),
        "meta": {"profile": [CRD_PROFILE + rtype.lower()]},
        "status": "draft",
        "intent": "original-order",
        _CODE_FIELDS[rtype]: {"coding": [companion.code.to_coding()]},
    }
    for key in ("subject", "encounter", "requester"):
        if isinstance(order.get(key), dict):
            created[key] = copy.deepcopy(order[key])
    created["authoredOn"] = ctx.on.isoformat()
    return created


def _policy_links(a: Assessment, topic: Topic, ctx: CardContext) -> JsonObject:
    links = [cds.link(p.title, p.url) for p in topic.policies]
    return _card(
        a,
        ctx,
        summary=f"Coverage policy: {topic.title}",
        detail=topic.summary,
        topic_code=("guideline", "Guideline"),
        links=links,
    )


def _card(
    a: Assessment,
    ctx: CardContext,
    *,
    summary: str,
    detail: str,
    topic_code: tuple[str, str],
    indicator: cds.Indicator = "info",
    suggestions: Sequence[JsonObject] = (),
    links: Sequence[JsonObject] = (),
    selection: cds.SelectionBehavior = "at-most-one",
) -> JsonObject:
    topic = cds.coding(ctx.version.card_type_system, *topic_code)
    return cds.card(
        _clip(summary),
        indicator,
        cds.source(ctx.payer_name, topic=topic),
        uuid=ctx.new_id(),
        detail=detail,
        suggestions=suggestions,
        links=links,
        selection_behavior=selection if suggestions else None,
        extension={"davinci-crd.associated-resource": [{"reference": _ref(a.target)}]},
    )


def _label(a: Assessment) -> str:
    if a.codes:
        code = a.codes[0]
        return f"{code.display} ({code.code})" if code.display else code.code
    return _ref(a.target)


def _ref(resource: Resource) -> str:
    return f"{resource.get('resourceType')}/{resource.get('id')}"


def _clip(text: str) -> str:
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 1].rstrip() + "…"
