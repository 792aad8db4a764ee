"""Operators defined for both lists and intervals (CQL §9.6 and §9.10).

Contains/In, Includes/IncludedIn (proper or not), Union, Intersect and Except dispatch on
whether their operands are lists or intervals at run time.
"""

from __future__ import annotations

from typing import Any

from davinci_pa.cql.compiler import NodeCompiler, node
from davinci_pa.cql.ops.intervals import _comparator
from davinci_pa.cql.ops.lists import distinct, member
from davinci_pa.cql.ops.temporal import precision_of
from davinci_pa.cql.runtime import Ctx, Fn
from davinci_pa.cql.values import interval_math as im
from davinci_pa.cql.values.interval import Interval


def _contains(container: Any, value: Any, base: im.Cmp) -> bool | None:
    if container is None:
        return None if isinstance(value, Interval) else False
    if isinstance(container, Interval):
        if value is None:
            return None
        if isinstance(value, Interval):
            return im.includes(container, value, base)
        return im.contains_point(container, value, base)
    if value is None:
        # CQL §9.14 In/Contains on lists with a null element (as the conformance suite
        # reads it): true when the list holds a null, false when it is empty, else unknown.
        if any(item is None for item in container):
            return True
        return False if not container else None
    return member(value, container)


def _includes(a: Any, b: Any, base: im.Cmp) -> bool | None:
    if a is None or b is None:
        return None
    if isinstance(a, Interval):
        if not isinstance(b, Interval):
            return im.contains_point(a, b, base)
        return im.includes(a, b, base)
    if not isinstance(b, list):
        return member(b, a)
    return all(member(x, a) for x in b)


def _proper_includes(a: Any, b: Any, base: im.Cmp) -> bool | None:
    if isinstance(a, Interval):
        if b is None:
            return None
        if isinstance(b, Interval):
            return im.proper_includes(a, b, base)
        return im.and3(im.lt(im.low(a), b, base), im.lt(b, im.high(a), base))
    if a is None:
        return False if not isinstance(b, list) else None
    if not isinstance(b, list):
        return _proper_contains_element(a, b)
    included = _includes(a, b, base)
    return included and len(distinct(a)) > len(distinct(b))


def _proper_contains_element(items: list[Any], value: Any) -> bool | None:
    if not member(value, items):
        return False
    others = [item for item in items if not (item is None and value is None) and item != value]
    if any(item is not None for item in others):
        return True
    return None if others else False


def _binary(comp: NodeCompiler, elm: dict[str, Any]) -> tuple[Fn, Fn, im.Cmp]:
    x, y = comp.operands(elm)
    return x, y, _comparator(precision_of(elm))


@node("Contains")
def contains(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``container contains value``."""
    x, y, base = _binary(comp, elm)
    return lambda c: _contains(x(c), y(c), base)


@node("In")
def in_(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``value in container``."""
    x, y, base = _binary(comp, elm)
    return lambda c: _contains(y(c), x(c), base)


@node("Includes")
def includes(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``a includes b``."""
    x, y, base = _binary(comp, elm)
    return lambda c: _includes(x(c), y(c), base)


@node("IncludedIn")
def included_in(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``a included in b``."""
    x, y, base = _binary(comp, elm)
    return lambda c: _includes(y(c), x(c), base)


@node("ProperIncludes", "ProperContains")
def proper_includes(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``a properly includes b``."""
    x, y, base = _binary(comp, elm)
    return lambda c: _proper_includes(x(c), y(c), base)


@node("ProperIncludedIn", "ProperIn")
def proper_included_in(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``a properly included in b``."""
    x, y, base = _binary(comp, elm)
    return lambda c: _proper_includes(y(c), x(c), base)


@node("Union")
def union(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """List union (distinct; null acts as empty) or interval union."""
    args = comp.operands(elm)

    def run(c: Ctx) -> Any:
        values = [a(c) for a in args]
        if any(isinstance(v, Interval) for v in values):
            if any(v is None for v in values):
                return None
            return im.union(values[0], values[1])
        return distinct([item for v in values if v is not None for item in v])

    return run


@node("Intersect")
def intersect(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """List or interval intersection."""
    args = comp.operands(elm)

    def run(c: Ctx) -> Any:
        values = [a(c) for a in args]
        if any(v is None for v in values):
            return None
        if isinstance(values[0], Interval):
            return im.intersect(values[0], values[1])
        result = distinct(values[0])
        for other in values[1:]:
            result = [x for x in result if member(x, other)]
        return result

    return run


@node("Except")
def except_(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """List difference (distinct) or interval difference."""
    x, y = comp.operands(elm)

    def run(c: Ctx) -> Any:
        a, b = x(c), y(c)
        if isinstance(a, Interval) or isinstance(b, Interval):
            return None if a is None or b is None else im.except_(a, b)
        if a is None:
            return None
        if b is None:
            return distinct(a)
        return [v for v in distinct(a) if not member(v, b)]

    return run
