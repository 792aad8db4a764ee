"""``expand``: split intervals into per-sized unit intervals or points (CQL §9.6 Expand).

``expand {intervals} per q`` returns unit intervals; ``expand interval per q`` (CQL 1.5
overload on a single interval) returns the points. Date/time points are first truncated to
the unit of ``per``; a unit finer than the values' precision yields nothing.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

from davinci_pa.cql.compiler import NodeCompiler, node
from davinci_pa.cql.ops.temporal import TEMPORAL
from davinci_pa.cql.runtime import CqlRuntimeError, Ctx, Fn
from davinci_pa.cql.values import interval_math as im
from davinci_pa.cql.values import temporal_arith as tarith
from davinci_pa.cql.values.interval import Interval
from davinci_pa.cql.values.quantity import Quantity, calendar_unit
from davinci_pa.cql.values.temporal import Precision, Time

MAX_POINTS = 100_000


def _truncate(value: Any, unit: Precision) -> Any:
    index = unit - (Precision.HOUR if isinstance(value, Time) else 0)
    if index < 0 or len(value.parts) <= index:
        return None
    return type(value)(
        value.parts[: index + 1], *([value.offset] if hasattr(value, "offset") else [])
    )


def _units(iv: Interval, per: Quantity | None) -> list[tuple[Any, Any]]:
    """(start, end) of each whole per-sized unit inside the interval."""
    lo, hi = im.known(im.low(iv)), im.known(im.high(iv))
    if lo is None or hi is None or lo is im.NEG or hi is im.POS:
        return []
    amount = per.value if per is not None else Decimal(1)
    if isinstance(lo, TEMPORAL):
        unit = calendar_unit(per.unit) if per is not None else Precision(len(lo.parts) - 1)
        if unit is None:
            raise CqlRuntimeError("expand: per must be a time unit for date/time intervals")
        lo, hi = _truncate(lo, unit), _truncate(hi, unit)
        if lo is None or hi is None:
            return []
        return _walk(
            lo,
            hi,
            lambda p: tarith.add(p, amount, unit),
            lambda p: tarith.add(p, amount - 1, unit),
        )
    exponent = amount.as_tuple().exponent
    places = max(-exponent, 0) if isinstance(exponent, int) else 0
    quantum = Decimal(1).scaleb(-places)
    if isinstance(lo, Decimal) or places:
        lo = Decimal(lo).quantize(quantum, rounding=ROUND_DOWN)
        hi = Decimal(hi).quantize(quantum, rounding=ROUND_DOWN)
    elif amount == amount.to_integral_value():
        amount = Decimal(int(amount))
    step: Any = int(amount) if isinstance(lo, int) else amount
    last: Any = int(amount - quantum) if isinstance(lo, int) else amount - quantum
    return _walk(lo, hi, lambda p: p + step, lambda p: p + last)


def _walk(lo: Any, hi: Any, advance: Any, unit_end: Any) -> list[tuple[Any, Any]]:
    out: list[tuple[Any, Any]] = []
    point = lo
    while True:
        end = unit_end(point)
        if im.le(end, hi) is not True:
            return out
        out.append((point, end))
        if len(out) > MAX_POINTS:
            raise CqlRuntimeError("expand: too many points")
        point = advance(point)


@node("Expand")
def expand(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``expand x per q``."""
    source, per_fn = comp.operands(elm)

    def run(c: Ctx) -> list[Any] | None:
        value = source(c)
        if value is None:
            return None
        per = per_fn(c)
        if isinstance(value, Interval):
            return [start for start, _ in _units(value, per)]
        out: list[Any] = []
        for iv in value:
            if iv is not None:
                out.extend(Interval(start, end) for start, end in _units(iv, per))
        return out

    return run
