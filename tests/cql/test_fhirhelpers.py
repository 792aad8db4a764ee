"""Our FHIRHelpers 4.0.1: it defines every conversion the FHIR 4.0.1 model info declares."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from davinci_pa.cql.compile import FHIRHELPERS_DIR
from davinci_pa.cql.translator_env import ensure_toolchain, node_available

ELM = FHIRHELPERS_DIR / "FHIRHelpers-4.0.1.json"
FHIR_NS = "{http://hl7.org/fhir}"

_skip_without_node = pytest.mark.skipif(
    not node_available(), reason="Node.js 18+ and npm are needed for the FHIR model info"
)


def needs_node(test: Callable[..., None]) -> Callable[..., None]:
    """Mark a test ``node`` and skip it when Node.js/npm are absent."""
    marked: Callable[..., None] = pytest.mark.node(_skip_without_node(test))
    return marked


@cache
def _signatures() -> dict[tuple[str, str], dict[str, Any]]:
    """(function name, FHIR operand type) -> FunctionDef of the committed ELM."""
    library = json.loads(ELM.read_text(encoding="utf-8"))["library"]
    found = {}
    for define in library["statements"]["def"]:
        if define.get("type") != "FunctionDef":
            continue
        operands = define["operand"]
        assert len(operands) == 1, define["name"]
        type_name = operands[0]["operandTypeSpecifier"]["name"]
        found[(define["name"], type_name.replace(FHIR_NS, "FHIR."))] = define
    return found


def test_library_identity_and_model() -> None:
    library = json.loads(ELM.read_text(encoding="utf-8"))["library"]
    assert library["identifier"] == {"id": "FHIRHelpers", "version": "4.0.1"}
    usings = {u["localIdentifier"]: u.get("version") for u in library["usings"]["def"]}
    assert usings["FHIR"] == "4.0.1"


@pytest.mark.parametrize(
    ("function", "fhir_type"),
    [
        ("ToCode", "FHIR.Coding"),
        ("ToConcept", "FHIR.CodeableConcept"),
        ("ToQuantity", "FHIR.Quantity"),
        ("ToRatio", "FHIR.Ratio"),
        ("ToInterval", "FHIR.Period"),
        ("ToInterval", "FHIR.Range"),
        ("ToString", "FHIR.string"),
        ("ToString", "FHIR.uri"),
        ("ToString", "FHIR.xhtml"),
        ("ToString", "FHIR.base64Binary"),
        ("ToString", "FHIR.AdministrativeGender"),
        ("ToBoolean", "FHIR.boolean"),
        ("ToInteger", "FHIR.integer"),
        ("ToDecimal", "FHIR.decimal"),
        ("ToDate", "FHIR.date"),
        ("ToDateTime", "FHIR.dateTime"),
        ("ToDateTime", "FHIR.instant"),
        ("ToTime", "FHIR.time"),
    ],
)
def test_core_conversions_are_defined(function: str, fhir_type: str) -> None:
    assert (function, fhir_type) in _signatures()


def test_quantity_conversion_guards_comparator_and_unit_system() -> None:
    text = json.dumps(_signatures()[("ToQuantity", "FHIR.Quantity")]["expression"])
    assert text.count('"type": "Message"') == 2
    assert "http://unitsofmeasure.org" in text
    assert "http://hl7.org/fhirpath/CodeSystem/calendar-units" in text


@needs_node
def test_every_model_info_conversion_is_defined() -> None:
    modules = ensure_toolchain().modules_dir
    model_info = modules / "cql-exec-fhir" / "lib" / "modelInfos" / "fhir-modelinfo-4.0.1.xml"
    declared = set(
        re.findall(
            r'<conversionInfo functionName="FHIRHelpers\.(\w+)" fromType="([\w.]+)"',
            Path(model_info).read_text(encoding="utf-8"),
        )
    )
    assert len(declared) > 250
    missing = sorted(declared - set(_signatures()))
    assert not missing, f"FHIRHelpers lacks conversions declared by the model info: {missing}"


CONVERSIONS_CQL = """library FHIRHelpersCheck version '1'
using FHIR version '4.0.1'
include FHIRHelpers version '4.0.1'
parameter qty FHIR.Quantity
parameter period FHIR.Period
parameter range FHIR.Range
parameter cc FHIR.CodeableConcept
parameter ratio FHIR.Ratio
context Patient
define "Quantity": FHIRHelpers.ToQuantity(qty)
define "Period": FHIRHelpers.ToInterval(period)
define "Range": FHIRHelpers.ToInterval(range)
define "Concept": FHIRHelpers.ToConcept(cc)
define "Ratio": FHIRHelpers.ToRatio(ratio)
define "Implicit": qty > 5 'mg'
"""

UCUM = "http://unitsofmeasure.org"
CALENDAR = "http://hl7.org/fhirpath/CodeSystem/calendar-units"
PATIENT = {"resource": {"resourceType": "Patient", "id": "p1"}}


@pytest.fixture(scope="module")
def conversions_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from davinci_pa.cql.compile import compile_paths

    folder = tmp_path_factory.mktemp("fhirhelpers-check")
    (folder / "FHIRHelpersCheck.cql").write_text(CONVERSIONS_CQL, encoding="utf-8")
    compile_paths([folder])
    return folder


def _evaluate(folder: Path, **parameters: Any) -> dict[str, Any]:
    from davinci_pa.cql.translator_refengine import run_reference_engine

    # cql-execution only calls included libraries from the Patient context.
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [PATIENT]}
    return run_reference_engine(folder, "FHIRHelpersCheck", bundle, parameters)


@needs_node
def test_conversions_through_the_reference_engine(conversions_dir: Path) -> None:
    results = _evaluate(
        conversions_dir,
        qty={"value": 7, "unit": "mg", "system": UCUM, "code": "mg"},
        period={"start": "2020-01-01T10:00:00Z"},
        range={"low": {"value": 1, "code": "mg", "system": UCUM}},
        cc={"coding": [{"system": "http://loinc.org", "code": "1-8"}], "text": "t"},
        ratio={"numerator": {"value": 1, "code": "mg"}, "denominator": {"value": 2, "code": "mL"}},
    )
    assert results["Quantity"] == {"value": 7, "unit": "mg"}
    assert results["Implicit"] is True
    assert results["Period"] == {
        "low": "2020-01-01T10:00:00+00:00",
        "high": None,
        "lowClosed": True,
        "highClosed": True,
    }
    assert results["Range"]["low"] == {"value": 1, "unit": "mg"}
    assert results["Range"]["high"] is None
    assert results["Concept"] == {
        "codes": [{"code": "1-8", "system": "http://loinc.org"}],
        "display": "t",
    }
    assert results["Ratio"] == {
        "numerator": {"value": 1, "unit": "mg"},
        "denominator": {"value": 2, "unit": "mL"},
    }


@needs_node
@pytest.mark.parametrize(
    ("qty", "expected"),
    [
        ({"value": 3, "system": CALENDAR, "code": "mo"}, {"value": 3, "unit": "month"}),
        ({"value": 3, "system": UCUM, "code": "mo"}, {"value": 3, "unit": "mo"}),
        ({"value": 2}, {"value": 2, "unit": "1"}),
        ({"unit": "mg"}, None),
    ],
)
def test_quantity_units(conversions_dir: Path, qty: dict[str, Any], expected: Any) -> None:
    assert _evaluate(conversions_dir, qty=qty)["Quantity"] == expected


@needs_node
def test_period_without_start_has_an_unknown_low_bound(conversions_dir: Path) -> None:
    period = _evaluate(conversions_dir, period={"end": "2020-02-01"})["Period"]
    assert period == {"low": None, "high": "2020-02-01", "lowClosed": False, "highClosed": True}


@needs_node
@pytest.mark.parametrize(
    ("qty", "message"),
    [
        ({"value": 5, "comparator": "<", "code": "mg", "system": UCUM}, "comparator <"),
        ({"value": 5, "code": "TAB", "system": "http://example.org/forms"}, "must be UCUM"),
    ],
)
def test_quantity_that_cannot_convert_raises(
    conversions_dir: Path, qty: dict[str, Any], message: str
) -> None:
    from davinci_pa.errors import CqlEvaluationError

    with pytest.raises(CqlEvaluationError, match=message):
        _evaluate(conversions_dir, qty=qty)
