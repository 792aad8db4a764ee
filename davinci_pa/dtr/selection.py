"""Which questionnaires a ``$questionnaire-package`` call gets.

DTR 2.2 §Launch Workflow: requested canonicals first; then the forms CRD named for the
``context`` (the ``coverage-assertion-id``, ``spec-107``; an unknown id is a 4xx,
``spec-130``); then the forms of the rule-pack topics governing the orders' codes. When
CRD said documentation is needed but no form exists, the caller is told what to do
(``oper-8``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from davinci_pa.dtr.errors import UnknownDtrContext
from davinci_pa.dtr.params import PackageRequest
from davinci_pa.fhir.codes import Code, codings
from davinci_pa.rules.model import RulePack, Topic
from davinci_pa.store.crd_records import AssertionRecord
from davinci_pa.types import Resource

ORDER_CODE_ELEMENTS: Mapping[str, tuple[str, ...]] = {
    "DeviceRequest": ("codeCodeableConcept",),
    "ServiceRequest": ("code",),
    "MedicationRequest": ("medicationCodeableConcept",),
    "CommunicationRequest": ("reasonCode",),
    "SupplyRequest": ("itemCodeableConcept",),
    "Appointment": ("serviceType",),
    "Encounter": ("type",),
    "VisionPrescription": (),
    "NutritionOrder": (),
}


class AssertionSource(Protocol):
    """Looks up a CRD coverage assertion by id (the CRD records repository does)."""

    def assertion(self, assertion_id: str) -> AssertionRecord | None:
        """Return the assertion, or None when it is unknown."""
        ...


@dataclass
class Selection:
    """The forms to package, each tied to the order it documents (when known)."""

    forms: list[tuple[str, Resource | None]] = field(default_factory=list)
    doc_purpose: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    assertion: AssertionRecord | None = None

    def add(self, canonical: str, order: Resource | None) -> None:
        """Add a form unless the same canonical is already tied to the same order."""
        if all(c != canonical or o is not order for c, o in self.forms):
            self.forms.append((canonical, order))


def select(
    request: PackageRequest, *, rules: RulePack | None, assertions: AssertionSource | None
) -> Selection:
    """Return the forms for a request."""
    selection = Selection()
    first_order = request.orders[0] if request.orders else None
    for canonical in request.questionnaires:
        selection.add(canonical, first_order)
    if request.context:
        _from_context(request, assertions, selection)
    elif rules is not None:
        payers = _payer_ids(request.coverage, rules)
        for order in request.orders:
            for topic in _topics(order, rules, payers):
                selection.doc_purpose.extend(topic.decision.doc_purpose)
                for canonical in topic.questionnaires:
                    selection.add(canonical, order)
    return selection


def _from_context(
    request: PackageRequest, assertions: AssertionSource | None, selection: Selection
) -> None:
    context = str(request.context)
    record = assertions.assertion(context) if assertions is not None else None
    if record is None:
        raise UnknownDtrContext(f"context {context!r} is not a coverage-assertion-id we issued")
    selection.assertion = record
    decision = dict(record.decision)
    order = next((o for o in request.orders if _ref(o) == record.order_ref), None)
    order = order or (request.orders[0] if request.orders else None)
    selection.doc_purpose.extend(str(p) for p in decision.get("doc-purpose") or [])
    forms = [str(c) for c in decision.get("questionnaires") or []]
    for canonical in forms:
        selection.add(canonical, order)
    needed = [d for d in decision.get("doc-needed") or [] if d != "no-doc"]
    if needed and not forms and not request.questionnaires:
        selection.notes.append(
            "CRD said documentation is needed for this order but no form applies: send the "
            "documentation named in the coverage information with the order or claim."
        )


def _ref(resource: Resource) -> str:
    return f"{resource.get('resourceType')}/{resource.get('id')}"


def order_codes(order: Resource) -> list[Code]:
    """The codes of an order, from the element that carries them for its type."""
    found: list[Code] = []
    for element in ORDER_CODE_ELEMENTS.get(str(order.get("resourceType")), ()):
        value = order.get(element)
        for concept in value if isinstance(value, list) else [value]:
            found.extend(codings(concept))
    if order.get("resourceType") == "NutritionOrder":
        found.extend(codings((order.get("enteralFormula") or {}).get("baseFormulaType")))
        for diet in (order.get("oralDiet") or {}).get("type") or []:
            found.extend(codings(diet))
    return found


def _topics(order: Resource, rules: RulePack, payers: set[str]) -> list[Topic]:
    topics: list[Topic] = []
    for code in order_codes(order):
        matches = rules.by_code.get(code.key, ())
        preferred = [r for r in matches if any(r.applies_to(p) for p in payers)] or list(matches)
        if preferred and preferred[0].topic not in topics:
            topics.append(preferred[0].topic)
    return topics


def _payer_ids(coverage: Resource, rules: RulePack) -> set[str]:
    names: set[str] = set()
    identifiers: set[tuple[str, str]] = set()
    contained = {c.get("id"): c for c in coverage.get("contained") or [] if isinstance(c, dict)}
    for payor in coverage.get("payor") or []:
        if not isinstance(payor, dict):
            continue
        org = contained.get(str(payor.get("reference", "")).lstrip("#"), {})
        names.update(str(n).casefold() for n in (payor.get("display"), org.get("name")) if n)
        idents = [payor.get("identifier"), *(org.get("identifier") or [])]
        identifiers.update(_identifiers(idents))
    return {
        p.id
        for p in rules.payers
        if names & {n.casefold() for n in p.names} or identifiers & set(p.identifiers)
    }


def _identifiers(values: Iterable[Any]) -> set[tuple[str, str]]:
    return {
        (str(v.get("system")), str(v.get("value")))
        for v in values
        if isinstance(v, dict) and v.get("system") and v.get("value")
    }
