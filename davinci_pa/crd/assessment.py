"""Assess each order of a hook call: its coverage, its rule outcome, its final decision.

The decision is adapted to the hook (CRD ``hook-19``: order-select asks for no
documentation) and to the CRD version, then checked against the coverage-information
invariants; a rule that produces an invalid decision yields ``indeterminate`` for that order
(``resp-43``) instead of failing the whole call.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from davinci_pa.cdshooks.response import resource_problem
from davinci_pa.crd.coverage import CoverageMatch, match_coverage
from davinci_pa.crd.orders import Resolver, order_codes
from davinci_pa.crd.targets import request_targets
from davinci_pa.crd.versions import CrdVersion
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
    records: Sequence[Resource]
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
            return RuleOutcome(technical_decision(text, data.version), "technical")
        if match.payer is None:
            reason = match.reason or "coverage-not-found"
            decision = Decision(
                covered="not-covered", reasons=(Reason(_NO_COVERAGE_TEXT[reason], reason),)
            )
            return RuleOutcome(decision, f"coverage:{reason}")
        context = RuleContext(
            hook=data.hook,
            order=target,
            now=data.now,
            coverage=match.coverage,
            patient=data.patient,
            records=data.records,
        )
        return self._rules.decide(codes, match.payer, context)

    def _finalise(self, outcome: RuleOutcome, data: HookData) -> Decision:
        decision = adapt_decision(outcome.decision, hook=data.hook, version=data.version)
        if decision.pa_needed == "satisfied" and not decision.satisfied_pa_id:
            decision = dataclasses.replace(decision, satisfied_pa_id=self._new_id())
        problems = check_decision(decision)
        if not problems:
            return decision
        log.error("rule %s produced an invalid decision: %s", outcome.source, problems)
        return technical_decision(f"The coverage rule {outcome.source} failed.", data.version)


def adapt_decision(decision: Decision, *, hook: str, version: CrdVersion) -> Decision:
    """Fit a rule's decision to the hook and to the CRD version being answered."""
    if hook == "order-select":
        decision = dataclasses.replace(decision, doc_needed=(), doc_purpose=(), questionnaires=())
    if not version.multiple_doc_needed:
        decision = dataclasses.replace(
            decision, doc_needed=tuple(c for c in decision.doc_needed if c != "patient")
        )
    if version.has_indeterminate or "indeterminate" not in _states(decision):
        return decision
    return _indeterminate_as_conditional(decision)


def technical_decision(text: str, version: CrdVersion) -> Decision:
    """Return the answer for a technical failure (CRD ``resp-43``)."""
    decision = Decision(
        covered="indeterminate", pa_needed="indeterminate", reasons=(Reason(text, "technical"),)
    )
    return decision if version.has_indeterminate else _indeterminate_as_conditional(decision)


def _states(decision: Decision) -> set[str | None]:
    return {decision.covered, decision.pa_needed, *decision.doc_needed}


def _indeterminate_as_conditional(decision: Decision) -> Decision:
    """CRD 2.0.1 has no ``indeterminate``: say ``conditional`` and that more is needed."""

    def swap(code: str | None) -> str | None:
        return "conditional" if code == "indeterminate" else code

    info = decision.info_needed or ("OTH",)
    return dataclasses.replace(
        decision,
        covered=swap(decision.covered) or "conditional",
        pa_needed=swap(decision.pa_needed),
        doc_needed=tuple(c for c in decision.doc_needed if c != "indeterminate"),
        info_needed=info,
    )
