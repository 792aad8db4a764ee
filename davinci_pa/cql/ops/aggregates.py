"""Aggregate functions (CQL §9.11).

Count, Sum, Min, Max, Avg, Median, Mode, Variance, StdDev (sample and population), Product,
GeometricMean, AllTrue and AnyTrue. Null elements are ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, localcontext
from typing import Any

from davinci_pa.cql.compiler import NodeCompiler, node
from davinci_pa.cql.ops.lists import same
from davinci_pa.cql.runtime import CqlRuntimeError, Ctx, Fn
from davinci_pa.cql.values.decimals import CONTEXT, normalize_decimal
from davinci_pa.cql.values.equality import compare

Aggregate = Callable[[list[Any]], Any]
ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {}
"""Binary Add/Subtract/Multiply/Divide for non-numeric types (Quantity), set by registration."""


def _aggregate(*names: str, keep_nulls: bool = False) -> Callable[[Aggregate], Aggregate]:
    def register(fn: Aggregate) -> Aggregate:
        def build(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
            source = comp.compile(elm["source"])

            def run(c: Ctx) -> Any:
                items = source(c)
                if items is None:
                    return None if not keep_nulls else fn([])
                if not isinstance(items, list):
                    items = [items]
                return fn(items if keep_nulls else [i for i in items if i is not None])

            return run

        for name in names:
            node(name)(build)
        return fn

    return register


@_aggregate("Count")
def count(items: list[Any]) -> int:
    """Number of non-null elements."""
    return len(items)


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, int | Decimal) and isinstance(b, int | Decimal):
        return a + b
    add = ARITHMETIC.get("Add")
    if add is None:
        raise CqlRuntimeError(f"cannot add {type(a).__name__} values")
    return add(a, b)


@_aggregate("Sum")
def sum_(items: list[Any]) -> Any:
    """Sum of the elements (null when empty)."""
    if not items:
        return None
    total = items[0]
    for item in items[1:]:
        total = _add(total, item)
    return total


def _extreme(items: list[Any], sign: int) -> Any:
    best = None
    for item in items:
        if best is None:
            best = item
            continue
        order = compare(item, best)
        if order is not None and order * sign > 0:
            best = item
    return best


@_aggregate("Min")
def min_(items: list[Any]) -> Any:
    """Smallest element."""
    return _extreme(items, -1)


@_aggregate("Max")
def max_(items: list[Any]) -> Any:
    """Largest element."""
    return _extreme(items, 1)


def _decimal_items(items: list[Any]) -> list[Decimal] | None:
    if all(isinstance(i, int | Decimal) and not isinstance(i, bool) for i in items):
        return [Decimal(i) for i in items]
    return None


def _quantity_mean(items: list[Any]) -> Any:
    divide = ARITHMETIC.get("DivideScalar")
    if divide is None:
        raise CqlRuntimeError("Avg is only defined for numbers and quantities")
    return divide(sum_(items), len(items))


@_aggregate("Avg")
def avg(items: list[Any]) -> Any:
    """Arithmetic mean."""
    if not items:
        return None
    numbers = _decimal_items(items)
    if numbers is None:
        return _quantity_mean(items)
    with localcontext(CONTEXT):
        return normalize_decimal(sum(numbers, Decimal(0)) / len(numbers))


@_aggregate("Median")
def median(items: list[Any]) -> Any:
    """Median (mean of the middle pair for even counts)."""
    if not items:
        return None
    numbers = _decimal_items(items)
    if numbers is None:
        raise CqlRuntimeError("Median is only defined for numbers")
    ordered = sorted(numbers)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    with localcontext(CONTEXT):
        return normalize_decimal((ordered[mid - 1] + ordered[mid]) / 2)


@_aggregate("Mode")
def mode(items: list[Any]) -> Any:
    """Most frequent element (first seen wins ties)."""
    best, best_count = None, 0
    for item in items:
        n = sum(1 for other in items if same(item, other))
        if n > best_count:
            best, best_count = item, n
    return best


def _variance(items: list[Any], population: bool) -> Decimal | None:
    numbers = _decimal_items(items)
    if numbers is None:
        raise CqlRuntimeError("variance is only defined for numbers")
    n = len(numbers)
    if n == 0 or (n == 1 and not population):
        return None
    with localcontext(CONTEXT):
        mean = sum(numbers, Decimal(0)) / n
        squares = sum(((x - mean) ** 2 for x in numbers), Decimal(0))
        return squares / (n if population else n - 1)


@_aggregate("Variance")
def variance(items: list[Any]) -> Any:
    """Sample variance."""
    v = _variance(items, False)
    return None if v is None else normalize_decimal(v)


@_aggregate("PopulationVariance")
def population_variance(items: list[Any]) -> Any:
    """Population variance."""
    v = _variance(items, True)
    return None if v is None else normalize_decimal(v)


@_aggregate("StdDev")
def std_dev(items: list[Any]) -> Any:
    """Sample standard deviation."""
    v = _variance(items, False)
    with localcontext(CONTEXT):
        return None if v is None else normalize_decimal(v.sqrt())


@_aggregate("PopulationStdDev")
def population_std_dev(items: list[Any]) -> Any:
    """Population standard deviation."""
    v = _variance(items, True)
    with localcontext(CONTEXT):
        return None if v is None else normalize_decimal(v.sqrt())


@_aggregate("Product")
def product(items: list[Any]) -> Any:
    """Product of the elements."""
    if not items:
        return None
    total = items[0]
    for item in items[1:]:
        total = total * item
    return normalize_decimal(total) if isinstance(total, Decimal) else total


@_aggregate("GeometricMean")
def geometric_mean(items: list[Any]) -> Any:
    """Geometric mean."""
    numbers = _decimal_items(items)
    if not numbers:
        return None
    with localcontext(CONTEXT):
        total = Decimal(1)
        for x in numbers:
            total *= x
        return normalize_decimal(total ** (Decimal(1) / len(numbers)))


@_aggregate("AllTrue", keep_nulls=True)
def all_true(items: list[Any]) -> bool:
    """True when every non-null element is true (true for an empty list)."""
    return all(i is not False for i in items)


@_aggregate("AnyTrue", keep_nulls=True)
def any_true(items: list[Any]) -> bool:
    """True when some element is true."""
    return any(i is True for i in items)
