"""Arithmetic operators over Integer, Long, Decimal, Quantity and temporal values (CQL §9.2).

Overflow yields null; division by zero yields null. Quantity and temporal types register their
implementations with :func:`register_arithmetic` and :func:`register_unary`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Any

from davinci_pa.cql.compiler import BUILDERS, NodeCompiler, call, node, operator
from davinci_pa.cql.runtime import CqlRuntimeError, Fn
from davinci_pa.cql.types import split_qname
from davinci_pa.cql.values.bounds import PointOverflow, predecessor, successor
from davinci_pa.cql.values.decimals import CONTEXT, check_int, check_long, normalize_decimal

Binary = Callable[[Any, Any], Any]
EXTENSIONS: dict[tuple[str, type, type], Binary] = {}


def register_arithmetic(op: str, left: type, right: type, fn: Binary) -> None:
    """Register ``op`` (Add, Subtract, Multiply, Divide, ...) for a pair of operand types."""
    EXTENSIONS[(op, left, right)] = fn


def _num(value: Any) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def _fit(value: int | Decimal, long: bool) -> int | Decimal | None:
    if isinstance(value, Decimal):
        return normalize_decimal(value)
    return check_long(value) if long else check_int(value)


def _numeric(op: str, fn: Binary) -> Callable[[NodeCompiler, dict[str, Any]], Fn]:
    def build(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
        long = any(split_qname(t)[1] == "Long" for t in comp.operand_types(elm))

        def apply(a: Any, b: Any) -> Any:
            if _num(a) and _num(b):
                if isinstance(a, Decimal) or isinstance(b, Decimal):
                    a, b = Decimal(a), Decimal(b)
                result = fn(a, b)
                return None if result is None else _fit(result, long)
            ext = EXTENSIONS.get((op, type(a), type(b)))
            if ext is None:
                raise CqlRuntimeError(f"{op} is not defined for {type(a).__name__}")
            return ext(a, b)

        return call(apply, comp.operands(elm))

    return build


def _div(a: Any, b: Any) -> Decimal | None:
    if b == 0:
        return None
    with localcontext(CONTEXT):
        return Decimal(a) / Decimal(b)


def _truncated_div(a: Any, b: Any) -> Any:
    if b == 0:
        return None
    if isinstance(a, int) and isinstance(b, int):
        q = abs(a) // abs(b)
        return q if (a >= 0) == (b >= 0) else -q
    with localcontext(CONTEXT):
        return (Decimal(a) / Decimal(b)).to_integral_value(rounding="ROUND_DOWN")


def _mod(a: Any, b: Any) -> Any:
    if b == 0:
        return None
    if isinstance(a, int) and isinstance(b, int):
        return int(math.fmod(a, b)) if abs(a) < 2**52 else a - b * _truncated_div(a, b)
    with localcontext(CONTEXT):
        return Decimal(a) % Decimal(b)


def _power(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int):
        if b >= 0:
            return a**b
        return Decimal(1) / Decimal(a) ** -b if a != 0 else None
    try:
        with localcontext(CONTEXT):
            return Decimal(a) ** Decimal(b)
    except InvalidOperation:
        return None


for _name, _fn in (
    ("Add", lambda a, b: a + b),
    ("Subtract", lambda a, b: a - b),
    ("Multiply", lambda a, b: a * b),
    ("Divide", _div),
    ("TruncatedDivide", _truncated_div),
    ("Modulo", _mod),
    ("Power", _power),
):
    node(_name)(_numeric(_name, _fn))


UNARY_EXTENSIONS: dict[tuple[str, type], Callable[[Any], Any]] = {}


def register_unary(op: str, cls: type, fn: Callable[[Any], Any]) -> None:
    """Register a unary operator (Negate, Abs, ...) for a non-numeric type such as Quantity."""
    UNARY_EXTENSIONS[(op, cls)] = fn


def _unary(op: str, fn: Callable[[Any], Any]) -> None:
    def build(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
        long = any(split_qname(t)[1] == "Long" for t in comp.operand_types(elm))

        def apply(a: Any) -> Any:
            if _num(a):
                result = fn(a)
                return None if result is None else _fit(result, long)
            ext = UNARY_EXTENSIONS.get((op, type(a)))
            if ext is None:
                raise CqlRuntimeError(f"{op} is not defined for {type(a).__name__}")
            return ext(a)

        return call(apply, comp.operands(elm)[:1])

    node(op)(build)


def _to_int(value: Decimal) -> int:
    return int(value)


_unary("Negate", lambda a: -a)
_unary("Abs", abs)
_negate_value = BUILDERS["Negate"]
_NEGATED_MINIMUMS = {"Integer": "2147483648", "Long": "9223372036854775808"}


@node("Negate")
def negate(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``-x`` (CQL §16.13 Negate).

    ``-2147483648`` (and Long's minimum) arrives as the negation of a literal one past the
    maximum; it is folded to the minimum instead of failing as an out-of-range literal.
    """
    operand = elm.get("operand")
    if isinstance(operand, list) and len(operand) == 1:
        operand = operand[0]
    if isinstance(operand, dict) and operand.get("type") == "Literal":
        kind = split_qname(operand.get("valueType", ""))[1]
        if _NEGATED_MINIMUMS.get(kind) == operand.get("value"):
            minimum = -int(operand["value"])
            return lambda c: minimum
    return _negate_value(comp, elm)


_unary(
    "Ceiling", lambda a: a if isinstance(a, int) else _to_int(a.to_integral_value("ROUND_CEILING"))
)
_unary("Floor", lambda a: a if isinstance(a, int) else _to_int(a.to_integral_value(ROUND_FLOOR)))
_unary(
    "Truncate", lambda a: a if isinstance(a, int) else _to_int(a.to_integral_value("ROUND_DOWN"))
)


def _ln(a: Any) -> Decimal | None:
    """Natural logarithm: null for a negative argument (no real result), an error at 0."""
    if a < 0:
        return None
    if a == 0:
        raise CqlRuntimeError("Ln(0) is negative infinity")
    with localcontext(CONTEXT):
        return Decimal(a).ln()


def _exp(a: Any) -> Decimal | None:
    with localcontext(CONTEXT):
        result = normalize_decimal(Decimal(a).exp())
    if result is None:
        raise CqlRuntimeError(f"Exp({a}) overflows Decimal")
    return result


_unary("Ln", _ln)
_unary("Exp", _exp)


@operator("Log")
def log(a: Any, base: Any) -> Decimal | None:
    """Logarithm of ``a`` to ``base`` (null when undefined)."""
    if a <= 0 or base <= 0 or base == 1:
        return None
    with localcontext(CONTEXT):
        return normalize_decimal(Decimal(a).ln() / Decimal(base).ln())


@node("Round")
def round_(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """Round half up (away from zero for .5 on positives, toward +inf) to a precision."""
    value = comp.compile(elm["operand"])
    precision = comp.compile(elm.get("precision"))

    def run(c: Any) -> Any:
        v = value(c)
        if v is None:
            return None
        digits = precision(c) or 0
        step = Decimal(1).scaleb(-digits)
        return normalize_decimal(Decimal(v).quantize(step, rounding=ROUND_HALF_UP))

    return run


def _step(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def run(value: Any) -> Any:
        try:
            return fn(value)
        except PointOverflow as exc:
            raise CqlRuntimeError(str(exc)) from exc

    return run


operator("Successor")(_step(successor))
operator("Predecessor")(_step(predecessor))
