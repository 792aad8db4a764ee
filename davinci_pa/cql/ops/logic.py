"""Logical and nullological operators, and conditionals (CQL §9.1, §9.8, ELM If/Case)."""

from __future__ import annotations

from typing import Any

from davinci_pa.cql.compiler import NodeCompiler, node, operator
from davinci_pa.cql.runtime import Ctx, Fn
from davinci_pa.cql.values.equality import equal


def _short_circuit(
    comp: NodeCompiler, elm: dict[str, Any], *, left: bool, right: bool, decided: bool
) -> Fn:
    """A three-valued binary connective that stops as soon as one operand decides it.

    The result is ``decided`` when the left operand is ``left`` or the right one is
    ``right``; otherwise null if either is null, else ``not decided``.
    """
    x, y = comp.operands(elm)

    def run(c: Ctx) -> bool | None:
        a = x(c)
        if a is left:
            return decided
        b = y(c)
        if b is right:
            return decided
        return None if a is None or b is None else not decided

    return run


@node("And")
def and_(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """Three-valued AND, short-circuiting on false."""
    return _short_circuit(comp, elm, left=False, right=False, decided=False)


@node("Or")
def or_(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """Three-valued OR, short-circuiting on true."""
    return _short_circuit(comp, elm, left=True, right=True, decided=True)


@node("Implies")
def implies(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """Three-valued implication, ``not a or b``: true once a is false or b is true."""
    return _short_circuit(comp, elm, left=False, right=True, decided=True)


@operator("Xor")
def xor(a: bool, b: bool) -> bool:
    """Exclusive or (null if either is null)."""
    return a is not b


@operator("Not")
def not_(a: bool) -> bool:
    """Logical negation (null stays null)."""
    return not a


@operator("IsNull", nulls=False)
def is_null(a: Any) -> bool:
    """True when the operand is null."""
    return a is None


@operator("IsTrue", nulls=False)
def is_true(a: Any) -> bool:
    """True when the operand is true."""
    return a is True


@operator("IsFalse", nulls=False)
def is_false(a: Any) -> bool:
    """True when the operand is false."""
    return a is False


@node("Coalesce")
def coalesce(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """The first non-null operand; a single list operand is searched element-wise."""
    args = comp.operands(elm)

    def run(c: Ctx) -> Any:
        for arg in args:
            value = arg(c)
            if value is not None:
                if len(args) == 1 and isinstance(value, list):
                    return next((v for v in value if v is not None), None)
                return value
        return None

    return run


@node("If")
def if_(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``if c then a else b``: a null condition takes the else branch."""
    cond = comp.compile(elm["condition"])
    then = comp.compile(elm["then"])
    other = comp.compile(elm.get("else"))
    return lambda c: then(c) if cond(c) is True else other(c)


@node("Case")
def case(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """Searched or selected case expression."""
    comparand = comp.compile(elm["comparand"]) if elm.get("comparand") else None
    items = [(comp.compile(i["when"]), comp.compile(i["then"])) for i in elm.get("caseItem", [])]
    other = comp.compile(elm.get("else"))

    def run(c: Ctx) -> Any:
        if comparand is None:
            for when, then in items:
                if when(c) is True:
                    return then(c)
        else:
            value = comparand(c)
            for when, then in items:
                if equal(value, when(c)) is True:
                    return then(c)
        return other(c)

    return run
