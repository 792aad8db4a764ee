"""Type operators (CQL §9.12) and the System-type conversions.

As, Is, the To*/ConvertsTo* conversions, MinValue/MaxValue, Precision and Low/HighBoundary.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from davinci_pa.cql.compiler import NodeCompiler, call, node, operator
from davinci_pa.cql.model import FhirChoice
from davinci_pa.cql.ops.temporal import TEMPORAL
from davinci_pa.cql.runtime import CqlRuntimeError, Ctx, Fn
from davinci_pa.cql.types import split_qname, type_test
from davinci_pa.cql.values import temporal_arith as tarith
from davinci_pa.cql.values.clinical import Code, Concept
from davinci_pa.cql.values.decimals import (
    DECIMAL_MAX,
    DECIMAL_MIN,
    INT_MAX,
    INT_MIN,
    LONG_MAX,
    LONG_MIN,
    check_int,
    check_long,
    normalize_decimal,
)
from davinci_pa.cql.values.quantity import Quantity, Ratio
from davinci_pa.cql.values.temporal import (
    Date,
    DateTime,
    InvalidTemporalValue,
    Time,
    parse_date,
    parse_datetime,
    parse_time,
)

CONVERTERS: dict[str, Callable[[Any], Any]] = {}
"""Conversion functions by target System type name, returning None when not convertible."""


def _spec(elm: dict[str, Any], attr: str) -> Any:
    return elm.get(attr + "Specifier") or elm.get(attr)


@node("As")
def as_(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``x as T``: x when it is a T, else null (an error when ``strict``)."""
    source = comp.compile(elm["operand"])
    spec = _spec(elm, "asType")
    test = type_test(spec)
    strict = bool(elm.get("strict"))
    unwrap_choice = not (isinstance(spec, str) and spec.endswith("}Any"))

    def run(c: Ctx) -> Any:
        value = source(c)
        if value is None:
            return None
        if test(value):
            return value.value if unwrap_choice and isinstance(value, FhirChoice) else value
        if isinstance(value, list) and not isinstance(spec, dict):
            return None
        if strict:
            raise CqlRuntimeError(f"cannot cast {type(value).__name__} to {spec}")
        return None

    return run


@node("Is")
def is_(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``x is T`` (false for null)."""
    source = comp.compile(elm["operand"])
    test = type_test(_spec(elm, "isType"))
    return lambda c: (v := source(c)) is not None and test(v)


def _to_boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "t", "yes", "y", "1"):
            return True
        if text in ("false", "f", "no", "n", "0"):
            return False
        return None
    if isinstance(value, int | Decimal):
        return True if value == 1 else False if value == 0 else None
    return None


_INT_RE = re.compile(r"[+-]?\d+")
_DEC_RE = re.compile(r"[+-]?\d+(\.\d+)?")


def _to_integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return check_int(value)
    if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
        return check_int(int(value))
    return None


def _to_long(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return check_long(value)
    if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
        return check_long(int(value))
    return None


def _to_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return Decimal("1.0") if value else Decimal("0.0")
    if isinstance(value, int | Decimal):
        return normalize_decimal(Decimal(value))
    if isinstance(value, str) and _DEC_RE.fullmatch(value.strip()):
        return normalize_decimal(Decimal(value.strip()))
    return None


def format_value(value: Any) -> str | None:
    """CQL ToString of a System value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal):
        return str(value)
    to_iso = getattr(value, "to_iso", None)
    if callable(to_iso):
        return str(to_iso())
    if isinstance(value, Quantity | Ratio):
        return str(value)
    return None


def _parse_temporal(parser: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return parser(text)
        except InvalidTemporalValue:
            return None

    return parse


def _to_date(value: Any) -> Date | None:
    if isinstance(value, Date):
        return value
    if isinstance(value, DateTime):
        return Date(value.parts[:3])
    if isinstance(value, str):
        return _parse_temporal(parse_date)(value)  # type: ignore[no-any-return]
    return None


def _to_time(value: Any) -> Time | None:
    if isinstance(value, Time):
        return value
    if isinstance(value, str):
        return _parse_temporal(parse_time)(value)  # type: ignore[no-any-return]
    return None


def _to_concept(value: Any) -> Concept | None:
    if isinstance(value, Concept):
        return value
    if isinstance(value, Code):
        return Concept((value,))
    if isinstance(value, list):
        return Concept(tuple(v for v in value if isinstance(v, Code)))
    return None


CONVERTERS.update(
    {
        "Boolean": _to_boolean,
        "Integer": _to_integer,
        "Long": _to_long,
        "Decimal": _to_decimal,
        "String": format_value,
        "Date": _to_date,
        "Time": _to_time,
        "Concept": _to_concept,
    }
)


def to_datetime(value: Any, offset: int) -> DateTime | None:
    """ToDateTime: strings are parsed; missing offsets take the request's offset."""
    if isinstance(value, DateTime):
        return value
    if isinstance(value, Date):
        return DateTime(value.parts, offset)
    if isinstance(value, str):
        try:
            return parse_datetime(value, default_offset=offset)
        except InvalidTemporalValue:
            return None
    return None


def _converter(target: str) -> Callable[[NodeCompiler, dict[str, Any]], Fn]:
    def build(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
        if target == "DateTime":
            from davinci_pa.cql.ops.temporal import offset_minutes

            (x,) = comp.operands(elm)
            return lambda c: None if (v := x(c)) is None else to_datetime(v, offset_minutes(c))
        convert = CONVERTERS[target]
        return call(
            lambda v: convert(v.value if isinstance(v, FhirChoice) else v), comp.operands(elm)
        )

    return build


def _converts(target: str) -> Callable[[NodeCompiler, dict[str, Any]], Fn]:
    convert_node = _converter(target)

    def build(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
        (x,) = comp.operands(elm)
        conv = convert_node(comp, elm)
        return lambda c: None if x(c) is None else conv(c) is not None

    return build


for _target in ("Boolean", "Integer", "Long", "Decimal", "String", "Date", "DateTime", "Time"):
    node(f"To{_target}")(_converter(_target))
    node(f"ConvertsTo{_target}")(_converts(_target))
node("ToConcept")(_converter("Concept"))


@operator("ToChars")
def to_chars(text: str) -> list[str]:
    """The characters of a string."""
    return list(text)


_LIMITS: dict[str, tuple[Any, Any]] = {
    "Integer": (INT_MIN, INT_MAX),
    "Long": (LONG_MIN, LONG_MAX),
    "Decimal": (DECIMAL_MIN, DECIMAL_MAX),
}


def _limit(elm: dict[str, Any], index: int) -> Any:
    name = split_qname(elm.get("valueType", ""))[1]
    if name in _LIMITS:
        return _LIMITS[name][index]
    if name == "Date":
        return tarith.max_value(Date) if index else tarith.min_value(Date)
    if name == "DateTime":
        return tarith.max_value(DateTime) if index else tarith.min_value(DateTime)
    if name == "Time":
        return tarith.max_value(Time) if index else tarith.min_value(Time)
    raise CqlRuntimeError(f"no minimum/maximum value for type {name}")


@node("MinValue")
def min_value(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``minimum T``."""
    value = _limit(elm, 0)
    return lambda c: value


@node("MaxValue")
def max_value(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``maximum T``."""
    value = _limit(elm, 1)
    return lambda c: value


@operator("Precision")
def precision(value: Any) -> int | None:
    """Digits of precision: decimal places of a Decimal, or of a date/time value."""
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        return max(-exponent, 0) if isinstance(exponent, int) else None
    if isinstance(value, TEMPORAL):
        return tarith.precision_digits(value)
    return None


def _boundary(high: bool) -> Callable[[NodeCompiler, dict[str, Any]], Fn]:
    def build(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
        args = comp.operands(elm)
        source = args[0]
        digits_fn = args[1] if len(args) > 1 else None

        def run(c: Ctx) -> Any:
            value = source(c)
            digits = digits_fn(c) if digits_fn is not None else None
            if value is None:
                return None
            if isinstance(value, Decimal):
                return _decimal_boundary(value, 8 if digits is None else digits, high)
            fn = tarith.high_boundary if high else tarith.low_boundary
            try:
                return fn(value, digits)
            except InvalidTemporalValue:
                return None

        return run

    return build


def _decimal_boundary(value: Decimal, digits: int, high: bool) -> Decimal | None:
    if digits < 0 or digits > 8:
        return None
    step = Decimal(1).scaleb(-digits)
    exponent = value.as_tuple().exponent
    known = -exponent if isinstance(exponent, int) else 0
    if known > digits:
        return value.quantize(step, rounding="ROUND_DOWN" if value >= 0 else "ROUND_UP")
    base = value.quantize(step)
    if not high:
        return base
    fill = Decimal(1).scaleb(-known) - step
    return base + fill if value >= 0 else base - fill


node("LowBoundary")(_boundary(False))
node("HighBoundary")(_boundary(True))
