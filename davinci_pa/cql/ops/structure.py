"""Literals and selectors: Literal, Null, List, Tuple, Instance, Interval, Code, Concept."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from davinci_pa.cql.compiler import NodeCompiler, node
from davinci_pa.cql.runtime import CqlRuntimeError, Ctx, Fn
from davinci_pa.cql.types import split_qname
from davinci_pa.cql.values.clinical import Code, Concept, ValueSetRef
from davinci_pa.cql.values.decimals import DECIMAL_MAX, check_int, check_long, normalize_decimal
from davinci_pa.cql.values.equality import compare
from davinci_pa.cql.values.interval import Interval
from davinci_pa.cql.values.quantity import Quantity, Ratio
from davinci_pa.cql.values.tuples import CqlTuple
from davinci_pa.errors import ElmLoadError


def literal_value(value_type: str, text: str | None) -> Any:
    """Convert the text of an ELM Literal of a System type to its runtime value."""
    if text is None:
        return None
    name = split_qname(value_type)[1]
    if name in ("Integer", "Long"):
        return int(text)
    if name == "Decimal":
        return Decimal(text)
    if name == "Boolean":
        return text.lower() == "true"
    if name == "String":
        return text
    raise ElmLoadError(f"unsupported literal type {value_type}")


@node("Literal")
def literal(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """A System literal, converted once at compile time (out-of-range literals raise)."""
    value = literal_value(elm.get("valueType", ""), elm.get("value"))
    problem = _out_of_range(split_qname(elm.get("valueType", ""))[1], value)
    if problem is not None:

        def invalid(c: Ctx) -> Any:
            raise CqlRuntimeError(problem)

        return invalid
    return lambda c: value


def _out_of_range(kind: str, value: Any) -> str | None:
    if kind == "Integer" and check_int(value) is None:
        return f"Integer literal {value} is out of range"
    if kind == "Long" and check_long(value) is None:
        return f"Long literal {value} is out of range"
    if kind == "Decimal" and (normalize_decimal(value) != value or abs(value) > DECIMAL_MAX):
        return f"Decimal literal {value} is out of range or has more than 8 decimal places"
    return None


@node("Null")
def null(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """The null literal."""
    return lambda c: None


@node("List")
def list_selector(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """A list selector ``{a, b, c}``."""
    items = [comp.compile(e) for e in elm.get("element", [])]
    if not items:
        return lambda c: []
    return lambda c: [f(c) for f in items]


@node("Tuple")
def tuple_selector(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """A tuple selector ``Tuple { name: value }``."""
    parts = [(e["name"], comp.compile(e["value"])) for e in elm.get("element", [])]
    return lambda c: CqlTuple({name: f(c) for name, f in parts})


@node("Instance")
def instance(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """An instance selector ``Type { element: value }`` of a System or FHIR type."""
    model, name = split_qname(elm.get("classType", ""))
    parts = [(e["name"], comp.compile(e["value"])) for e in elm.get("element", [])]
    if model == "System":
        factory = INSTANCE_FACTORIES.get(name)
        if factory is None:
            raise ElmLoadError(f"cannot construct System.{name}")
        return lambda c: factory({n: f(c) for n, f in parts})

    def fhir_instance(c: Ctx) -> Any:
        obj: dict[str, Any] = {"resourceType": name} if name[:1].isupper() else {}
        for n, f in parts:
            value = f(c)
            if value is not None:
                obj[n] = value
        return obj

    return fhir_instance


def _code(values: dict[str, Any]) -> Code:
    return Code(
        values.get("code"), values.get("system"), values.get("version"), values.get("display")
    )


def _concept(values: dict[str, Any]) -> Concept:
    return Concept(tuple(values.get("codes") or ()), values.get("display"))


def _quantity(values: dict[str, Any]) -> Quantity | None:
    value = values.get("value")
    if value is None:
        return None
    return Quantity(Decimal(value), values.get("unit") or "1")


def _ratio(values: dict[str, Any]) -> Ratio | None:
    numerator, denominator = values.get("numerator"), values.get("denominator")
    if not isinstance(numerator, Quantity) or not isinstance(denominator, Quantity):
        return None
    return Ratio(numerator, denominator)


def _valueset(values: dict[str, Any]) -> ValueSetRef:
    return ValueSetRef(values.get("id") or "", values.get("version"), values.get("name"))


INSTANCE_FACTORIES: dict[str, Any] = {
    "Code": _code,
    "Concept": _concept,
    "Quantity": _quantity,
    "Ratio": _ratio,
    "ValueSet": _valueset,
}


@node("Code")
def code_selector(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """A code selector ``Code '123' from "System" display 'x'``."""
    system = elm.get("system", {})
    lib = comp.library.resolve_library(system.get("libraryName")) or comp.library
    cs = lib.codesystems.get(system.get("name", ""), {})
    value = Code(elm.get("code"), cs.get("id"), cs.get("version"), elm.get("display"))
    return lambda c: value


@node("Concept")
def concept_selector(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """A concept selector ``Concept { codes } display 'x'``."""
    codes = [comp.compile(e) for e in elm.get("code", [])]
    display = elm.get("display")
    return lambda c: Concept(tuple(f(c) for f in codes), display)


@node("Interval")
def interval_selector(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """An interval selector; bounds must be ordered (low <= high) or it is an error."""
    low = comp.compile(elm.get("low"))
    high = comp.compile(elm.get("high"))
    low_closed_expr = elm.get("lowClosedExpression")
    high_closed_expr = elm.get("highClosedExpression")
    low_closed_fn = comp.compile(low_closed_expr) if low_closed_expr else None
    high_closed_fn = comp.compile(high_closed_expr) if high_closed_expr else None
    lc = bool(elm.get("lowClosed", True))
    hc = bool(elm.get("highClosed", True))

    def select(c: Ctx) -> Interval:
        lo, hi = low(c), high(c)
        lcl = lc if low_closed_fn is None else bool(low_closed_fn(c))
        hcl = hc if high_closed_fn is None else bool(high_closed_fn(c))
        if lo is not None and hi is not None:
            order = compare(lo, hi)
            if order is not None and (order > 0 or (order == 0 and not (lcl and hcl))):
                raise CqlRuntimeError(f"invalid interval: low {lo} is after high {hi}")
        return Interval(lo, hi, lcl, hcl)

    return select
