"""Decide an order: find its topic by code and payer, then ask the topic's evaluator.

A topic answers statically from its ``topic.json`` or through its CQL library; both sit
behind :class:`TopicEvaluator`, so CRD code never changes when a rule moves to CQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from davinci_pa.cql import BundleDataProvider, DataProvider
from davinci_pa.fhir.codes import Code
from davinci_pa.rules.model import Decision, Payer, RulePack, Topic
from davinci_pa.types import Resource


@dataclass(frozen=True, slots=True)
class RuleContext:
    """What a rule may look at: the order, its coverage and the patient's record."""

    hook: str
    order: Resource
    now: datetime
    coverage: Resource | None = None
    patient: Resource | None = None
    data: DataProvider = field(default_factory=BundleDataProvider)
    """The patient's record (CQL retrieves read it)."""


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """A decision and where it came from (kept with the assertion for traceability)."""

    decision: Decision
    source: str
    topic: Topic | None = None


class TopicEvaluator(Protocol):
    """Evaluates one topic for one order."""

    def evaluate(self, topic: Topic, context: RuleContext) -> RuleOutcome | None:
        """Return the outcome, or ``None`` when the topic's rule does not apply."""


class StaticEvaluator:
    """Answers every topic with the decision written in its ``topic.json``."""

    def evaluate(self, topic: Topic, context: RuleContext) -> RuleOutcome | None:
        """Return the topic's static decision."""
        return RuleOutcome(topic.decision, f"static:{topic.id}", topic)


class RuleBook:
    """The payer's rules: a rule pack plus the evaluator that runs its topics."""

    def __init__(self, pack: RulePack, *, evaluator: TopicEvaluator | None = None) -> None:
        self.pack = pack
        self._evaluator: TopicEvaluator = evaluator or StaticEvaluator()

    def decide(self, codes: Sequence[Code], payer: Payer, context: RuleContext) -> RuleOutcome:
        """Return the decision of the first topic that governs one of ``codes`` and applies.

        Orders no topic governs get the pack's default decision (covered, no prior
        authorization), as a payer's prior-authorization list implies.
        """
        for code in codes:
            topic = self.pack.topic_for(code, payer.id)
            if topic is not None:
                outcome = self._evaluator.evaluate(topic, context)
                if outcome is not None:
                    return outcome
        return RuleOutcome(self.pack.default_decision, "default")
