"""Run a topic's CQL library (Da Vinci CDS-Library contract) and read its decision.

The order is passed as the parameter named after its type (``device_request``,
``service_request``, ...) with ``coverage``; the defines ``RULE_APPLIES``,
``PRIORAUTH_REQUIRED``, ``DOCUMENTATION_REQUIRED``, ``APPROVE_PRIORAUTH``,
``RESULT_QuestionnaireOrderUrl`` and the CRD 2.x details ``COVERED``, ``INFO_NEEDED``,
``DOC_PURPOSE``, ``REASON`` become a :class:`Decision`; a null define keeps the topic's
static answer. A library that fails is logged and the static answer is used instead.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from davinci_pa.cql import CqlEngine, LibraryRepository, LocalTerminology
from davinci_pa.errors import ConfigurationError, CqlError
from davinci_pa.rules.evaluation import RuleContext, RuleOutcome
from davinci_pa.rules.model import Decision, LibraryRef, Reason, RulePack, Topic

log = logging.getLogger(__name__)

PARAMETER_FOR_TYPE = {
    "DeviceRequest": "device_request",
    "ServiceRequest": "service_request",
    "MedicationRequest": "medication_request",
    "NutritionOrder": "nutrition_order",
    "VisionPrescription": "vision_prescription",
    "CommunicationRequest": "communication_request",
    "Appointment": "appointment",
    "Encounter": "encounter",
}
CONTRACT = (
    "RULE_APPLIES",
    "PRIORAUTH_REQUIRED",
    "DOCUMENTATION_REQUIRED",
    "APPROVE_PRIORAUTH",
    "RESULT_QuestionnaireOrderUrl",
    "COVERED",
    "INFO_NEEDED",
    "DOC_PURPOSE",
    "REASON",
)
_PA_PENDING = {"auth-needed", "performpa", "conditional"}


class CqlTopicEvaluator:
    """Evaluates topics through their compiled CQL libraries."""

    def __init__(self, engine: CqlEngine) -> None:
        self._engine = engine

    @classmethod
    def for_pack(cls, folder: Path, pack: RulePack) -> CqlTopicEvaluator:
        """Load every topic library, the topic and pack value sets and FHIRHelpers from a pack."""
        repository = LibraryRepository([_fhirhelpers()])
        terminology = LocalTerminology()
        for valueset in _valuesets(folder / "valuesets"):
            terminology.add(valueset)
        for topic in pack.topics:
            if topic.library is None:
                continue
            topic_dir = folder / topic.folder
            repository.add(_read_json(topic_dir / f"{topic.library.name}.json"))
            for valueset in _valuesets(topic_dir / "valuesets"):
                terminology.add(valueset)
        return cls(CqlEngine(repository, terminology=terminology))

    def evaluate(self, topic: Topic, context: RuleContext) -> RuleOutcome | None:
        """Run the topic's library; ``None`` when ``RULE_APPLIES`` is false."""
        if topic.library is None:
            return RuleOutcome(topic.decision, f"static:{topic.id}", topic)
        source = f"cql:{topic.library.name}|{topic.library.version or '*'}"
        try:
            results = self._run(topic.library, context)
        except CqlError as error:
            where = {k: error.details.get(k) for k in ("library", "define", "locator")}
            log.warning(
                "topic %s: CQL %s at %s; using its static decision", topic.id, error.code, where
            )
            return RuleOutcome(topic.decision, f"static:{topic.id} (after {error.code})", topic)
        if results.get("RULE_APPLIES") is False:
            return None
        return RuleOutcome(decision_from(results, topic), source, topic)

    def _run(self, ref: LibraryRef, context: RuleContext) -> dict[str, Any]:
        library = self._engine.library(ref.name, ref.version)
        parameters = {"coverage": context.coverage}
        name = PARAMETER_FOR_TYPE.get(context.order.get("resourceType", ""))
        if name:
            parameters[name] = context.order
        declared = {k: v for k, v in parameters.items() if k in library.parameters}
        defines = [d for d in CONTRACT if d in library.statements]
        return self._engine.evaluate(
            ref.name,
            ref.version,
            data=context.data,
            parameters=declared,
            now=context.now,
            defines=defines,
        )


def decision_from(results: Mapping[str, Any], topic: Topic) -> Decision:
    """Map contract defines onto the topic's static decision (null keeps the static value)."""
    static = topic.decision
    covered = _text(results.get("COVERED")) or static.covered
    if covered == "not-covered":
        return Decision(covered=covered, reasons=_reasons(results, static))
    pa_needed = _pa_needed(results, static)
    doc_needed = _doc_needed(results.get("DOCUMENTATION_REQUIRED"), static)
    purpose = _strings(results.get("DOC_PURPOSE")) or static.doc_purpose
    if pa_needed not in _PA_PENDING:
        purpose = tuple(p for p in purpose if p != "withpa")
    url = _text(results.get("RESULT_QuestionnaireOrderUrl"))
    questionnaires = ((url,) if url else topic.questionnaires) if doc_needed else ()
    info = _strings(results.get("INFO_NEEDED"))
    return dataclasses.replace(
        static,
        covered=covered,
        pa_needed=pa_needed,
        doc_needed=doc_needed,
        doc_purpose=purpose if doc_needed else (),
        info_needed=info or (static.info_needed if "conditional" in {covered, pa_needed} else ()),
        reasons=_reasons(results, static),
        questionnaires=questionnaires,
    )


def _pa_needed(results: Mapping[str, Any], static: Decision) -> str | None:
    if results.get("APPROVE_PRIORAUTH") is True:
        return "satisfied"
    required = results.get("PRIORAUTH_REQUIRED")
    if required is None:
        return static.pa_needed if static.pa_needed != "satisfied" else "auth-needed"
    return "auth-needed" if required else "no-auth"


def _doc_needed(required: Any, static: Decision) -> tuple[str, ...]:
    if required is None:
        return static.doc_needed
    return (static.doc_needed or ("clinical",)) if required else ()


def _reasons(results: Mapping[str, Any], static: Decision) -> tuple[Reason, ...]:
    text = _text(results.get("REASON"))
    return (Reason(text),) if text else static.reasons


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _strings(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    return tuple(v for v in items if isinstance(v, str) and v)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read rule pack file {path}: {exc}") from exc
    return data


def _fhirhelpers() -> dict[str, Any]:
    text = resources.files("davinci_pa.cql").joinpath("fhirhelpers/FHIRHelpers-4.0.1.json")
    data: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return data


def _valuesets(folder: Path) -> Iterable[dict[str, Any]]:
    if not folder.is_dir():
        return []
    return [_read_json(path) for path in sorted(folder.glob("*.json"))]
