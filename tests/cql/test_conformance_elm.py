"""Loading the CQL conformance suite and compiling it to ELM with a content-hash cache."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from davinci_pa.cql import conformance_elm
from davinci_pa.cql.conformance_elm import (
    ConformanceCase,
    ConformanceSuiteError,
    compile_suite,
    load_suite,
)
from davinci_pa.cql.translator_env import node_available
from tests._shared import shared_path

_skip_without_node = pytest.mark.skipif(
    not node_available(), reason="Node.js 18+ and npm are needed to run the CQL translator"
)


def needs_node(test: Callable[..., None]) -> Callable[..., None]:
    """Mark a test ``node`` and skip it when Node.js/npm are absent."""
    marked: Callable[..., None] = pytest.mark.node(_skip_without_node(test))
    return marked


@pytest.fixture(scope="module")
def suite() -> list[ConformanceCase]:
    return load_suite(shared_path("cql-tests"))


def _case(**changes: object) -> ConformanceCase:
    base = {
        "file": "X.xml",
        "suite": "Suite",
        "group": "Some Group",
        "name": "Case-1",
        "expression": "1 + 1",
        "outputs": ("2",),
        "output_types": (None,),
        "invalid": "false",
        "capabilities": (),
        "version": "1.5",
        "version_to": None,
    }
    base.update(changes)
    return ConformanceCase(**base)  # type: ignore[arg-type]


def test_load_suite_reads_every_active_test(suite: list[ConformanceCase]) -> None:
    assert len(suite) == 1823  # 1835 <test> tags, 12 of them inside XML comments
    assert len({c.key for c in suite}) == len(suite)
    invalid = Counter(c.invalid for c in suite)
    assert invalid == {"false": 1783, "true": 35, "semantic": 3, "syntax": 2}
    first = suite[0]
    assert first.key == "CqlAggregateFunctionsTest/AllTrue/AllTrueAllTrue"
    assert (first.expression, first.outputs) == ("AllTrue({true,true})", ("true",))
    assert first.capabilities == ("aggregate-functions",)
    assert first.version == "1.5"


def test_version_to_and_notes_are_kept(suite: list[ConformanceCase]) -> None:
    by_key = {c.key: c for c in suite}
    tz = by_key[
        "CqlDateTimeOperatorsTest/DateTimeComponentFrom/DateTimeComponentFromTimezoneOffset"
    ]
    assert tz.version_to == "1.3"
    assert by_key["CqlTypeOperatorsTest/Is/ValueSetIsVocabulary"].notes


def test_generated_library_shape() -> None:
    case = _case(expression="(\n  3\n)", outputs=("3", "4"), output_types=(None, None))
    assert case.library_name == "Suite_Some_Group_Case_1"
    assert case.cql() == (
        "library Suite_Some_Group_Case_1 version '1.0.0'\n\n"
        'define "expression": (\n  3\n)\n\n'
        'define "output": 3\n\n'
        'define "output 2": 4\n'
    )
    assert list(case.expression_lines()) == [3, 4, 5]
    assert case.output_defines == ("output", "output 2")


@pytest.mark.parametrize(
    ("invalid", "translation", "runtime"),
    [
        ("false", False, False),
        ("semantic", True, False),
        ("syntax", True, False),
        ("true", False, True),
        ("execution", False, True),
    ],
)
def test_invalid_kinds(invalid: str, translation: bool, runtime: bool) -> None:
    case = _case(invalid=invalid)
    assert case.expects_translation_error is translation
    assert case.expects_runtime_error is runtime


def test_load_suite_rejects_an_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(ConformanceSuiteError):
        load_suite(tmp_path)


@needs_node
def test_compile_suite_attributes_errors_and_caches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = [
        _case(name="good"),
        _case(name="badExpression", expression="1 + 'a'"),
        _case(name="badOutput", outputs=("{ 1, ",)),
        _case(name="multiline", expression="Interval[\n 1,\n 5\n] contains 3", outputs=("true",)),
    ]
    lines: list[str] = []
    first = compile_suite(cases, tmp_path, progress=lines.append)
    assert lines[0] == "0 cached, translating 4 conformance cases"
    good, bad_expr, bad_out, multi = (first[c.key] for c in cases)
    assert good.ok
    assert multi.ok
    assert good.elm is not None
    defs = [d["name"] for d in good.elm["library"]["statements"]["def"]]
    assert defs == ["expression", "output"]
    assert bad_expr.expression_errors
    assert not bad_expr.output_errors
    assert bad_out.output_errors
    assert not bad_out.expression_errors

    def no_node(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a warm run must not start the translator")

    monkeypatch.setattr(conformance_elm, "translate_sources", no_node)
    second = compile_suite(cases, tmp_path)
    assert second == first
