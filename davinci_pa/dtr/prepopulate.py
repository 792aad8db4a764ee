"""Server-side prepopulation: a QuestionnaireResponse filled in from the patient's record.

SDC 3.0 §Populate (expression-based population) as DTR 2.2 §Prepopulation profiles it:
``initialExpression`` (CQL or FHIRPath) gives an item its initial answers,
``enableWhenExpression`` and ``enableWhen`` hide items, ``calculatedExpression`` derives
answers from other answers. Every answer that came from data carries the
``information-origin`` extension with source ``auto-server``. Missing, failing or
ill-fitting results leave the item empty.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from davinci_pa.cql import BundleDataProvider, CqlEngine, DataProvider
from davinci_pa.dtr.answers import answers_by_link, enabled
from davinci_pa.dtr.coerce import to_answers
from davinci_pa.dtr.content import DtrContent
from davinci_pa.dtr.expressions import CQL_LANGUAGES, ExpressionScope, cql_reference
from davinci_pa.dtr.vocabulary import (
    CALCULATED,
    ENABLE_WHEN_EXPRESSION,
    INITIAL,
    ORIGIN,
    canonical_of,
    expression,
    walk_items,
)
from davinci_pa.store.clock import Clock, utc_now
from davinci_pa.types import Resource


@dataclass(frozen=True)
class PrepopulationContext:
    """Who and what the form is for.

    Attributes:
        patient_id: restricts the data to this patient's compartment.
        subject: ``QuestionnaireResponse.subject`` (defaults to ``Patient/<patient_id>``).
        launch: SDC launch context resources by name (``patient``, ``user``, ...).
        parameters: CQL parameters given to every library.
        now: evaluation time (defaults to the clock).
        origin: the information-origin source code (``auto-server``; 2.0.1 uses ``auto``).
    """

    patient_id: str | None = None
    subject: Mapping[str, Any] | None = None
    launch: Mapping[str, Resource] = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)
    now: datetime | None = None
    origin: str = "auto-server"


@dataclass(frozen=True)
class Prepopulated:
    """The response and the problems met (library failures, unknown libraries)."""

    response: Resource
    problems: tuple[str, ...]


class Prepopulator:
    """Fills forms from a data source with the CQL engine over the DTR content."""

    def __init__(self, content: DtrContent, *, clock: Clock = utc_now) -> None:
        self.content = content
        self.engine = CqlEngine(content.repository, terminology=content.terminology)
        self._clock = clock

    def populate(
        self, questionnaire: Resource, data_source: Any, context: PrepopulationContext | None = None
    ) -> Prepopulated:
        """Return the prepopulated response for ``questionnaire``."""
        context = context or PrepopulationContext()
        data = _provider(data_source, context.patient_id)
        now = context.now or self._clock()
        launch = dict(context.launch)
        if "patient" not in launch:
            patients = list(data.resources("Patient"))
            if len(patients) == 1:
                launch["patient"] = patients[0]
        scope = ExpressionScope(
            self.content, self.engine, data, now, launch=launch, parameters=context.parameters
        )
        scope.bind(questionnaire)
        scope.run_cql(_cql_references(questionnaire, scope.default_library()))
        response = _response(questionnaire, context, launch, now)
        response["item"] = _fill(questionnaire.get("item", []), scope, context.origin)
        _calculate(questionnaire, response, scope, context.origin)
        response["item"] = _prune(
            response["item"], questionnaire, answers_by_link(response["item"])
        )
        return Prepopulated(response, tuple(scope.problems))


def _provider(data_source: Any, patient_id: str | None) -> DataProvider:
    if hasattr(data_source, "resources") and callable(data_source.resources):
        provider: DataProvider = data_source
        return provider
    return BundleDataProvider(data_source, patient_id=patient_id)


def _cql_references(questionnaire: Resource, default: str | None) -> list[tuple[str, str]]:
    found = []
    for item, _ in walk_items(questionnaire.get("item")):
        for url in (INITIAL, ENABLE_WHEN_EXPRESSION, CALCULATED):
            expr = expression(item, url)
            if expr and expr.get("language") in CQL_LANGUAGES:
                ref = cql_reference(str(expr["expression"]), default)
                if ref:
                    found.append(ref)
    return found


def _response(
    questionnaire: Resource,
    context: PrepopulationContext,
    launch: Mapping[str, Resource],
    now: datetime,
) -> Resource:
    subject = context.subject
    patient = launch.get("patient")
    if subject is None and context.patient_id:
        subject = {"reference": f"Patient/{context.patient_id}"}
    elif subject is None and patient and patient.get("id"):
        subject = {"reference": f"Patient/{patient['id']}"}
    response: Resource = {
        "resourceType": "QuestionnaireResponse",
        "id": str(uuid.uuid4()),
        "questionnaire": canonical_of(questionnaire),
        "status": "in-progress",
    }
    if subject:
        response["subject"] = dict(subject)
    response["authored"] = now.isoformat(timespec="seconds")
    return response


def _origin(source: str) -> dict[str, Any]:
    return {"url": ORIGIN, "extension": [{"url": "source", "valueCode": source}]}


def _fill(items: list[dict[str, Any]], scope: ExpressionScope, origin: str) -> list[dict[str, Any]]:
    filled: list[dict[str, Any]] = []
    for item in items:
        if item.get("type") == "display" or not _expression_enabled(item, scope):
            continue
        entry: dict[str, Any] = {"linkId": item["linkId"]}
        if item.get("text"):
            entry["text"] = item["text"]
        if item.get("type") == "group":
            children = _fill(item.get("item", []), scope, origin)
            if children:
                entry["item"] = children
                filled.append(entry)
            continue
        answers = _initial(item, scope)
        if answers:
            entry["answer"] = [{**a, "extension": [_origin(origin)]} for a in answers]
        filled.append(entry)
    return filled


def _expression_enabled(item: Mapping[str, Any], scope: ExpressionScope) -> bool:
    expr = expression(item, ENABLE_WHEN_EXPRESSION)
    if expr is None or expr.get("language") not in CQL_LANGUAGES:
        return True
    known, value = scope.value(expr, None)
    return not known or value is True


def _initial(item: Mapping[str, Any], scope: ExpressionScope) -> list[dict[str, Any]]:
    expr = expression(item, INITIAL)
    if expr is None:
        return []
    known, value = scope.value(expr, None)
    return to_answers(item, value, functools.partial(_allowed, scope)) if known else []


def _calculate(
    questionnaire: Resource, response: Resource, scope: ExpressionScope, origin: str
) -> None:
    targets = {i["linkId"]: i for i, _ in walk_items(response.get("item"))}
    for item, _ in walk_items(questionnaire.get("item")):
        expr = expression(item, CALCULATED)
        entry = targets.get(item.get("linkId"))
        if expr is None or entry is None:
            continue
        known, value = scope.value(expr, response)
        answers = to_answers(item, value, functools.partial(_allowed, scope)) if known else []
        if answers:
            entry["answer"] = [{**a, "extension": [_origin(origin)]} for a in answers]
        else:
            entry.pop("answer", None)


def _prune(
    entries: list[dict[str, Any]], questionnaire: Resource, answers: Mapping[str, list[Any]]
) -> list[dict[str, Any]]:
    """Drop items disabled by enableWhen and groups left empty; keep answered items."""
    definitions = {i["linkId"]: i for i, _ in walk_items(questionnaire.get("item"))}
    kept = []
    for entry in entries:
        definition = definitions.get(entry["linkId"], {})
        if not enabled(definition, answers):
            continue
        if "item" in entry:
            entry["item"] = _prune(entry["item"], questionnaire, answers)
            if not entry["item"]:
                continue
        elif not entry.get("answer"):
            continue
        kept.append(entry)
    return kept


def _allowed(scope: ExpressionScope, item: Mapping[str, Any], coding: dict[str, Any]) -> bool:
    options = [o.get("valueCoding") for o in item.get("answerOption") or [] if isinstance(o, dict)]
    if options:
        return any(_same(o, coding) for o in options if isinstance(o, dict))
    value_set = item.get("answerValueSet")
    if isinstance(value_set, str):
        url, _, version = value_set.partition("|")
        codes = scope.content.terminology.expand(url, version or None) or []
        return any(c.code == coding.get("code") and c.system == coding.get("system") for c in codes)
    return True


def _same(option: Mapping[str, Any], coding: Mapping[str, Any]) -> bool:
    return option.get("code") == coding.get("code") and option.get("system") == coding.get("system")


@functools.lru_cache(maxsize=1)
def _default() -> Prepopulator:
    return Prepopulator(DtrContent.load())


def prepopulate(
    questionnaire: Resource,
    data_source: DataProvider | Resource | Iterable[Resource],
    context: PrepopulationContext | None = None,
) -> Resource:
    """Prepopulate ``questionnaire`` from ``data_source`` with the shipped DTR content.

    Args:
        questionnaire: an assembled Questionnaire (its cqf-library canonicals must be shipped).
        data_source: a CQL DataProvider, a Bundle, or a list of resources.
        context: patient, launch context and evaluation time.
    """
    return _default().populate(questionnaire, data_source, context).response
