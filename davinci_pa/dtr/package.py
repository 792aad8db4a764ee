"""Build the ``$questionnaire-package`` output: one Bundle per form.

DTR 2.2 §Questionnaire Package Operation: the Questionnaire first (``oper-12``), every
Library it needs through ``cqf-library`` and recursive ``depends-on`` with CQL and ELM
(``oper-13``; a name always denotes the same Library, so bundles sharing one repeat it
unchanged; see docs/dtr.md on the conformance kit's response-wide name check), every
ValueSet referenced, expanded as of the current date with active codes only when under 40
codes (``oper-14``, ``oper-5``, ``oper-15``; larger ones are sent by definition),
version-specific references (``oper-16``) and one draft QuestionnaireResponse with subject
and context extensions (``oper-18``, ``spec-122``), here already prepopulated from the
coverage and orders sent. Adaptive forms get a draft that contains its Questionnaire
(``spec-25``).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from davinci_pa.dtr.adaptive import contained_form
from davinci_pa.dtr.content import DtrContent
from davinci_pa.dtr.params import PackageRequest
from davinci_pa.dtr.prepopulate import PrepopulationContext, Prepopulator
from davinci_pa.dtr.vocabulary import (
    ADAPTIVE,
    CQF_LIBRARY,
    DOC_REASON,
    INTENDED_USE,
    QPACKAGE_BUNDLE,
    QR_CONTEXT,
    DtrVersion,
    canonical_of,
    extensions,
    walk_items,
)
from davinci_pa.rules.expansion import expansion_as_of
from davinci_pa.store.clock import Clock, utc_now
from davinci_pa.types import Resource

EXPANSION_LIMIT = 40
"""oper-15: value sets with fewer codes are sent expanded."""


class PackageBuilder:
    """Assembles package Bundles for selected forms."""

    def __init__(
        self,
        content: DtrContent,
        prepopulator: Prepopulator,
        *,
        clock: Clock = utc_now,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.content = content
        self.prepopulator = prepopulator
        self._clock = clock
        self._new_id = new_id

    def bundle(
        self,
        served: Resource,
        request: PackageRequest,
        order: Resource | None,
        *,
        version: DtrVersion,
        doc_purpose: list[str],
    ) -> tuple[Resource, Resource]:
        """Return (Bundle, draft QuestionnaireResponse) for one served Questionnaire."""
        now = self._clock()
        definition = self.content.definition(canonical_of(served)) or served
        libraries = self._libraries(served)
        valuesets = self._valuesets(definition, libraries, now)
        draft = self._draft(served, definition, request, order, version, doc_purpose, now)
        entries = [served, *libraries, *valuesets]
        bundle: Resource = {
            "resourceType": "Bundle",
            "id": self._new_id(),
            "meta": {"profile": [QPACKAGE_BUNDLE]},
            "type": "collection",
            "timestamp": now.isoformat(timespec="seconds"),
            "entry": [
                {"fullUrl": f"{self.content.base}/{r['resourceType']}/{r['id']}", "resource": r}
                for r in entries
            ]
            + [{"fullUrl": f"urn:uuid:{draft['id']}", "resource": draft}],
        }
        return bundle, draft

    def _libraries(self, served: Resource) -> list[Resource]:
        """Every Library the form needs, dependencies included, each once (``oper-12``)."""
        pending = [str(e.get("valueCanonical")) for e in extensions(served, CQF_LIBRARY)]
        found: list[Resource] = []
        sent: set[str] = set()
        while pending:
            library = self.content.find("Library", pending.pop(0))
            if library is None or library["name"] in sent:
                continue
            sent.add(library["name"])
            found.append(library)
            pending.extend(
                str(a["resource"])
                for a in library.get("relatedArtifact", [])
                if a.get("type") == "depends-on" and "/Library/" in str(a.get("resource"))
            )
        return found

    def _valuesets(
        self, definition: Resource, libraries: list[Resource], now: datetime
    ) -> list[Resource]:
        canonicals = [
            str(i["answerValueSet"])
            for i, _ in walk_items(definition.get("item"))
            if isinstance(i.get("answerValueSet"), str)
        ]
        for library in libraries:
            canonicals.extend(
                str(a["resource"])
                for a in library.get("relatedArtifact", [])
                if "/ValueSet/" in str(a.get("resource"))
            )
        found: dict[str, Resource] = {}
        for canonical in canonicals:
            valueset = self.content.find("ValueSet", canonical)
            if valueset is not None:
                found.setdefault(canonical_of(valueset), _sized(valueset, now))
        return list(found.values())

    def _draft(
        self,
        served: Resource,
        definition: Resource,
        request: PackageRequest,
        order: Resource | None,
        version: DtrVersion,
        doc_purpose: list[str],
        now: datetime,
    ) -> Resource:
        data = [request.coverage, *request.orders]
        context = PrepopulationContext(
            subject=_subject(request.coverage, order),
            now=now,
            origin=version.origin_auto_server,
        )
        draft = self.prepopulator.populate(definition, data, context).response
        draft["id"] = self._new_id()
        if extensions(served, ADAPTIVE):
            form_id = str(served.get("id"))
            draft["contained"] = [
                contained_form(definition, copy.deepcopy(served["item"]), form_id)
            ]
            draft["questionnaire"] = f"#{form_id}"
            presented = {i["linkId"] for i in served["item"]}
            draft["item"] = [i for i in draft.get("item", []) if i["linkId"] in presented]
        draft["extension"] = _context_extensions(request, order, version, doc_purpose)
        return _ordered(draft)


def _sized(valueset: Resource, now: datetime) -> Resource:
    """Expanded as of ``now`` with active codes only (``oper-5``), when under the limit."""
    copy_vs = expansion_as_of(valueset, now)
    total = (copy_vs.get("expansion") or {}).get("total")
    if isinstance(total, int) and total >= EXPANSION_LIMIT:
        copy_vs.pop("expansion", None)
    return copy_vs


def _subject(coverage: Resource, order: Resource | None) -> dict[str, Any] | None:
    for candidate in ((order or {}).get("subject"), coverage.get("beneficiary")):
        if isinstance(candidate, dict) and candidate.get("reference"):
            return {"reference": candidate["reference"]}
    return None


def _reference(resource: Resource | None) -> dict[str, str] | None:
    if resource is None or not resource.get("id"):
        return None
    return {"reference": f"{resource['resourceType']}/{resource['id']}"}


def _context_extensions(
    request: PackageRequest, order: Resource | None, version: DtrVersion, doc_purpose: list[str]
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    coverage = _reference(request.coverage)
    if coverage:
        found.append({"url": version.coverage_extension, "valueReference": coverage})
    for related in [order] if order is not None else list(request.orders):
        reference = _reference(related)
        if reference:
            found.append({"url": QR_CONTEXT, "valueReference": reference})
    for code in dict.fromkeys(doc_purpose or ["withorder"]):
        concept = {"coding": [{"system": DOC_REASON, "code": code}]}
        found.append({"url": INTENDED_USE, "valueCodeableConcept": concept})
    return found


_ORDER = ("resourceType", "id", "meta", "contained", "extension", "questionnaire", "status")


def _ordered(resource: Resource) -> Resource:
    head = {k: resource[k] for k in _ORDER if k in resource}
    return {**head, **{k: v for k, v in resource.items() if k not in head}}
