"""CQL numeric limits and Decimal precision rules (CQL §2.1.1: 28 digits, scale 8)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
LONG_MIN = -(2**63)
LONG_MAX = 2**63 - 1
DECIMAL_MAX = Decimal("99999999999999999999.99999999")
DECIMAL_MIN = -DECIMAL_MAX
DECIMAL_STEP = Decimal("0.00000001")
CONTEXT = Context(prec=40, rounding=ROUND_HALF_UP)


def normalize_decimal(value: Decimal) -> Decimal | None:
    """Round to at most 8 decimal places; return None when outside the Decimal range."""
    if not value.is_finite():
        return None
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -8:
        value = value.quantize(DECIMAL_STEP, rounding=ROUND_HALF_UP, context=CONTEXT)
    if value > DECIMAL_MAX or value < DECIMAL_MIN:
        return None
    return value


def check_int(value: int) -> int | None:
    """Return the value if it fits a 32-bit Integer, else None (overflow yields null)."""
    return value if INT_MIN <= value <= INT_MAX else None


def check_long(value: int) -> int | None:
    """Return the value if it fits a 64-bit Long, else None."""
    return value if LONG_MIN <= value <= LONG_MAX else None


def parse_decimal(text: str) -> Decimal | None:
    """Parse a CQL Decimal literal, or None if the text is not one."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None
