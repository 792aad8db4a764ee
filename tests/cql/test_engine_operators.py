"""Operator semantics on hand-written ELM, with hand-checked expectations.

Covers three-valued logic, null propagation, equality versus equivalence, Decimal precision,
intervals with open and null bounds, list set operators, strings and aggregates.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from davinci_pa.cql import CqlEngine, LibraryRepository
from davinci_pa.cql.ops.comparison import equal_op, greater, less
from davinci_pa.cql.values.clinical import Code, Concept
from davinci_pa.cql.values.interval import Interval
from davinci_pa.cql.values.quantity import Quantity, Ratio
from davinci_pa.cql.values.temporal_between import Uncertainty
from davinci_pa.errors import CqlEvaluationError

SYS = "{urn:hl7-org:elm-types:r1}"


def lit(value: Any) -> dict[str, Any]:
    if value is None:
        return {"type": "Null"}
    if isinstance(value, bool):
        return {"type": "Literal", "valueType": SYS + "Boolean", "value": str(value).lower()}
    if isinstance(value, int):
        return {"type": "Literal", "valueType": SYS + "Integer", "value": str(value)}
    if isinstance(value, Decimal):
        return {"type": "Literal", "valueType": SYS + "Decimal", "value": str(value)}
    return {"type": "Literal", "valueType": SYS + "String", "value": value}


def op(kind: str, *operands: dict[str, Any], **attrs: Any) -> dict[str, Any]:
    return {"type": kind, "operand": list(operands), **attrs}


def lst(*items: Any) -> dict[str, Any]:
    return {"type": "List", "element": [i if isinstance(i, dict) else lit(i) for i in items]}


def ivl(low: Any, high: Any, lc: bool = True, hc: bool = True) -> dict[str, Any]:
    return {
        "type": "Interval",
        "low": lit(low),
        "high": lit(high),
        "lowClosed": lc,
        "highClosed": hc,
    }


def code(c: str, system: str) -> dict[str, Any]:
    return {
        "type": "Instance",
        "classType": SYS + "Code",
        "element": [{"name": "code", "value": lit(c)}, {"name": "system", "value": lit(system)}],
    }


def library(defines: dict[str, dict[str, Any]], name: str = "T") -> dict[str, Any]:
    statements = [{"name": k, "context": "Unfiltered", "expression": v} for k, v in defines.items()]
    return {
        "library": {"identifier": {"id": name, "version": "1"}, "statements": {"def": statements}}
    }


def run(expression: dict[str, Any]) -> Any:
    engine = CqlEngine(LibraryRepository([library({"X": expression})]))
    return engine.evaluate("T", defines=["X"])["X"]


D = Decimal


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (op("And", lit(True), lit(None)), None),
        (op("And", lit(False), lit(None)), False),
        (op("Or", lit(None), lit(True)), True),
        (op("Or", lit(None), lit(False)), None),
        (op("Implies", lit(False), lit(None)), True),
        (op("Implies", lit(None), lit(False)), None),
        (op("Xor", lit(True), lit(None)), None),
        (op("Not", lit(None)), None),
        (op("IsNull", lit(None)), True),
        (op("IsFalse", lit(None)), False),
        (op("Coalesce", lit(None), lit(None), lit(3)), 3),
    ],
)
def test_three_valued_logic(expression: dict[str, Any], expected: Any) -> None:
    assert run(expression) is expected or run(expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (op("Add", lit(1), lit(None)), None),
        (op("Add", lit(2147483647), lit(1), signature=[{"name": SYS + "Integer"}] * 2), None),
        (op("Divide", lit(D("1.0")), lit(D("3.0"))), D("0.33333333")),
        (op("Divide", lit(D("1.0")), lit(D("0.0"))), None),
        (op("TruncatedDivide", lit(-7), lit(2)), -3),
        (op("Modulo", lit(-7), lit(2)), -1),
        (op("Power", lit(2), lit(-1)), D("0.5")),
        (op("Negate", lit(5)), -5),
        (op("Negate", lit(2147483648)), -2147483648),  # minimum Integer, folded
        ({"type": "Round", "operand": lit(D("-0.5"))}, D("-1")),
        ({"type": "Round", "operand": lit(D("3.14159")), "precision": lit(2)}, D("3.14")),
        (op("Ceiling", lit(D("1.1"))), 2),
        (op("Floor", lit(D("-1.1"))), -2),
        (op("Successor", lit(D("1.0"))), D("1.00000001")),
    ],
)
def test_arithmetic(expression: dict[str, Any], expected: Any) -> None:
    assert run(expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (op("Equal", lit("a"), lit("A")), False),
        (op("Equivalent", lit("a  b"), lit("A B")), True),
        (op("Equal", lit(None), lit(None)), None),
        (op("Equivalent", lit(None), lit(None)), True),
        (op("Equivalent", lit(1), lit(None)), False),
        (op("Equal", lst(1, None), lst(1, None)), True),
        (op("Equal", lst(1, None), lst(1, 2)), None),
        (op("Equivalent", lst(1, None), lst(1, None)), True),
        (op("Equal", lit(D("1.0")), lit(D("1.00"))), True),
        (op("Equal", code("1", "s"), code("1", "s")), True),
        (op("Equivalent", code("1", "s"), code("2", "s")), False),
        (op("Less", lit("a"), lit("b")), True),
        (op("GreaterOrEqual", lit(None), lit(1)), None),
    ],
)
def test_equality_and_equivalence(expression: dict[str, Any], expected: Any) -> None:
    assert run(expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (op("Contains", ivl(1, 5, hc=False), lit(5)), False),
        (op("In", lit(5), ivl(1, None, hc=True)), True),
        (op("In", lit(5), ivl(1, None, hc=False)), None),
        (op("Overlaps", ivl(1, 5), ivl(5, 9)), True),
        (op("Meets", ivl(1, 4), ivl(5, 9)), True),
        (op("Before", ivl(1, 4), ivl(5, 9)), True),
        (op("Equal", ivl(1, 5, hc=False), ivl(1, 4)), True),
        (op("Union", ivl(1, 4), ivl(5, 9)), Interval(1, 9)),
        (op("Intersect", ivl(1, 6), ivl(4, 9)), Interval(4, 6)),
        (op("Except", ivl(1, 9), ivl(5, 12)), Interval(1, 4)),
        (op("Start", ivl(1, 5, lc=False)), 2),
        (op("Width", ivl(3, 7)), 4),
        (
            {"type": "Collapse", "operand": [lst(ivl(1, 3), ivl(4, 6), ivl(9, 10))]},
            [Interval(1, 6), Interval(9, 10)],
        ),
    ],
)
def test_intervals(expression: dict[str, Any], expected: Any) -> None:
    assert run(expression) == expected


def test_invalid_interval_is_an_error() -> None:
    with pytest.raises(CqlEvaluationError, match="invalid interval"):
        run(ivl(5, 1))


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (op("Union", lst(1, 2, 2), lst(2, 3)), [1, 2, 3]),
        (op("Except", lst(1, 2, 3), lst(2)), [1, 3]),
        (op("Intersect", lst(1, 2, 3), lst(3, 2, 9)), [2, 3]),
        (op("Union", lst(1), lit(None)), [1]),
        (op("Distinct", lst(1, None, 1, None)), [1, None]),
        (op("Flatten", lst(lst(1, 2), lst(3))), [1, 2, 3]),
        ({"type": "First", "source": lst()}, None),
        ({"type": "Last", "source": lst(1, 2)}, 2),
        (op("Exists", lst(None)), False),
        (op("In", lit(None), lst(1, None)), True),  # suite: In/InNullAnd1Null
        (op("In", lit(None), lst()), False),  # suite: In/InNullEmpty
        (op("In", lit(None), lst(1, 2)), None),  # suite: IncludedIn/IncludedInNullLeft
        (op("ProperContains", lst("a", "b"), lit("a")), True),
        (op("ProperContains", lst("a", None), lit("a")), None),
        (op("Includes", lst(1, 2, 3), lst(3, 1)), True),
        (op("ProperIncludes", lst(1, 2), lst(1, 2)), False),
        (op("Indexer", lst(1, 2), lit(5)), None),
        (op("SingletonFrom", lst()), None),
    ],
)
def test_lists(expression: dict[str, Any], expected: Any) -> None:
    assert run(expression) == expected


def test_singleton_from_many_names_define_and_locator() -> None:
    expression = {**op("SingletonFrom", lst(1, 2)), "locator": "3:5-3:20"}
    with pytest.raises(CqlEvaluationError) as caught:
        run(expression)
    message = str(caught.value)
    assert "library T" in message
    assert "'X'" in message
    assert "3:5-3:20" in message


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (op("Concatenate", lit("a"), lit(None)), None),
        ({"type": "Combine", "source": lst("a", None, "b"), "separator": lit("-")}, "a-b"),
        ({"type": "Split", "stringToSplit": lit("a,b"), "separator": lit(",")}, ["a", "b"]),
        (
            {
                "type": "Substring",
                "stringToSub": lit("hello"),
                "startIndex": lit(1),
                "length": lit(3),
            },
            "ell",
        ),
        ({"type": "PositionOf", "pattern": lit("l"), "string": lit("hello")}, 2),
        (op("Matches", lit("abc"), lit("a.c")), True),
        (op("ReplaceMatches", lit("a1b2"), lit("[0-9]"), lit("#")), "a#b#"),
        (op("Upper", lit("abc")), "ABC"),
        ({"type": "Length", "operand": lit(None)}, None),
    ],
)
def test_strings(expression: dict[str, Any], expected: Any) -> None:
    assert run(expression) == expected


@pytest.mark.parametrize(
    ("kind", "items", "expected"),
    [
        ("Count", [1, None, 3], 2),
        ("Sum", [1, 2, None], 3),
        ("Sum", [], None),
        ("Min", [3, None, 1], 1),
        ("Max", ["a", "c", "b"], "c"),
        ("Avg", [1, 2], D("1.5")),
        ("Median", [3, 1, 2, 4], D("2.5")),
        ("Mode", [1, 2, 2, 3], 2),
        ("AllTrue", [], True),
        ("AllTrue", [None, True, True], True),
        ("AllTrue", [None, False], False),
        ("AnyTrue", [None, False], False),
        ("PopulationVariance", [D("1.0"), D("3.0")], D("1.0")),
    ],
)
def test_aggregates(kind: str, items: list[Any], expected: Any) -> None:
    assert run({"type": kind, "source": lst(*items)}) == expected


def _alias(name: str) -> dict[str, Any]:
    return {"type": "AliasRef", "name": name}


def test_query_where_return_sort_and_let() -> None:
    query = {
        "type": "Query",
        "source": [{"alias": "X", "expression": lst(3, 1, 2, 3)}],
        "let": [{"identifier": "Y", "expression": op("Multiply", _alias("X"), lit(10))}],
        "where": op("Greater", _alias("X"), lit(1)),
        "return": {"expression": {"type": "QueryLetRef", "name": "Y"}},
        "sort": {"by": [{"type": "ByDirection", "direction": "desc"}]},
    }
    assert run(query) == [30, 20]


def test_query_multi_source_with_relationship_and_aggregate() -> None:
    pairs = {
        "type": "Query",
        "source": [
            {"alias": "A", "expression": lst(1, 2)},
            {"alias": "B", "expression": lst(10, 20)},
        ],
        "relationship": [
            {
                "type": "Without",
                "alias": "Z",
                "expression": lst(21),
                "suchThat": op(
                    "Equal", {"type": "AliasRef", "name": "Z"}, op("Add", _alias("A"), _alias("B"))
                ),
            }
        ],
        "aggregate": {
            "identifier": "Acc",
            "starting": lit(0),
            "expression": op(
                "Add", {"type": "AliasRef", "name": "Acc"}, op("Add", _alias("A"), _alias("B"))
            ),
        },
    }
    assert run(pairs) == (11 + 12 + 22)


def test_query_aliases_do_not_leak_between_nested_queries() -> None:
    inner = {
        "type": "Query",
        "source": [{"alias": "X", "expression": lst(5)}],
        "return": {"expression": _alias("X")},
    }
    outer = {
        "type": "Query",
        "source": [{"alias": "X", "expression": lst(1, 2)}],
        "return": {
            "expression": op("Add", _alias("X"), op("SingletonFrom", inner)),
            "distinct": False,
        },
    }
    assert run(outer) == [6, 7]


def test_singleton_source_query_returns_a_value() -> None:
    query = {
        "type": "Query",
        "source": [{"alias": "X", "expression": lit(4)}],
        "where": op("Greater", _alias("X"), lit(5)),
    }
    assert run(query) is None


def test_concept_to_concept_conversion() -> None:
    assert run(op("ToConcept", code("1", "s"))) == Concept((Code("1", "s"),))


def test_ln_of_a_negative_is_null_and_of_zero_an_error() -> None:
    assert run(op("Ln", lit(-1))) is None
    with pytest.raises(CqlEvaluationError):
        run(op("Ln", lit(0)))


def test_children_and_descendents() -> None:
    tup = {
        "type": "Tuple",
        "element": [
            {"name": "a", "value": lit(1)},
            {"name": "b", "value": lst(2, 3)},
        ],
    }
    assert run({"type": "Descendents", "source": lit(None)}) is None
    assert run({"type": "Children", "source": tup}) == [1, 2, 3]
    assert run({"type": "Descendents", "source": tup}) == [1, 2, 3]


def test_system_quantity_and_ratio_instance_selectors() -> None:
    def quantity(value: int, unit: str) -> dict[str, Any]:
        return {
            "type": "Instance",
            "classType": SYS + "Quantity",
            "element": [
                {"name": "value", "value": lit(value)},
                {"name": "unit", "value": lit(unit)},
            ],
        }

    ratio = {
        "type": "Instance",
        "classType": SYS + "Ratio",
        "element": [
            {"name": "numerator", "value": quantity(1, "mg")},
            {"name": "denominator", "value": quantity(2, "mL")},
        ],
    }
    assert run(quantity(12, "mo")) == Quantity(D(12), "mo")
    assert run(ratio) == Ratio(Quantity(D(1), "mg"), Quantity(D(2), "mL"))


def test_comparisons_with_an_uncertain_duration() -> None:
    """``months between DateTime(2005) and DateTime(2006, 2) > 5`` is null (CQL §Uncertainty)."""
    assert greater(Uncertainty(1, 13), 5) is None
    assert greater(Uncertainty(6, 13), 5) is True
    assert less(Uncertainty(6, 13), 5) is False
    assert equal_op(Uncertainty(1, 3), 7) is False
    assert equal_op(Uncertainty(1, 3), 2) is None
