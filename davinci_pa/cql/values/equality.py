"""CQL equality (``=``), equivalence (``~``) and ordering over every System value (CQL §9.3).

Temporal and quantity types plug in through :func:`register_type`, which keeps this module free
of their implementations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from davinci_pa.cql.values.clinical import Code, Concept
from davinci_pa.cql.values.interval import Interval
from davinci_pa.cql.values.tuples import CqlTuple

Tri = bool | None


@dataclass(frozen=True, slots=True)
class TypeOps:
    """Equality, equivalence and ordering for a value type; ordering may be None (unordered)."""

    equal: Callable[[Any, Any], Tri]
    equivalent: Callable[[Any, Any], bool]
    compare: Callable[[Any, Any], int | None] | None = None


_TYPES: dict[type, TypeOps] = {}


def register_type(cls: type, ops: TypeOps) -> None:
    """Teach equality, equivalence and ordering about ``cls``."""
    _TYPES[cls] = ops


def _ops(value: Any) -> TypeOps | None:
    return _TYPES.get(type(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def equal(a: Any, b: Any) -> Tri:
    """CQL ``=``: null if either side is null or the comparison is uncertain."""
    if a is None or b is None:
        return None
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b if isinstance(a, bool) and isinstance(b, bool) else False
    if _is_number(a) and _is_number(b) or isinstance(a, str) and isinstance(b, str):
        return bool(a == b)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return _all_tri(a, b, _equal_or_both_null) if len(a) == len(b) else False
    ops = _ops(a)
    if ops is not None:
        return ops.equal(a, b)
    ops = _ops(b)
    if ops is not None:
        return ops.equal(b, a)
    return _equal_structured(a, b)


def _equal_structured(a: Any, b: Any) -> Tri:
    if isinstance(a, Interval) and isinstance(b, Interval):
        return _interval_equal(a, b)
    if isinstance(a, CqlTuple) and isinstance(b, CqlTuple):
        if set(a) != set(b):
            return False
        return _all_tri([a[k] for k in a], [b[k] for k in a], _equal_or_both_null)
    if isinstance(a, Code) and isinstance(b, Code):
        return a == b
    if isinstance(a, Concept) and isinstance(b, Concept):
        return a.display == b.display and equal(list(a.codes), list(b.codes))
    return bool(a == b) if type(a) is type(b) else False


def _equal_or_both_null(a: Any, b: Any) -> Tri:
    if a is None and b is None:
        return True
    return equal(a, b)


def _all_tri(xs: Any, ys: Any, fn: Callable[[Any, Any], Tri]) -> Tri:
    result: Tri = True
    for x, y in zip(xs, ys, strict=True):
        r = fn(x, y)
        if r is False:
            return False
        if r is None:
            result = None
    return result


def _interval_equal(a: Interval, b: Interval) -> Tri:
    from davinci_pa.cql.values.bounds import closed_bounds

    alow, ahigh = closed_bounds(a)
    blow, bhigh = closed_bounds(b)
    lows = equal(alow, blow) if (alow, blow) != (None, None) else True
    highs = equal(ahigh, bhigh) if (ahigh, bhigh) != (None, None) else True
    if lows is False or highs is False:
        return False
    if lows is None or highs is None:
        return None
    return True


def equivalent(a: Any, b: Any) -> bool:
    """CQL ``~``: never null; nulls are equivalent to each other, strings ignore case."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, str) and isinstance(b, str):
        return _fold(a) == _fold(b)
    if _is_number(a) and _is_number(b):
        return _decimal_equivalent(a, b)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(equivalent(x, y) for x, y in zip(a, b, strict=True))
    ops = _ops(a) or _ops(b)
    if ops is not None:
        return ops.equivalent(a, b) if type(a) is type(b) else False
    return _equivalent_structured(a, b)


def _equivalent_structured(a: Any, b: Any) -> bool:
    if isinstance(a, Code | Concept) and isinstance(b, Code | Concept):
        return _code_equivalent(a, b)
    if isinstance(a, Interval) and isinstance(b, Interval):
        return (
            equivalent(a.low, b.low)
            and equivalent(a.high, b.high)
            and (a.low_closed == b.low_closed and a.high_closed == b.high_closed)
            or bool(_interval_equal(a, b))
        )
    if isinstance(a, CqlTuple) and isinstance(b, CqlTuple):
        return set(a) == set(b) and all(equivalent(a[k], b[k]) for k in a)
    return bool(a == b) if type(a) is type(b) else False


def _codes(value: Code | Concept) -> tuple[Code, ...]:
    return value.codes if isinstance(value, Concept) else (value,)


def _code_equivalent(a: Code | Concept, b: Code | Concept) -> bool:
    return any(x.code == y.code and x.system == y.system for x in _codes(a) for y in _codes(b))


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def _decimal_equivalent(a: int | Decimal, b: int | Decimal) -> bool:
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    da, db = Decimal(a), Decimal(b)
    ea = min(da.normalize().as_tuple().exponent, 0) if da else 0
    eb = min(db.normalize().as_tuple().exponent, 0) if db else 0
    if not isinstance(ea, int) or not isinstance(eb, int):
        return False
    scale = Decimal(1).scaleb(max(ea, eb))
    return da.quantize(scale) == db.quantize(scale)


def compare(a: Any, b: Any) -> int | None:
    """Order two values: negative, zero or positive; None when unknown or null."""
    if a is None or b is None:
        return None
    if _is_number(a) and _is_number(b) or isinstance(a, str) and isinstance(b, str):
        return -1 if a < b else (1 if a > b else 0)
    ops = _ops(a)
    if ops is not None and ops.compare is not None:
        return ops.compare(a, b)
    ops = _ops(b)
    if ops is not None and ops.compare is not None:
        result = ops.compare(b, a)
        return None if result is None else -result
    if isinstance(a, bool) and isinstance(b, bool):
        return int(a) - int(b)
    return None
