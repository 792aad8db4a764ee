"""Queries (CQL §5 / ELM Query): sources, let, with/without, where, return, aggregate, sort.

Aliases and let variables are bound in place on the current context's ``vars`` and restored
afterwards, so a row costs no allocation beyond its result.
"""

from __future__ import annotations

import itertools
from functools import cmp_to_key
from typing import Any

from davinci_pa.cql.compiler import NodeCompiler, node
from davinci_pa.cql.model import (
    TEMPORAL_ELEMENTS,
    TEMPORAL_PRIMITIVES,
    choice_value,
    get_property,
    temporal_value,
)
from davinci_pa.cql.ops.lists import distinct
from davinci_pa.cql.ops.temporal import TEMPORAL
from davinci_pa.cql.runtime import MISSING, Ctx, Fn
from davinci_pa.cql.types import split_qname
from davinci_pa.cql.values.equality import compare
from davinci_pa.cql.values.tuples import CqlTuple

THIS = "$this"


class _Plan:
    """The compiled clauses of one query."""

    def __init__(self, comp: NodeCompiler, elm: dict[str, Any]) -> None:
        self.sources = [(s["alias"], comp.compile(s["expression"])) for s in elm["source"]]
        self.lets = [(d["identifier"], comp.compile(d["expression"])) for d in elm.get("let", [])]
        self.relationships = [
            (
                r["alias"],
                comp.compile(r["expression"]),
                comp.compile(r["suchThat"]),
                r.get("type") == "With",
            )
            for r in elm.get("relationship", [])
        ]
        self.where = comp.compile(elm["where"]) if elm.get("where") else None
        ret = elm.get("return")
        self.ret = comp.compile(ret["expression"]) if ret else None
        self.distinct = bool(ret.get("distinct", True)) if ret else False
        agg = elm.get("aggregate")
        self.aggregate = None
        if agg:
            starting = comp.compile(agg.get("starting"))
            self.aggregate = (agg["identifier"], starting, comp.compile(agg["expression"]))
            self.distinct = bool(agg.get("distinct", False))
        self.sort = [_sort_item(comp, s) for s in elm.get("sort", {}).get("by", [])]
        self.names = [a for a, _ in self.sources] + [n for n, _ in self.lets]
        self.names += [r[0] for r in self.relationships]
        if self.aggregate:
            self.names.append(self.aggregate[0])

    def keep(self, c: Ctx) -> bool:
        """Bind lets, then apply relationships and where to the current row."""
        variables = c.vars
        for name, fn in self.lets:
            variables[name] = fn(c)
        for alias, source, such_that, is_with in self.relationships:
            related = source(c)
            found = False
            for item in related if isinstance(related, list) else [related]:
                variables[alias] = item
                if such_that(c) is True:
                    found = True
                    break
            if found is not is_with:
                return False
        return self.where is None or self.where(c) is True


def _sort_item(comp: NodeCompiler, item: dict[str, Any]) -> tuple[Fn | str | None, bool]:
    descending = item.get("direction", "asc") in ("desc", "descending")
    if item.get("type") == "ByExpression":
        return comp.compile(item["expression"]), descending
    if item.get("type") == "ByColumn":
        return str(item["path"]), descending
    return None, descending


@node("Query")
def query(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """Evaluate a query; a single non-list source yields a single value (or null)."""
    plan = _Plan(comp, elm)

    def run(c: Ctx) -> Any:
        variables = c.vars
        saved = {n: variables.get(n, MISSING) for n in plan.names}
        try:
            return _execute(plan, c)
        finally:
            for n, v in saved.items():
                if v is MISSING:
                    variables.pop(n, None)
                else:
                    variables[n] = v

    return run


def _execute(plan: _Plan, c: Ctx) -> Any:
    values = [fn(c) for _, fn in plan.sources]
    singleton = len(values) == 1 and not isinstance(values[0], list)
    if singleton and values[0] is None:
        return None
    lists = [v if isinstance(v, list) else ([] if v is None else [v]) for v in values]
    aliases = [a for a, _ in plan.sources]
    rows: list[Any] = []
    variables = c.vars
    if plan.aggregate is not None:
        return _aggregate(plan, c, aliases, lists)
    for combo in _rows(lists):
        for alias, item in zip(aliases, combo, strict=True):
            variables[alias] = item
        if not plan.keep(c):
            continue
        if plan.ret is not None:
            rows.append(plan.ret(c))
        elif len(aliases) == 1:
            rows.append(combo[0])
        else:
            rows.append(CqlTuple(dict(zip(aliases, combo, strict=True))))
    if plan.distinct:
        rows = distinct(rows)
    if plan.sort:
        rows = _sorted(plan, c, rows)
    if singleton:
        return rows[0] if rows else None
    return rows


def _rows(lists: list[list[Any]]) -> Any:
    if len(lists) == 1:
        return ((item,) for item in lists[0])
    return itertools.product(*lists)


def _aggregate(plan: _Plan, c: Ctx, aliases: list[str], lists: list[list[Any]]) -> Any:
    assert plan.aggregate is not None
    name, starting, expression = plan.aggregate
    variables = c.vars
    variables[name] = starting(c)
    combos = list(_rows(lists))
    if plan.distinct:
        combos = distinct([c_ if len(c_) > 1 else c_[0] for c_ in combos])
        combos = [x if isinstance(x, tuple) else (x,) for x in combos]
    for combo in combos:
        for alias, item in zip(aliases, combo, strict=True):
            variables[alias] = item
        if plan.keep(c):
            variables[name] = expression(c)
    return variables[name]


def _sorted(plan: _Plan, c: Ctx, rows: list[Any]) -> list[Any]:
    keyed = []
    for row in rows:
        keys = []
        for spec, _ in plan.sort:
            if spec is None:
                keys.append(row)
            elif isinstance(spec, str):
                keys.append(get_property(row, spec))
            else:
                c.vars[THIS] = row
                keys.append(spec(c))
        keyed.append((keys, row))
    c.vars.pop(THIS, None)
    directions = [d for _, d in plan.sort]

    def order(a: tuple[list[Any], Any], b: tuple[list[Any], Any]) -> int:
        for x, y, descending in zip(a[0], b[0], directions, strict=True):
            r = _null_first(x, y)
            if r:
                return -r if descending else r
        return 0

    return [row for _, row in sorted(keyed, key=cmp_to_key(order))]


def _null_first(x: Any, y: Any) -> int:
    """Sort order: nulls first, then by value.

    Date/time values equal to their common precision sort the less precise first
    (``@2012-10-05`` before ``@2012-10-05T10``).
    """
    if x is None or y is None:
        return (x is not None) - (y is not None)
    result = compare(x, y)
    if result is None and isinstance(x, TEMPORAL) and isinstance(y, TEMPORAL):
        return len(x.parts) - len(y.parts)
    return result or 0


@node("IdentifierRef")
def identifier_ref(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """An identifier inside a sort clause: a property of the row being sorted."""
    name = elm["name"]

    def ref(c: Ctx) -> Any:
        variables = c.vars
        if THIS in variables:
            return get_property(variables[THIS], name)
        return variables.get(name)

    return ref


@node("Property")
def property_(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """Navigate ``source.path`` (or ``scope.path`` for an alias; the sort row otherwise).

    The ``value`` of a FHIR date/dateTime/instant/time is a CQL Date/DateTime/Time: known from
    the node's result type (our compiler keeps it on such nodes), from an ``As`` source, or
    at run time from the type a choice element carries.
    """
    path = elm["path"]
    steps = path.split(".")
    if elm.get("source") is not None:
        source = comp.compile(elm["source"])
    else:
        scope = elm.get("scope", THIS)
        source = lambda c: c.vars.get(scope)  # noqa: E731
    if steps == ["value"]:
        return _value_step(source, _temporal_result(comp, elm))
    if len(steps) == 1:
        return lambda c: get_property(source(c), path)

    def walk(c: Ctx) -> Any:
        value = source(c)
        for step in steps:
            value = get_property(value, step)
        return value

    return walk


def _value_step(source: Fn, temporal: str | None) -> Fn:
    if temporal is None:
        return lambda c: choice_value(source(c))
    return lambda c: temporal_value(get_property(source(c), "value"), temporal)


def _temporal_result(comp: NodeCompiler, elm: dict[str, Any]) -> str | None:
    """``Date``/``DateTime``/``Time`` when a ``.value`` node is statically of that type."""
    model, name = split_qname(str(elm.get("resultTypeName", "")))
    if model == "System" and name in ("Date", "DateTime", "Time"):
        return name
    source = elm.get("source")
    static = _static_fhir_type(comp, source) if isinstance(source, dict) else None
    return TEMPORAL_PRIMITIVES.get(static or "")


def _static_fhir_type(comp: NodeCompiler, elm: dict[str, Any], depth: int = 0) -> str | None:
    """The FHIR type an expression is known to have without result types, if any.

    From a result type, an ``As``, a function operand's declared type, or a date/time element
    of a data type whose type is known that way (``period."start"`` in a function over a
    ``FHIR.Period``).
    """
    kind = elm.get("type")
    qname = elm.get("resultTypeName")
    if kind == "As":
        spec = elm.get("asTypeSpecifier") or {}
        qname = elm.get("asType") or (spec.get("name") if isinstance(spec, dict) else None)
    elif kind == "OperandRef":
        qname = comp.declared_operands.get(str(elm.get("name")))
    elif kind == "Property" and qname is None and isinstance(elm.get("source"), dict):
        parent = _static_fhir_type(comp, elm["source"], depth + 1) if depth < 8 else None
        return TEMPORAL_ELEMENTS.get(parent or "", {}).get(str(elm.get("path")))
    model, name = split_qname(str(qname or ""))
    return name if model == "FHIR" else None
