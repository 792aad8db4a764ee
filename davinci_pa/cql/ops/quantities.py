"""Quantity and Ratio: literals, arithmetic, conversions and date/time plus durations.

CQL §2.1 (Quantity/Ratio), §9.2 (arithmetic on quantities), §9.7 (Add/Subtract on dates).

Wires :mod:`davinci_pa.cql.values.quantity` into equality, ordering, successor/predecessor,
the arithmetic registry, aggregates and conversions.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from davinci_pa.cql.compiler import NodeCompiler, call, node
from davinci_pa.cql.ops import aggregates, arithmetic, types
from davinci_pa.cql.ops.temporal import TEMPORAL
from davinci_pa.cql.runtime import CqlRuntimeError, Fn
from davinci_pa.cql.types import register_system_type
from davinci_pa.cql.values import quantity as q
from davinci_pa.cql.values import temporal_arith as tarith
from davinci_pa.cql.values.bounds import PointOps, register_point_type
from davinci_pa.cql.values.equality import TypeOps, register_type
from davinci_pa.cql.values.quantity import Quantity, Ratio
from davinci_pa.cql.values.temporal_between import Uncertainty


def _q_equal(a: Any, b: Any) -> bool | None:
    return q.equal(a, b) if isinstance(b, Quantity) else False


def _q_equivalent(a: Any, b: Any) -> bool:
    return q.equivalent(a, b) if isinstance(b, Quantity) else False


def _q_compare(a: Any, b: Any) -> int | None:
    return q.compare(a, b) if isinstance(b, Quantity) else None


def _r_equal(a: Any, b: Any) -> bool | None:
    return q.ratio_equal(a, b) if isinstance(b, Ratio) else False


def _r_equivalent(a: Any, b: Any) -> bool:
    return q.ratio_equivalent(a, b) if isinstance(b, Ratio) else False


register_type(Quantity, TypeOps(_q_equal, _q_equivalent, _q_compare))
register_type(Ratio, TypeOps(_r_equal, _r_equivalent, None))
register_point_type(Quantity, PointOps(q.successor, q.predecessor))
register_system_type("Quantity", Quantity)
register_system_type("Ratio", Ratio)


def _literal(elm: dict[str, Any]) -> Quantity:
    value: Any = elm.get("value", 0)
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    return Quantity(number, elm.get("unit") or "1")


@node("Quantity")
def quantity_literal(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """A quantity literal ``5 'mg'``."""
    value = _literal(elm)
    return lambda c: value


@node("Ratio")
def ratio_literal(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """A ratio literal ``1 'mg':2 'mL'``."""
    value = Ratio(_literal(elm["numerator"]), _literal(elm["denominator"]))
    return lambda c: value


def _temporal_shift(sign: int) -> Any:
    def shift(value: Any, amount: Quantity) -> Any:
        unit = q.calendar_unit(amount.unit)
        if unit is None:
            raise CqlRuntimeError(f"cannot add {amount} to a date/time value")
        return tarith.add(value, amount.value * sign, unit)

    return shift


for _cls in TEMPORAL:
    arithmetic.register_arithmetic("Add", _cls, Quantity, _temporal_shift(1))
    arithmetic.register_arithmetic("Subtract", _cls, Quantity, _temporal_shift(-1))

arithmetic.register_arithmetic("Add", Quantity, Quantity, q.add)
arithmetic.register_arithmetic("Subtract", Quantity, Quantity, q.subtract)
arithmetic.register_arithmetic("TruncatedDivide", Quantity, Quantity, q.truncated_divide)
arithmetic.register_arithmetic("Modulo", Quantity, Quantity, q.modulo)
_PAIRS: tuple[tuple[type, type], ...] = (
    (Quantity, Quantity),
    (Quantity, Decimal),
    (Decimal, Quantity),
    (Quantity, int),
    (int, Quantity),
)
for _left, _right in _PAIRS:
    arithmetic.register_arithmetic("Multiply", _left, _right, q.multiply)
    arithmetic.register_arithmetic("Divide", _left, _right, q.divide)
arithmetic.register_unary("Negate", Quantity, q.negate)
arithmetic.register_unary("Abs", Quantity, q.absolute)
_UNCERTAIN: tuple[tuple[type, type], ...] = (
    (Uncertainty, int),
    (int, Uncertainty),
    (Uncertainty, Uncertainty),
)
for _left, _right in _UNCERTAIN:
    arithmetic.register_arithmetic("Add", _left, _right, lambda a, b: a + b)
    arithmetic.register_arithmetic("Subtract", _left, _right, lambda a, b: a - b)
    arithmetic.register_arithmetic("Multiply", _left, _right, lambda a, b: a * b)
aggregates.ARITHMETIC["Add"] = q.add
aggregates.ARITHMETIC["DivideScalar"] = lambda total, n: q.divide(total, n)


def _to_quantity(value: Any) -> Quantity | None:
    if isinstance(value, Quantity):
        return value
    if isinstance(value, str):
        return q.parse_quantity(value)
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return Quantity(Decimal(value), "1")
    return None


def _to_ratio(value: Any) -> Ratio | None:
    if isinstance(value, Ratio):
        return value
    if isinstance(value, str) and ":" in value:
        left, _, right = value.partition(":")
        num, den = q.parse_quantity(left), q.parse_quantity(right)
        return Ratio(num, den) if num is not None and den is not None else None
    return None


types.CONVERTERS["Quantity"] = _to_quantity
types.CONVERTERS["Ratio"] = _to_ratio
for _target in ("Quantity", "Ratio"):
    node(f"To{_target}")(types._converter(_target))
    node(f"ConvertsTo{_target}")(types._converts(_target))


@node("ConvertQuantity")
def convert_quantity(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``ConvertQuantity(q, unit)`` (null when not convertible)."""
    return call(q.convert_quantity, comp.operands(elm))


@node("CanConvertQuantity")
def can_convert_quantity(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``CanConvertQuantity(q, unit)``."""
    return call(q.can_convert_quantity, comp.operands(elm))
