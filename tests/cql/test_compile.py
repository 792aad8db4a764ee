"""CQL -> ELM compilation through the official translator (node tests skip without Node)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from davinci_pa.cql import translator_env
from davinci_pa.cql.compile import (
    CqlTranslationError,
    Diagnostic,
    compile_paths,
    elm_text,
    prune_result_types,
    translate_sources,
    unwrap_retrieve_code_lists,
)
from davinci_pa.cql.translator_env import NodeToolchainError, find_node, node_available

_skip_without_node = pytest.mark.skipif(
    not node_available(), reason="Node.js 18+ and npm are needed to run the CQL translator"
)


def needs_node(test: Callable[..., None]) -> Callable[..., None]:
    """Mark a test ``node`` and skip it when Node.js/npm are absent."""
    marked: Callable[..., None] = pytest.mark.node(_skip_without_node(test))
    return marked


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _defs(elm: dict[str, Any]) -> dict[str, Any]:
    return {d["name"]: d for d in elm["library"]["statements"]["def"]}


def _retrieve(codes: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Retrieve", "dataType": "{http://hl7.org/fhir}Condition", "codes": codes}


REF = {"type": "ExpressionRef", "name": "Codes"}


@pytest.mark.parametrize(
    ("node", "changed", "codes_after"),
    [
        (_retrieve({"type": "ToList", "operand": REF}), 1, REF),
        (_retrieve({"type": "ToList", "operand": {"type": "CodeRef", "name": "C"}}), 0, "ToList"),
        (_retrieve({"type": "ValueSetRef", "name": "VS"}), 0, "ValueSetRef"),
        ({"type": "ToList", "operand": REF}, 0, None),
    ],
)
def test_unwrap_retrieve_code_lists(node: dict[str, Any], changed: int, codes_after: Any) -> None:
    wrapped = {
        "library": {
            "statements": {
                "def": [{"expression": {"type": "Query", "source": [{"expression": node}]}}]
            }
        }
    }
    assert unwrap_retrieve_code_lists(wrapped) == changed
    codes = node.get("codes")
    if isinstance(codes_after, dict):
        assert codes == codes_after
    elif codes_after is not None:
        assert codes["type"] == codes_after


def test_elm_text_is_stable_and_keeps_key_order() -> None:
    elm = {"library": {"b": 1, "a": ["é", {"z": None}]}}
    text = elm_text(elm)
    assert text == elm_text(json.loads(text))
    assert text.endswith("}\n")
    assert text.index('"b"') < text.index('"a"')
    assert "é" in text


def test_diagnostic_renders_position() -> None:
    diag = Diagnostic("error", "syntax", "Syntax error at <EOF>", "Q|1", 5, 3)
    assert str(diag) == "Q|1:5:3: syntax error: Syntax error at <EOF>"


def test_missing_node_raises_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    with pytest.raises(NodeToolchainError, match="needs Node.js 18\\+ and npm"):
        find_node()
    assert not translator_env.node_available()


@needs_node
def test_compile_paths_resolves_includes_across_folders(tmp_path: Path) -> None:
    _write(
        tmp_path / "rules" / "Main.cql",
        """library Main version '1.0.0'
include Shared version '2.0.0' called S
define "Answer": S."Base" + 1
""",
    )
    _write(tmp_path / "lib" / "Shared.cql", "library Shared version '2.0.0'\ndefine \"Base\": 41\n")
    written = compile_paths([tmp_path / "rules"], include_dirs=[tmp_path / "lib"])
    assert written == [tmp_path / "rules" / "Main.json"]
    text = written[0].read_text(encoding="utf-8")
    assert text == elm_text(json.loads(text))
    elm = json.loads(text)
    assert elm["library"]["identifier"] == {"id": "Main", "version": "1.0.0"}
    assert elm["library"]["includes"]["def"][0]["path"] == "Shared"
    answer = _defs(elm)["Answer"]["expression"]
    assert answer["type"] == "Add"
    assert "locator" in answer
    info = elm["library"]["annotation"][0]
    assert info["translatorOptions"] == "EnableAnnotations,EnableLocators,EnableResultTypes"


@needs_node
def test_compile_paths_out_dir_and_determinism(tmp_path: Path) -> None:
    src = _write(tmp_path / "src" / "Lib.cql", "library Lib\ndefine X: Interval[1, 5] contains 3\n")
    first = compile_paths([src], out_dir=tmp_path / "a")
    second = compile_paths([src], out_dir=tmp_path / "b")
    assert first == [tmp_path / "a" / "Lib.json"]
    assert first[0].read_bytes() == second[0].read_bytes()


@needs_node
def test_compile_paths_reports_every_error_and_writes_nothing(tmp_path: Path) -> None:
    good = _write(tmp_path / "Good.cql", "library Good\ndefine X: 1\n")
    bad = _write(tmp_path / "Bad.cql", "library Bad\ndefine X: 1 + 'a'\ndefine Y: 5 'furlongs'\n")
    with pytest.raises(CqlTranslationError) as caught:
        compile_paths([good, bad])
    problems = caught.value.details["problems"]
    assert len(problems) == 2
    assert problems[0].startswith(f"{bad}:2:")
    assert "operator Add" in problems[0]
    assert "UCUM" in problems[1]
    assert not (tmp_path / "Good.json").exists()


@needs_node
def test_translate_sources_in_memory_with_mutual_includes() -> None:
    sources = {
        "one": "library One version '1'\ninclude Two version '1'\ndefine A: Two.B * 2\n",
        "two": "library Two version '1'\ndefine B: 21\n",
        "broken": "library Broken\ndefine C: (\n",
    }
    seen: list[str] = []
    results = translate_sources(sources, progress=lambda r: seen.append(r.key))
    assert seen == ["one", "two", "broken"]
    assert results["one"].ok
    assert results["one"].library_id == "One"
    assert results["one"].library_version == "1"
    broken = results["broken"]
    assert not broken.ok
    assert broken.errors[0].kind == "syntax"
    assert broken.elm is not None


@needs_node
def test_list_promotion_stays_on() -> None:
    source = "library P\ndefine X: exists (1)\ndefine Y: singleton from 5 in {5}\n"
    result = translate_sources({"p": source})["p"]
    assert result.ok, result.errors
    assert _defs(result.elm or {})["X"]["expression"]["operand"]["type"] == "ToList"


REFERENCE_CQL = """library RefCheck version '1.0.0'
using FHIR version '4.0.1'
include FHIRHelpers version '4.0.1'
codesystem "ICD10": 'http://hl7.org/fhir/sid/icd-10-cm'
valueset "COPD VS": 'http://example.org/ValueSet/copd'
code "COPD": 'J44.9' from "ICD10" display 'COPD'
parameter "Cutoff" DateTime
parameter "Limits" Interval<Integer>
parameter device_request DeviceRequest
context Patient
define "Gender": Patient.gender
define "Codes": { "COPD" }
define "Conditions": [Condition: "Codes"]
define "In VS": exists [Condition: "COPD VS"]
define "Device": device_request.code as FHIR.CodeableConcept
define "Cutoff out": "Cutoff"
define "Limits out": "Limits"
define "Now": Now()
define "Time": @T10:30
define "Tuple": Tuple { a: 1, b: 'x', c: { 1.5, null } }
define "Uncertain": months between @2020 and @2021-06
define function Double(x Integer): x * 2
define "Doubled": Double(21)
"""

CONDITION = {
    "resourceType": "Condition",
    "id": "c1",
    "subject": {"reference": "Patient/p1"},
    "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "J44.9"}]},
}
BUNDLE = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [
        {"resource": {"resourceType": "Patient", "id": "p1", "gender": "female"}},
        {"resource": CONDITION},
    ],
}


@needs_node
def test_reference_engine_encodes_results_like_cql_eval(tmp_path: Path) -> None:
    from davinci_pa.cql.translator_refengine import (
        benchmark_reference_engine,
        run_reference_engine,
    )

    _write(tmp_path / "RefCheck.cql", REFERENCE_CQL)
    compile_paths([tmp_path])
    device = {
        "resourceType": "DeviceRequest",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "codeCodeableConcept": {"coding": [{"system": "urn:x", "code": "E0424"}]},
    }
    parameters = {
        "Cutoff": "2020-05-01T10:00:00.000Z",
        "Limits": {"low": 1, "high": 5, "lowClosed": True, "highClosed": False},
        "device_request": device,
    }
    value_sets = {"http://example.org/ValueSet/copd": [CONDITION["code"]["coding"][0]]}
    now = "2020-05-01T12:00:00.000-05:00"
    results = run_reference_engine(
        tmp_path, "RefCheck", BUNDLE, parameters, now, value_sets=value_sets
    )
    assert results["Gender"] == "female"
    assert results["Codes"] == [
        {"code": "J44.9", "system": "http://hl7.org/fhir/sid/icd-10-cm", "display": "COPD"}
    ]
    assert results["Conditions"] == [CONDITION]
    assert results["In VS"] is True
    assert results["Device"] == device["codeCodeableConcept"]
    assert results["Cutoff out"] == "2020-05-01T10:00:00.000+00:00"
    assert results["Limits out"] == parameters["Limits"]
    assert results["Now"] == now
    assert results["Time"] == "10:30"
    assert results["Tuple"] == {"a": 1, "b": "x", "c": [1.5, None]}
    assert results["Uncertain"] == {"low": 5, "high": 17}
    assert results["Doubled"] == 42
    assert "Double" not in results

    timing = benchmark_reference_engine(tmp_path, "RefCheck", BUNDLE, parameters, now, runs=3)
    assert timing.runs == 3
    assert 0 < timing.min_ms <= timing.median_ms <= timing.max_ms


@needs_node
def test_cql_compile_prints_every_error_as_file_line_col(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`davinci-pa cql compile`: every translator error, not the first, as file:line:col."""
    from davinci_pa.cli import main

    _write(
        tmp_path / "Bad.cql",
        "library Bad\ndefine X: 1 + 'a'\ndefine Y: Foo\n"
        "define Z: [Observation] O where O.nope = 1\n",
    )
    monkeypatch.chdir(tmp_path)
    assert main(["cql", "compile", "Bad.cql"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("Bad.cql:2:11: error: Could not resolve call to operator Add")
    assert err[1].startswith("Bad.cql:3:11: error: Could not resolve identifier Foo")
    assert err[2].startswith("Bad.cql:4:")
    assert err[-1] == "3 error(s); nothing written"
    assert not (tmp_path / "Bad.json").exists()


def test_prune_result_types_keeps_only_temporal_property_types() -> None:
    """The engine needs the type of a FHIR date/dateTime ``.value``; nothing else is kept."""
    date_time = "{urn:hl7-org:elm-types:r1}DateTime"
    elm = {
        "type": "Equal",
        "resultTypeName": "{urn:hl7-org:elm-types:r1}Boolean",
        "operand": [
            {"type": "Property", "path": "value", "resultTypeName": date_time},
            {"type": "Property", "path": "code", "resultTypeName": "{http://hl7.org/fhir}code"},
            {"type": "List", "resultTypeSpecifier": {"type": "ListTypeSpecifier"}},
        ],
    }
    prune_result_types(elm)
    assert elm == {
        "type": "Equal",
        "operand": [
            {"type": "Property", "path": "value", "resultTypeName": date_time},
            {"type": "Property", "path": "code"},
            {"type": "List"},
        ],
    }
