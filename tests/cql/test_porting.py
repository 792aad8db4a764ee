"""Existing Da Vinci content runs unchanged (issue 13, item 6: the found porting cases).

CDS-Library libraries say ``using FHIR version '4.0.0'`` and ship a FHIRHelpers 4.0.0 beside
them; ``fixtures/fhir400`` holds a library in that style and a FHIRHelpers 4.0.0 test double
with the same interface (both written for these tests). They compile with the official
translator and run on our engine next to our own FHIRHelpers 4.0.1.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from davinci_pa.cql import BundleDataProvider, CqlEngine, LibraryRepository, encode_result
from davinci_pa.cql.compile import DEFAULT_OPTIONS, FHIRHELPERS_DIR, translate_sources
from davinci_pa.cql.encode import encode_value
from davinci_pa.cql.translator_env import node_available
from davinci_pa.cql.values.clinical import Code, Concept
from davinci_pa.cql.values.quantity import Quantity, Ratio
from davinci_pa.cql.values.temporal import Date, DateTime
from davinci_pa.cql.values.temporal_between import Uncertainty
from davinci_pa.errors import CqlEvaluationError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "fhir400"
NOW = datetime.fromisoformat("2024-06-15T12:00:00+00:00")
LOINC_A1C = {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]}


def _observation(ident: str, effective: str, value: float) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": ident,
        "status": "final",
        "subject": {"reference": "Patient/p1"},
        "code": LOINC_A1C,
        "effectiveDateTime": effective,
        "issued": effective,
        "valueQuantity": {"value": value, "unit": "%"},
    }


BUNDLE = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [
        {"resource": r}
        for r in (
            {"resourceType": "Patient", "id": "p1", "birthDate": "1970-05-04"},
            _observation("recent", "2024-03-01T10:00:00Z", 7.1),
            _observation("old", "2022-03-01T10:00:00Z", 9.1),
            {
                "resourceType": "Encounter",
                "id": "e1",
                "status": "finished",
                "subject": {"reference": "Patient/p1"},
                "period": {"start": "2024-05-01T08:00:00Z", "end": "2024-05-01T09:00:00Z"},
            },
        )
    ],
}
ORDER = {
    "resourceType": "ServiceRequest",
    "id": "s1",
    "status": "active",
    "intent": "order",
    "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "94760"}]},
    "subject": {"reference": "Patient/p1"},
}


def _compile(options: tuple[str, ...] = DEFAULT_OPTIONS) -> LibraryRepository:
    if not node_available():
        pytest.skip("Node.js 18+ and npm are needed to translate the FHIR 4.0.0 libraries")
    files = sorted(FIXTURES.glob("*.cql"))
    sources = {f.name: f.read_text(encoding="utf-8") for f in files}
    results = translate_sources(sources, include_dirs=[FIXTURES], options=options)
    repository = LibraryRepository.from_directories([FHIRHELPERS_DIR])
    for name, result in results.items():
        assert result.ok, f"{name}: {[str(e) for e in result.errors]}"
        assert result.elm is not None
        repository.add(result.elm)
    return repository


@pytest.fixture(scope="module")
def repository() -> LibraryRepository:
    return _compile()


def _run(repository: LibraryRepository, bundle: Mapping[str, Any] = BUNDLE) -> dict[str, Any]:
    return CqlEngine(repository).evaluate(
        "LookBack400",
        data=BundleDataProvider(dict(bundle), patient_id="p1"),
        parameters={"ServiceRequest": ORDER},
        now=NOW,
    )


@pytest.mark.node
def test_fhir_400_content_compiles_beside_our_fhirhelpers(repository: LibraryRepository) -> None:
    """``using FHIR version '4.0.0'`` translates; both FHIRHelpers versions are loaded."""
    names = repository.names()
    assert ("FHIRHelpers", "4.0.0") in names
    assert ("FHIRHelpers", "4.0.1") in names
    elm = repository.get("LookBack400")
    assert elm is not None
    usings = elm["library"]["usings"]["def"]
    assert {"localIdentifier": "FHIR", "uri": "http://hl7.org/fhir", "version": "4.0.0"} in [
        {k: u.get(k) for k in ("localIdentifier", "uri", "version")} for u in usings
    ]


@pytest.mark.node
def test_commons_look_back_pattern_finds_the_recent_observation(
    repository: LibraryRepository,
) -> None:
    """``(O.effective as FHIR.dateTime).value in Interval[Now() - 12 'mo', Now()]``."""
    result = _run(repository)
    assert [o["id"] for o in result["Recent A1c"]] == ["recent"]
    assert result["Recent A1c Values"] == [Decimal("7.1")]


@pytest.mark.node
def test_value_of_a_date_time_element_is_a_cql_date_time(repository: LibraryRepository) -> None:
    result = _run(repository)
    assert result["Effective Is DateTime"] is True
    assert result["Effective After 2024"] is True
    assert isinstance(result["Issued"], DateTime)
    assert isinstance(result["Birth Date"], Date)
    assert result["Birth Date"].to_iso() == "1970-05-04"


@pytest.mark.node
def test_value_typing_without_translator_result_types() -> None:
    """ELM compiled elsewhere (no result types): ``.value`` is still typed where the ELM shows
    it: after ``as FHIR.dateTime``, on a function operand declared ``FHIR.dateTime`` and on
    ``period."start"`` of an operand declared ``FHIR.Period`` (FHIRHelpers 4.0.0's bodies).
    """
    options = tuple(o for o in DEFAULT_OPTIONS if o != "EnableResultTypes")
    repository = _compile(options)
    fhirhelpers = repository.get("FHIRHelpers", "4.0.0")
    assert fhirhelpers is not None
    assert "resultTypeName" not in json.dumps(fhirhelpers)
    result = _run(repository)
    assert result["Effective Is DateTime"] is True
    assert result["Effective After 2024"] is True
    assert [o["id"] for o in result["Recent A1c"]] == ["recent"]
    assert isinstance(result["Issued"], DateTime)
    (interval,) = result["Encounter Intervals"]
    assert isinstance(interval.low, DateTime)
    assert isinstance(interval.high, DateTime)


@pytest.mark.node
def test_instance_selectors_of_system_types(repository: LibraryRepository) -> None:
    result = _run(repository)
    assert result["Twelve Months"] == Quantity(Decimal(12), "mo")
    assert result["Dose Ratio"] == Ratio(Quantity(Decimal(1), "mg"), Quantity(Decimal(2), "mL"))
    assert result["A Code"] == Code("4548-4", "http://loinc.org", None, "HbA1c")
    concept = result["A Concept"]
    assert isinstance(concept, Concept)
    assert concept.display == "HbA1c"
    assert [c.code for c in concept.codes] == ["4548-4"]


@pytest.mark.node
def test_cast_and_as_on_non_choice_elements_return_the_element(
    repository: LibraryRepository,
) -> None:
    """``cast ServiceRequest.code as CodeableConcept`` and ``Encounter.period as Period``."""
    result = _run(repository)
    assert result["Order Code"] == ORDER["code"]
    assert result["Encounter Periods"] == [
        {"start": "2024-05-01T08:00:00Z", "end": "2024-05-01T09:00:00Z"}
    ]
    concept = result["Order Concept"]
    assert [c.code for c in concept.codes] == ["94760"]


@pytest.mark.node
def test_fhirhelpers_400_bodies_run_on_our_engine(repository: LibraryRepository) -> None:
    """Our native conversions replace FHIRHelpers 4.0.1 only; 4.0.0 runs its own ELM."""
    (interval,) = _run(repository)["Encounter Intervals"]
    assert isinstance(interval.low, DateTime)
    assert encode_value(interval)["low"] == "2024-05-01T08:00:00+00:00"


@pytest.mark.node
def test_an_error_in_fhirhelpers_400_names_that_library(repository: LibraryRepository) -> None:
    """A malformed dateTime fails inside FHIRHelpers 4.0.0's ``ToInterval``: it is named."""
    broken = json.loads(json.dumps(BUNDLE))
    broken["entry"][3]["resource"]["period"]["start"] = "May 1st"
    with pytest.raises(CqlEvaluationError) as raised:
        _run(repository, broken)
    assert raised.value.message.startswith("library FHIRHelpers, at 20:"), raised.value.message
    assert raised.value.details["library"] == "FHIRHelpers"
    assert "of LookBack400 version 1.0.0" in raised.value.message


def test_uncertain_values_encode_as_documented() -> None:
    """docs/cql.md: an uncertain number is ``{"low", "high"}``."""
    assert encode_value(Uncertainty(16, 44)) == {"low": 16, "high": 44}
    assert encode_result({"x": [Uncertainty(0, 1)]}) == {"x": [{"low": 0, "high": 1}]}
