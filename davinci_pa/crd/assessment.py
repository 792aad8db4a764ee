"""Assess each order of a hook call: its coverage, its rule outcome, its final decision.

The decision is adapted to the hook (CRD ``hook-19``: order-select asks for no
documentation), checked against the coverage-information invariants, then expressed in the
codes of the CRD version being answered; a rule that produces an invalid decision yields
``indeterminate`` for that order (``resp-43``) instead of failing the whole call.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from davinci_pa.cdshooks.response import resource_problem
from davinci_pa.cql import DataProvider
from davinci_pa.crd.coverage import CoverageMatch, match_coverage
from davinci_pa.crd.orders import Resolver, order_codes, with_billing_codes
from davinci_pa.crd.targets import request_targets
from davinci_pa.crd.versions import CrdVersion, in_version
from davinci_pa.errors import InvalidHookRequest
from davinci_pa.fhir.codes import Code
from davinci_pa.rules.evaluation import RuleBook, RuleContext, RuleOutcome
from davinci_pa.rules.model import Decision, Reason
from davinci_pa.rules.vocabulary import check_decision
from davinci_pa.types import Resource

log = logging.getLogger(__name__)

IdFactory = Callable[[], str]

_NO_COVERAGE_TEXT = {
    "no-member-found": "The patient could not be found among this payer's members.",
    "no-active-coverage": "The patient has no active coverage with this payer.",
    "coverage-not-found": "The order could not be matched to a single coverage.",
}


@dataclass(frozen=True, slots=True)
class HookData:
    """What CRD needs from a validated hook call and its gathered prefetch."""

    hook: str
    context: Mapping[str, Any]
    patient: Resource | None
    member_found: bool
    coverages: Sequence[Resource]
    resolve: Resolver
    patient_data: DataProvider
    version: CrdVersion
    now: datetime
    technical_problem: str | None = None
    """Set when the coverage could not be retrieved from the EHR (CRD ``resp-43``)."""


@dataclass(frozen=True, slots=True)
class Assessment:
    """One assessed order and the decision to assert for it."""

    target: Resource
    codes: tuple[Code, ...]
    match: CoverageMatch
    outcome: RuleOutcome
    decision: Decision
    assertion_id: str


class Assessor:
    """Turns a hook call into one :class:`Assessment` per request resource."""

    def __init__(self, rules: RuleBook, *, new_id: IdFactory) -> None:
        self._rules = rules
        self._new_id = new_id

    def assess(self, data: HookData) -> list[Assessment]:
        """Assess every target resource of the hook call.

        Raises:
            InvalidHookRequest: a resource to be answered about is not valid FHIR R4 (CRD
                ``hook-9``: 400 when the body fails FHIR validation).
        """
        targets = request_targets(data.hook, data.context, data.resolve)
        problems = [
            f"{target.get('resourceType')}/{target.get('id')}: {problem}"
            for target in targets
            if (problem := resource_problem(target)) is not None
        ]
        if problems:
            raise InvalidHookRequest(f"context: {problems[0]}", details={"problems": problems})
        return [self._assess_one(target, data) for target in targets]

    def _assess_one(self, target: Resource, data: HookData) -> Assessment:
        codes = tuple(order_codes(target, data.resolve))
        match = match_coverage(
            target,
            member_found=data.member_found,
            coverages=data.coverages,
            payers=self._rules.pack.payers,
            resolve=data.resolve,
            today=data.now.date(),
        )
        outcome = self._outcome(target, codes, match, data)
        decision = self._finalise(outcome, data)
        return Assessment(target, codes, match, outcome, decision, self._new_id())

    def _outcome(
        self, target: Resource, codes: Sequence[Code], match: CoverageMatch, data: HookData
    ) -> RuleOutcome:
        if data.technical_problem is not None:
            text = "The patient's coverage could not be retrieved from the EHR."
            return RuleOutcome(technical_decision(text), "technical")
        if match.payer is None:
            reason = match.reason or "coverage-not-found"
            decision = Decision(
                covered="not-covered", reasons=(Reason(_NO_COVERAGE_TEXT[reason], reason),)
            )
            return RuleOutcome(decision, f"coverage:{reason}")
        context = RuleContext(
            hook=data.hook,
            order=with_billing_codes(target),
            now=data.now,
            coverage=match.coverage,
            patient=data.patient,
            data=data.patient_data,
        )
        return self._rules.decide(codes, match.payer, context)

    def _finalise(self, outcome: RuleOutcome, data: HookData) -> Decision:
        decision = for_hook(outcome.decision, data.hook)
        if decision.pa_needed == "satisfied" and not decision.satisfied_pa_id:
            decision = dataclasses.replace(decision, satisfied_pa_id=self._new_id())
        problems = check_decision(decision)
        if problems:
            log.error("rule %s produced an invalid decision: %s", outcome.source, problems)
            decision = technical_decision(f"The coverage rule {outcome.source} failed.")
        return in_version(decision, data.version)


def for_hook(decision: Decision, hook: str) -> Decision:
    """Fit a decision to the hook: order-select asks for no documentation (CRD ``hook-19``)."""
    if hook != "order-select":
        return decision
    return dataclasses.replace(decision, doc_needed=(), doc_purpose=(), questionnaires=())


def technical_decision(text: str) -> Decision:
    """Return the answer for a technical failure (CRD ``resp-43``)."""
    return Decision(
        covered="indeterminate", pa_needed="indeterminate", reasons=(Reason(text, "technical"),)
    )
