"""Comparison operators: =, !=, ~, !~, <, <=, >, >= (CQL §9.3)."""

from __future__ import annotations

from typing import Any

from davinci_pa.cql.compiler import operator
from davinci_pa.cql.runtime import CqlRuntimeError
from davinci_pa.cql.values.equality import compare, equal, equivalent
from davinci_pa.cql.values.temporal_between import (
    Uncertainty,
    uncertain_equal,
    uncertain_greater,
    uncertain_greater_or_equal,
    uncertain_less,
    uncertain_less_or_equal,
)


@operator("Equal", nulls=False)
def equal_op(a: Any, b: Any) -> bool | None:
    """CQL equality (null when either side is null or uncertain)."""
    if _uncertain(a, b) and a is not None and b is not None:
        return uncertain_equal(a, b)
    return equal(a, b)


@operator("NotEqual", nulls=False)
def not_equal(a: Any, b: Any) -> bool | None:
    """CQL inequality."""
    result = equal_op(a, b)
    return None if result is None else not result


@operator("Equivalent", nulls=False)
def equivalent_op(a: Any, b: Any) -> bool:
    """CQL equivalence (never null)."""
    return equivalent(a, b)


def _ordered(a: Any, b: Any) -> int | None:
    result = compare(a, b)
    if result is None and type(a) is not type(b) and not _numeric_pair(a, b):
        raise CqlRuntimeError(f"cannot compare {type(a).__name__} with {type(b).__name__}")
    return result


def _uncertain(a: Any, b: Any) -> bool:
    """An uncertain duration against an integer or another one (CQL §"Uncertainty")."""
    return isinstance(a, Uncertainty) or isinstance(b, Uncertainty)


def _numeric_pair(a: Any, b: Any) -> bool:
    return all(isinstance(v, int | float) or type(v).__name__ == "Decimal" for v in (a, b))


@operator("Less")
def less(a: Any, b: Any) -> bool | None:
    """``a < b``."""
    if _uncertain(a, b):
        return uncertain_less(a, b)
    r = _ordered(a, b)
    return None if r is None else r < 0


@operator("LessOrEqual")
def less_or_equal(a: Any, b: Any) -> bool | None:
    """``a <= b``."""
    if _uncertain(a, b):
        return uncertain_less_or_equal(a, b)
    r = _ordered(a, b)
    return None if r is None else r <= 0


@operator("Greater")
def greater(a: Any, b: Any) -> bool | None:
    """``a > b``."""
    if _uncertain(a, b):
        return uncertain_greater(a, b)
    r = _ordered(a, b)
    return None if r is None else r > 0


@operator("GreaterOrEqual")
def greater_or_equal(a: Any, b: Any) -> bool | None:
    """``a >= b``."""
    if _uncertain(a, b):
        return uncertain_greater_or_equal(a, b)
    r = _ordered(a, b)
    return None if r is None else r >= 0
