"""Our FHIRHelpers 4.0.1: it defines every conversion the FHIR 4.0.1 model info declares."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from davinci_pa.cql.compile import FHIRHELPERS_DIR
from davinci_pa.cql.translator_env import ensure_toolchain, node_available

ELM = FHIRHELPERS_DIR / "FHIRHelpers-4.0.1.json"
FHIR_NS = "{http://hl7.org/fhir}"

needs_node = pytest.mark.skipif(
    not node_available(), reason="Node.js 18+ and npm are needed for the FHIR model info"
)


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
