"""Per-item decisions from the payer's rule book (PAS §Review action, CMS-0057-F).

Each Claim item is decided from its codes (``productOrService`` and the order it names in
``extension-requestedService``), the Coverage, the patient and everything else in the
Bundle (QuestionnaireResponses from DTR included) through the same topics CRD uses:

* not covered → ``A3`` with the topic's specific reason (refused without one: pended);
* no prior authorization needed, or the rule finds the criteria met → ``A1``;
* authorization or documentation still to be judged → ``A4`` (pended for review).

A reviewer's later decision (``A1``, ``A3`` with a reason, ``A6`` with the authorized
detail) replaces a pended one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from davinci_pa.cql import BundleDataProvider
from davinci_pa.errors import RequestError
from davinci_pa.fhir.codes import Code, codings
from davinci_pa.fhir.json import obj, objects
from davinci_pa.pas import vocabulary as v
from davinci_pa.pas.request import PasRequest
from davinci_pa.rules.evaluation import RuleBook, RuleContext, RuleOutcome
from davinci_pa.rules.model import Payer
from davinci_pa.types import Resource

_ORDER_CODE_FIELDS = (
    "code",
    "codeCodeableConcept",
    "medicationCodeableConcept",
    "productCodeableConcept",
)


class MissingDenialReason(RequestError):
    """A denial or modification without a specific reason (CMS-0057-F requires one)."""

    code = "missing-denial-reason"
    http_status = 422
    issue_type = "business-rule"


@dataclass(frozen=True, slots=True)
class ItemDecision:
    """The decision on one Claim item."""

    sequence: int
    action: str
    reason: str | None = None
    reason_codes: tuple[str, ...] = ()
    source: str = ""
    authorized: Mapping[str, Any] = field(default_factory=dict)
    reviewer: str | None = None
    """Who recorded a review decision (``None`` for the rules' own)."""
    topic: str | None = None
    """The rule-pack topic that decided the item, when one matched."""

    def __post_init__(self) -> None:
        if self.action in v.NEEDS_REASON and not (self.reason and self.reason.strip()):
            raise MissingDenialReason(
                f"item {self.sequence}: 'reason' is required: a {v.ACTION_DISPLAY[self.action]} "
                "decision needs a specific human-readable reason"
            )
        if self.action == v.MODIFIED and not self.authorized.get("productOrService"):
            raise RequestError(
                f"item {self.sequence}: a modified decision needs the authorized item"
            )

    def to_json(self) -> dict[str, Any]:
        """Stored form."""
        return {
            "action": self.action,
            "reason": self.reason,
            "reasonCodes": list(self.reason_codes),
            "source": self.source,
            "authorized": dict(self.authorized),
            "reviewer": self.reviewer,
            "topic": self.topic,
        }

    @classmethod
    def from_json(cls, sequence: int, data: Mapping[str, Any]) -> ItemDecision:
        """Rebuild from :meth:`to_json`."""
        return cls(
            sequence,
            str(data["action"]),
            data.get("reason"),
            tuple(data.get("reasonCodes") or ()),
            str(data.get("source", "")),
            dict(data.get("authorized") or {}),
            data.get("reviewer"),
            data.get("topic"),
        )


class ItemDecider:
    """Decides Claim items with a rule book for the payer named by the Claim's insurer."""

    def __init__(self, rules: RuleBook, *, reason_codes: Mapping[str, str] | None = None) -> None:
        self._rules = rules
        self._reason_codes = dict(reason_codes or {})

    def decide(
        self, request: PasRequest, item: Resource, payer: Payer, now: datetime
    ) -> ItemDecision:
        """Decide one item."""
        order = _ordered(request, item)
        codes = _codes(order, item)
        context = RuleContext(
            hook="pas-submit",
            order=order or {"resourceType": "Claim"},
            now=now,
            coverage=_coverage(request),
            patient=request.resolve(request.claim.get("patient")),
            data=BundleDataProvider(
                list(request.entries.values()), patient_id=_patient_id(request)
            ),
        )
        outcome = self._rules.decide(codes, payer, context)
        return self._action(int(item["sequence"]), outcome)

    def _action(self, sequence: int, outcome: RuleOutcome) -> ItemDecision:
        decision = outcome.decision
        reason = " ".join(r.text for r in decision.reasons if r.text) or None
        topic = outcome.topic.id if outcome.topic else None
        if decision.covered == "not-covered":
            if reason is None:  # never deny without a reason: a person decides instead
                return ItemDecision(sequence, v.PENDED, None, (), outcome.source, topic=topic)
            code = self._reason_codes.get(topic or "*") or self._reason_codes.get("*")
            codes = (code,) if code else ()
            return ItemDecision(sequence, v.DENIED, reason, codes, outcome.source, topic=topic)
        if decision.pa_needed in {"no-auth", "satisfied"} and decision.covered == "covered":
            return ItemDecision(sequence, v.APPROVED, reason, (), outcome.source, topic=topic)
        return ItemDecision(sequence, v.PENDED, reason, (), outcome.source, topic=topic)


def _patient_id(request: PasRequest) -> str | None:
    patient = request.resolve(request.claim.get("patient")) or {}
    return patient.get("id") if isinstance(patient.get("id"), str) else None


def item_codes(request: PasRequest, item: Resource) -> list[Code]:
    """What a Claim item is decided on: the ordered service's codes, then the item's own.

    PAS: the item's ``requestedService`` extension names the order (its CPT/HCPCS code);
    ``productOrService`` often carries only an X12 service type.
    """
    return _codes(_ordered(request, item), item)


def _ordered(request: PasRequest, item: Resource) -> Resource:
    return request.resolve(_requested_service(item)) or {}


def _codes(order: Resource, item: Resource) -> list[Code]:
    return [*_order_codes(order), *codings(item.get("productOrService"))]


def _requested_service(item: Resource) -> Any:
    for ext in objects(item.get("extension")):
        if ext.get("url") == v.EXT_REQUESTED_SERVICE:
            return ext.get("valueReference")
    return None


def _order_codes(order: Resource) -> list[Code]:
    for name in _ORDER_CODE_FIELDS:
        found = list(codings(order.get(name)))
        if found:
            return found
    return []


def _coverage(request: PasRequest) -> Resource | None:
    for insurance in objects(request.claim.get("insurance")):
        if insurance.get("focal") is True:
            return request.resolve(insurance.get("coverage"))
    first = objects(request.claim.get("insurance"))
    return request.resolve(first[0].get("coverage")) if first else None


def match_payer(request: PasRequest, payers: Sequence[Payer], default: str | None) -> Payer | None:
    """The payer the Claim's insurer names (identifier, then name), else ``default``."""
    insurer = request.resolve(request.claim.get("insurer")) or {}
    identifiers = {
        (str(i.get("system")), str(i.get("value"))) for i in objects(insurer.get("identifier"))
    }
    name = str(insurer.get("name", "")).casefold()
    for payer in payers:
        if payer.identifiers & identifiers or (
            name and name in {n.casefold() for n in payer.names}
        ):
            return payer
    return next((p for p in payers if p.id == default), None)


def is_urgent(claim: Resource) -> bool:
    """Expedited review: X12 level of service urgent, or Claim.priority ``stat``."""
    for ext in objects(claim.get("extension")):
        level = codings(ext.get("valueCodeableConcept"))
        if ext.get("url") == v.EXT_LEVEL_OF_SERVICE and any(
            c.code in v.URGENT_LEVELS for c in level
        ):
            return True
    return any(c.code == "stat" for c in codings(obj(claim.get("priority"))))
