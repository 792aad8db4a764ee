"""Canonical URLs, extension helpers and version shapes shared by the DTR modules.

DTR 2.2 §Specification and the SDC 3.0 extensions it profiles; DTR 2.0.1 differs in the
output parameter names and the QuestionnaireResponse context extensions (requirements §3.9).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from davinci_pa.types import Resource

DTR = "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/"
SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition/"
CQF_LIBRARY = "http://hl7.org/fhir/StructureDefinition/cqf-library"
VARIABLE = "http://hl7.org/fhir/StructureDefinition/variable"
INITIAL = SDC + "sdc-questionnaire-initialExpression"
CALCULATED = SDC + "sdc-questionnaire-calculatedExpression"
CANDIDATE = SDC + "sdc-questionnaire-candidateExpression"
ENABLE_WHEN_EXPRESSION = SDC + "sdc-questionnaire-enableWhenExpression"
LAUNCH_CONTEXT = SDC + "sdc-questionnaire-launchContext"
SUB_QUESTIONNAIRE = SDC + "sdc-questionnaire-subQuestionnaire"
ASSEMBLE_EXPECTATION = SDC + "sdc-questionnaire-assemble-expectation"
ADAPTIVE = SDC + "sdc-questionnaire-questionnaireAdaptive"
ORIGIN = DTR + "information-origin"
QR_CONTEXT = DTR + "qr-context"
QR_COVERAGE = DTR + "qr-coverage"
INTENDED_USE = DTR + "intendedUse"
COVERAGE_INFORMATION = (
    "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
)
DOC_REASON = "http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp"
ORIGIN_SOURCES = frozenset({"auto-client", "auto-server", "override", "manual", "auto"})
"""DTR 2.2 informationOrigins, plus 2.0.1's ``auto``."""

STD_QUESTIONNAIRE = DTR + "dtr-std-questionnaire"
ADAPT_SEARCH = DTR + "dtr-questionnaire-adapt-search"
ADAPT_QUESTIONNAIRE = DTR + "dtr-questionnaire-adapt"
SDC_ADAPT = SDC + "sdc-questionnaire-adapt"
QPACKAGE_BUNDLE = DTR + "DTR-QPackageBundle"
QPACKAGE_OUTPUT = DTR + "dtr-qpackage-output-parameters"
QR_PROFILE = DTR + "dtr-questionnaireresponse"


@dataclass(frozen=True, slots=True)
class DtrVersion:
    """How one DTR release names things on the wire."""

    label: str
    bundle_parameter: str
    outcome_parameter: str
    coverage_extension: str
    origin_auto_server: str


V2_2 = DtrVersion("2.2", "packagebundle", "outcome", QR_COVERAGE, "auto-server")
V2_0_1 = DtrVersion("2.0.1", "PackageBundle", "operationOutcome", QR_CONTEXT, "auto")
VERSIONS = {"2.2": V2_2, "2.2.0": V2_2, "2.0.1": V2_0_1, "2.0": V2_0_1}


def extensions(element: Any, url: str) -> list[dict[str, Any]]:
    """Return the extensions of ``element`` with this url."""
    if not isinstance(element, dict):
        return []
    found = element.get("extension")
    if not isinstance(found, list):
        return []
    return [e for e in found if isinstance(e, dict) and e.get("url") == url]


def expression(element: Any, url: str) -> dict[str, Any] | None:
    """Return the ``valueExpression`` of the first extension with this url."""
    for ext in extensions(element, url):
        value = ext.get("valueExpression")
        if isinstance(value, dict) and isinstance(value.get("expression"), str):
            return value
    return None


def walk_items(items: Any, depth: int = 0) -> Iterator[tuple[dict[str, Any], int]]:
    """Yield every item of a Questionnaire/QuestionnaireResponse tree with its depth."""
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            yield item, depth
            yield from walk_items(item.get("item"), depth + 1)
            for answer in answers_of(item):
                yield from walk_items(answer.get("item"), depth + 1)


def answers_of(item: dict[str, Any]) -> list[dict[str, Any]]:
    """The answers of a QuestionnaireResponse item (malformed entries are skipped)."""
    answers = item.get("answer")
    return [a for a in answers if isinstance(a, dict)] if isinstance(answers, list) else []


def canonical_of(resource: Resource) -> str:
    """``url|version`` of a canonical resource (``url`` alone when it has no version)."""
    url = str(resource.get("url", ""))
    version = resource.get("version")
    return f"{url}|{version}" if version else url


def split_canonical(canonical: str) -> tuple[str, str | None]:
    """Split ``url|version`` (a fragment ``#x`` is dropped)."""
    url, _, version = canonical.partition("|")
    return url.split("#", 1)[0], (version or None)
