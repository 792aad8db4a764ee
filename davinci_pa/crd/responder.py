"""Answer a CRD hook call: assess every order, then build system actions and cards.

CRD §Coverage Information: primary hooks always get a ``systemActions`` array (``hook-16``);
each order gets at most one coverage-information update (``resp-29``, ``resp-35``); cards
follow the client's configuration (``dev-14``) and ``max-cards``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from davinci_pa.cdshooks.discovery import ServiceDefinition, parse_configuration
from davinci_pa.cdshooks.hooks import HookRequest
from davinci_pa.crd.assessment import Assessment, Assessor, HookData
from davinci_pa.crd.cards import CardContext, cards_for, coverage_action
from davinci_pa.crd.ehr_data import EhrPatientData
from davinci_pa.crd.gathering import Gathered
from davinci_pa.crd.orders import Resolver
from davinci_pa.crd.services import ADDITIONAL_ORDER_HOOKS, PRIMARY_HOOKS
from davinci_pa.crd.versions import CrdVersion
from davinci_pa.fhir.client import FhirClient
from davinci_pa.fhir.json import obj
from davinci_pa.rules.evaluation import RuleBook
from davinci_pa.types import JsonObject, Resource

DEFAULT_PAYER_LABEL = "Health plan"


@dataclass(frozen=True, slots=True)
class HookInput:
    """A validated hook call with the data gathered for it."""

    service: ServiceDefinition
    context: Mapping[str, Any]
    data: Mapping[str, Any]
    resolve: Resolver
    records: Sequence[Resource]
    problems: Sequence[str]
    ehr: FhirClient | None
    version: CrdVersion
    configuration: Mapping[str, bool | int]


def hook_input(
    service: ServiceDefinition, request: HookRequest, gathered: Gathered, version: CrdVersion
) -> HookInput:
    """The responder's input for a parsed request and the data gathered for it."""
    return HookInput(
        service=service,
        context=request.context,
        data=gathered.data,
        resolve=gathered.resolve,
        records=gathered.records,
        problems=tuple(gathered.problems),
        ehr=gathered.ehr,
        version=version,
        configuration=parse_configuration(request.extension, service),
    )


@dataclass(frozen=True, slots=True)
class CrdAnswer:
    """The CDS Hooks response body and the assessments behind it."""

    body: JsonObject
    assessments: tuple[Assessment, ...]


class CrdResponder:
    """Turns hook input into a CDS Hooks response."""

    def __init__(
        self, rules: RuleBook, *, clock: Callable[[], datetime], new_id: Callable[[], str]
    ) -> None:
        self._assessor = Assessor(rules, new_id=new_id)
        self._clock = clock
        self._new_id = new_id

    def answer(self, hook_input: HookInput) -> CrdAnswer:
        """Assess the call's orders and build the response."""
        now = self._clock()
        assessments = self._assessor.assess(_hook_data(hook_input, now))
        config = hook_input.configuration
        label = next(
            (a.match.payer.name for a in assessments if a.match.payer), DEFAULT_PAYER_LABEL
        )
        ctx = CardContext(
            hook_input.version,
            label,
            now.date(),
            self._new_id,
            additional_orders=hook_input.service.hook in ADDITIONAL_ORDER_HOOKS,
            dtr=config.get("dtr", True) is not False,
        )
        body: JsonObject = {"cards": _cards(assessments, ctx, config)}
        if config.get("coverage-info", True):
            actions = [a for x in assessments if (a := coverage_action(x, ctx)) is not None]
            if actions or hook_input.service.hook in PRIMARY_HOOKS:
                body["systemActions"] = actions
        return CrdAnswer(body, tuple(assessments))


def _cards(
    assessments: Sequence[Assessment], ctx: CardContext, config: Mapping[str, bool | int]
) -> list[JsonObject]:
    enabled = {k: bool(v) for k, v in config.items() if isinstance(v, bool)}
    cards = [card for a in assessments for card in cards_for(a, ctx, enabled)]
    ranked = sorted(cards, key=_priority)
    limit = config.get("max-cards", 10)
    return ranked[: max(int(limit), 0)] if not isinstance(limit, bool) else ranked


def _priority(card: JsonObject) -> int:
    order = ("coverage-info", "therapy-alternatives-opt", "clinical-reminder", "guideline")
    code = obj(obj(card.get("source")).get("topic")).get("code")
    rank = order.index(code) if code in order else len(order)
    return rank - (10 if card.get("indicator") == "warning" else 0)


def _hook_data(hook_input: HookInput, now: datetime) -> HookData:
    data, resolve = hook_input.data, hook_input.resolve
    patient_id = hook_input.context.get("patientId")
    patient = data.get("patient") if isinstance(data.get("patient"), dict) else None
    if patient is None and isinstance(patient_id, str):
        patient = resolve(f"Patient/{patient_id}")
    coverages = [r for r in hook_input.records if r.get("resourceType") == "Coverage"]
    coverage_unknown = "coverage" not in data and not coverages
    return HookData(
        hook=hook_input.service.hook,
        context=hook_input.context,
        patient=patient,
        member_found=patient is not None or bool(coverages),
        coverages=coverages,
        resolve=resolve,
        patient_data=EhrPatientData(
            hook_input.records,
            patient_id=patient_id if isinstance(patient_id, str) else None,
            client=hook_input.ehr,
        ),
        version=hook_input.version,
        now=now,
        technical_problem="; ".join(hook_input.problems) if coverage_unknown else None,
    )
