"""Differential test: our engine against cql-execution + cql-exec-fhir on every shipped library.



``tests/cql/topic_fixtures.py`` (patient records and orders built from the topic's own codes
and value sets) in both engines with the same ELM, data, parameters and clock, and every
define must encode identically. Where cql-execution is wrong per the CQL specification, the
define is listed in :data:`EXPECTED_DIFFERENCES` with the reason, and the test checks that the
difference still shows (so the table cannot go stale). Skipped without Node.js.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from davinci_pa.cql import (
    BundleDataProvider,
    CqlEngine,
    LibraryRepository,
    LocalTerminology,
    encode_result,
)
from davinci_pa.cql.compile import FHIRHELPERS_DIR
from davinci_pa.errors import CqlEvaluationError
from tests.cql.test_fhirhelpers import needs_node
from tests.cql.topic_fixtures import (
    PATIENT_ID,
    Scenario,
    library_elm,
    load_valuesets,
    topic_scenarios,
)

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "cql_rules"
TOPICS = sorted(p for p in RULES.iterdir() if (p / "topic.json").is_file())
QUESTIONNAIRES = ROOT / "questionnaires"
PREPOPULATION = sorted(
    p
    for p in QUESTIONNAIRES.glob("*")
    if any(p.glob("*.cql")) and (RULES / p.name / "topic.json").is_file()
)
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)

EXPECTED_DIFFERENCES: dict[tuple[str, str], str] = {
    ("HomeOxygenPrepopulation", "PortableOrdered"): (
        "`null in {'E0431', ...}` with no order on file: CQL In/Contains with a null element "
        "is null unless the list is empty or holds a null (conformance suite "
        "CqlListOperatorsTest Includes/IncludesNullRight, IncludedIn/IncludedInNullLeft); "
        "cql-execution answers false"
    ),
}
"""(library, define) -> why cql-execution's answer is wrong per the CQL specification."""

EXPECTED_REFERENCE_ERRORS: dict[tuple[str, str], str] = {
    (library, "Cannot read properties of null (reading 'isQuantity')"): (
        "a query whose sort key is null for some rows (`return date from ToDateTime(C.onset "
        "as dateTime) sort ascending` over a Condition with onsetPeriod) crashes "
        "cql-execution 3.3.2; CQL §10.3.4 Sort orders nulls first, which we do"
    )
    for library in ("GeneticTestingPrepopulation", "LumbarSpineMriPrepopulation")
}
"""(library, error text) -> why cql-execution raising there is its bug, not ours."""


def _normal(value: Any) -> Any:
    """Make encodings comparable: the reference engine has only floats (JSON numbers)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal):
        number = float(value)
        return round(number, 8) if math.isfinite(number) else number
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    return value


VALUESET_FOLDERS = sorted(p.parent for p in ROOT.glob("*/*/valuesets"))
"""Every topic and questionnaire folder with value sets: the pack's whole terminology."""


def _valuesets() -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for folder in VALUESET_FOLDERS:
        out |= load_valuesets(folder)
    return out


@cache
def _engine(folders: tuple[Path, ...]) -> CqlEngine:
    repository = LibraryRepository.from_directories([*folders, FHIRHELPERS_DIR])
    terminology = LocalTerminology()
    for folder in VALUESET_FOLDERS:
        for path in sorted((folder / "valuesets").glob("*.json")):
            terminology.add(json.loads(path.read_text(encoding="utf-8")))
    return CqlEngine(repository, terminology=terminology)


def _ours(
    folders: list[Path], library: str, scenario: Scenario
) -> dict[str, Any] | CqlEvaluationError:
    try:
        result = _engine(tuple(folders)).evaluate(
            library,
            data=BundleDataProvider(scenario.records, patient_id=PATIENT_ID),
            parameters=scenario.parameters,
            now=scenario.now,
        )
    except CqlEvaluationError as error:
        return error
    return encode_result(result)


def _theirs(folders: list[Path], library: str, scenarios: list[Scenario]) -> list[Any]:
    from davinci_pa.cql.translator_refengine import ReferenceCase, run_reference_cases

    cases = [
        ReferenceCase(s.bundle(), s.parameters, s.now.isoformat(timespec="milliseconds"))
        for s in scenarios
    ]
    return run_reference_cases(folders, library, cases, value_sets=_valuesets())


def _differences(ours: Any, theirs: Any) -> dict[str, tuple[Any, Any]]:
    if isinstance(ours, CqlEvaluationError) or isinstance(theirs, CqlEvaluationError):
        if isinstance(ours, CqlEvaluationError) and isinstance(theirs, CqlEvaluationError):
            return {}
        return {"<error>": (str(ours)[:300], str(theirs)[:300])}
    names = set(ours) | set(theirs)
    return {
        name: (ours.get(name), theirs.get(name))
        for name in sorted(names)
        if _normal(ours.get(name)) != _normal(theirs.get(name))
    }


def _explain(library: str, define: str, theirs: Any) -> str | None:
    """The table entry explaining a difference, or None."""
    if (library, define) in EXPECTED_DIFFERENCES:
        return define
    if define == "<error>" and isinstance(theirs, CqlEvaluationError):
        for lib, text in EXPECTED_REFERENCE_ERRORS:
            if lib == library and text in str(theirs):
                return text
    return None


def _compare(rule_folder: Path, folders: list[Path]) -> None:
    library = library_elm(folders[0])["library"]["identifier"]["id"]
    scenarios = topic_scenarios(rule_folder, NOW, folders)
    reference = _theirs(folders, library, scenarios)
    unexplained: list[str] = []
    explained: set[str] = set()
    for scenario, theirs in zip(scenarios, reference, strict=True):
        ours = _ours(folders, library, scenario)
        for define, (mine, other) in _differences(ours, theirs).items():
            entry = _explain(library, define, theirs)
            if entry is not None:
                explained.add(entry)
            else:
                unexplained.append(f"{scenario.name}: {define}: ours {mine!r} != ref {other!r}")
    assert not unexplained, "\n".join(unexplained[:20])
    listed = {
        d for (lib, d) in [*EXPECTED_DIFFERENCES, *EXPECTED_REFERENCE_ERRORS] if lib == library
    }
    assert listed <= explained, f"expected differences no longer seen: {listed - explained}"


@needs_node
@pytest.mark.parametrize("folder", TOPICS, ids=[p.name for p in TOPICS])
def test_rule_library_agrees_with_cql_execution(folder: Path) -> None:
    _compare(folder, [folder])


@needs_node
@pytest.mark.parametrize("folder", PREPOPULATION, ids=[p.name for p in PREPOPULATION])
def test_prepopulation_library_agrees_with_cql_execution(folder: Path) -> None:
    _compare(RULES / folder.name, [folder, QUESTIONNAIRES / "shared"])


def test_scenarios_cover_every_topic_and_both_branches() -> None:
    """The generator gives each topic's RULE_APPLIES both values in our engine."""
    for folder in TOPICS:
        library = library_elm(folder)["library"]["identifier"]["id"]
        applies = set()
        for scenario in topic_scenarios(folder, NOW):
            result = _ours([folder], library, scenario)
            assert not isinstance(result, CqlEvaluationError), (folder.name, scenario.name, result)
            applies.add(result["RULE_APPLIES"])
        assert applies == {True, False}, folder.name


FHIRHELPERS_CHECK = """library FHIRHelpersDiff version '1'
using FHIR version '4.0.1'
include FHIRHelpers version '4.0.1'
parameter quantities List<FHIR.Quantity>
parameter periods List<FHIR.Period>
parameter ranges List<FHIR.Range>
parameter concepts List<FHIR.CodeableConcept>
parameter codings List<FHIR.Coding>
parameter ratios List<FHIR.Ratio>
parameter datetimes List<FHIR.dateTime>
parameter instants List<FHIR.instant>
parameter dates List<FHIR.date>
parameter times List<FHIR.time>
parameter strings List<FHIR.string>
parameter codes List<FHIR.code>
parameter decimals List<FHIR.decimal>
parameter integers List<FHIR.integer>
parameter booleans List<FHIR.boolean>
context Patient
define Quantities: quantities Q return FHIRHelpers.ToQuantity(Q)
define Periods: periods P return FHIRHelpers.ToInterval(P)
define Ranges: ranges R return FHIRHelpers.ToInterval(R)
define Concepts: concepts C return FHIRHelpers.ToConcept(C)
define Codings: codings C return FHIRHelpers.ToCode(C)
define Ratios: ratios R return FHIRHelpers.ToRatio(R)
define DateTimes: datetimes D return FHIRHelpers.ToDateTime(D)
define Instants: instants I return FHIRHelpers.ToDateTime(I)
define Dates: dates D return FHIRHelpers.ToDate(D)
define Times: times T return FHIRHelpers.ToTime(T)
define Strings: strings S return FHIRHelpers.ToString(S)
define Codes: codes C return FHIRHelpers.ToString(C)
define Decimals: decimals D return FHIRHelpers.ToDecimal(D)
define Integers: integers I return FHIRHelpers.ToInteger(I)
define Booleans: booleans B return FHIRHelpers.ToBoolean(B)
define "Implicit Conversion": quantities Q where Q > 5 'mg' return Q.value
define "Implicit Interval": periods P where P overlaps Interval[@2020-01-15, @2020-02-15]
"""
UCUM = "http://unitsofmeasure.org"
CALENDAR = "http://hl7.org/fhirpath/CodeSystem/calendar-units"
# FHIR primitives go in as element JSON ({"value": ...}), as cql-exec-fhir wraps them.
PRIMITIVES: dict[str, list[Any]] = {
    "datetimes": ["2020-01-01", "2020-01-01T10:11:12Z", "2020-01-01T10:11:12.5+02:00", "2021"],
    "instants": ["2020-01-01T10:11:12.123Z", "2020-06-01T00:00:00+05:30"],
    "dates": ["2020-01-01", "2021-02", "2022"],
    "times": ["10:11:12", "23:59:59.999"],
    "strings": ["a", "", "xyz"],
    "codes": ["final", "amended"],
    "decimals": [1.5, 3, 0.1, -2.25],
    "integers": [0, -5, 42],
    "booleans": [True, False],
}
ELEMENTS: dict[str, list[Any]] = {
    "quantities": [
        {"value": 7, "unit": "mg", "system": UCUM, "code": "mg"},
        {"value": 3, "system": CALENDAR, "code": "mo"},
        {"value": 2},
        {"value": 1.5, "unit": "kg"},
        {"value": 120, "code": "mm[Hg]", "system": UCUM},
    ],
    "periods": [
        {"start": "2020-01-01T10:00:00Z"},
        {"end": "2020-02-01"},
        {"start": "2020-01-01", "end": "2020-03-04T05:06:07.123-05:00"},
    ],
    "ranges": [
        {"low": {"value": 1, "code": "mg", "system": UCUM}},
        {
            "low": {"value": 1, "code": "mg", "system": UCUM},
            "high": {"value": 3, "code": "mg", "system": UCUM},
        },
    ],
    "concepts": [
        {"coding": [{"system": "http://loinc.org", "code": "1-8", "display": "x"}], "text": "t"},
        {"coding": [{"system": "s", "code": "a", "version": "2"}, {"system": "s", "code": "b"}]},
    ],
    "codings": [
        {"system": "http://loinc.org", "code": "1-8", "display": "x", "version": "2.7"},
        {"code": "z"},
    ],
    "ratios": [
        {
            "numerator": {"value": 1, "code": "mg", "system": UCUM},
            "denominator": {"value": 2, "code": "mL", "system": UCUM},
        }
    ],
}


@needs_node
def test_fhirhelpers_agrees_with_cql_execution(tmp_path: Path) -> None:
    from davinci_pa.cql.compile import compile_paths
    from davinci_pa.cql.translator_refengine import ReferenceCase, run_reference_cases

    (tmp_path / "FHIRHelpersDiff.cql").write_text(FHIRHELPERS_CHECK, encoding="utf-8")
    compile_paths([tmp_path])
    parameters = {k: [{"value": v} for v in vs] for k, vs in PRIMITIVES.items()} | ELEMENTS
    patient = {"resourceType": "Patient", "id": PATIENT_ID}
    scenario = Scenario("fhirhelpers", [patient], parameters, NOW)
    case = ReferenceCase(scenario.bundle(), parameters, NOW.isoformat())
    (theirs,) = run_reference_cases(tmp_path, "FHIRHelpersDiff", [case])
    ours = _ours([tmp_path], "FHIRHelpersDiff", scenario)
    assert isinstance(ours, dict)
    assert ours["DateTimes"][1] == "2020-01-01T10:11:12+00:00"
    assert _differences(ours, theirs) == {}


@pytest.mark.parametrize(
    ("ours", "theirs", "differs"),
    [
        ({"a": Decimal("1.5")}, {"a": 1.5}, False),
        ({"a": 2}, {"a": 2.0}, False),
        ({"a": [1, {"v": Decimal("0.1")}]}, {"a": [1, {"v": 0.1}]}, False),
        ({"a": 1}, {"a": 2}, True),
        ({"a": "x"}, {"a": None}, True),
        ({"a": 1}, {"a": 1, "b": False}, True),
        ({"a": 1}, CqlEvaluationError("boom"), True),
    ],
)
def test_differences_are_detected(ours: Any, theirs: Any, differs: bool) -> None:
    assert bool(_differences(ours, theirs)) is differs
