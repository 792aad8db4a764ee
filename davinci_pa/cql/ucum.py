"""UCUM unit expressions: parsing, commensurability and conversion (our own table).

Implements the case-sensitive UCUM syntax (unitsofmeasure.org, §§1-7): metric prefixes,
integer exponents (``cm2``, ``s-1``), multiplication ``.``, division ``/`` (also leading,
``/min``), parentheses, annotations ``{...}`` (a lone annotation means ``1``), ``10*3`` /
``10^3`` factors, integer factors and bracketed units (``[in_i]``, ``mm[Hg]``, ``[arb'U]``).

The atom table covers the SI base and derived units, the clinical units met in FHIR data and
the CQL conformance suite (g, m, L, s, mol, eq, osm, kat, U, Pa, bar, mm[Hg], cal, %, ppm, time
units min..a, US customary length/mass/volume) and the special units:

- ``Cel`` and ``[degF]`` are affine: converting a lone temperature applies the offset; inside a
  compound unit they count as their degree size (a temperature difference).
- Arbitrary units (``[IU]``, ``[iU]``, ``[arb'U]``...) are commensurable only with themselves.
- ``mol`` (and ``eq``, ``osm``) are Avogadro's number of ``1``, as UCUM defines them.

Public API:

- :func:`parse_unit` ``(code) -> Unit``: raises :class:`UcumError` for an invalid expression.
  ``Unit.factor`` (a ``Fraction`` relative to the base units), ``Unit.dims`` (sorted
  ``(base, exponent)`` pairs, arbitrary units included) and ``Unit.affine`` (the special scale
  of a lone temperature unit, else ``None``).
- :func:`is_valid` ``(code) -> bool``; :func:`commensurable` ``(a, b) -> bool``.
- :func:`convert` ``(value, from_code, to_code) -> Decimal``: raises :class:`UcumError` when
  the units are invalid or not commensurable. Results carry up to 28 significant digits; the
  caller applies CQL's 8-decimal rule.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import Context, Decimal
from fractions import Fraction

from davinci_pa.errors import CqlEvaluationError

__all__ = ["Unit", "UcumError", "commensurable", "convert", "is_valid", "parse_unit"]


class UcumError(CqlEvaluationError):
    """A unit expression is not valid UCUM, or two units are not commensurable."""


Dims = tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Unit:
    """A parsed unit: ``factor`` times the product of base units ``dims``."""

    factor: Fraction
    dims: Dims
    affine: str | None = None


ONE = Unit(Fraction(1), ())

PREFIXES: dict[str, Fraction] = {
    "Y": Fraction(10**24),
    "Z": Fraction(10**21),
    "E": Fraction(10**18),
    "P": Fraction(10**15),
    "T": Fraction(10**12),
    "G": Fraction(10**9),
    "M": Fraction(10**6),
    "k": Fraction(10**3),
    "h": Fraction(10**2),
    "da": Fraction(10),
    "d": Fraction(1, 10),
    "c": Fraction(1, 100),
    "m": Fraction(1, 10**3),
    "u": Fraction(1, 10**6),
    "n": Fraction(1, 10**9),
    "p": Fraction(1, 10**12),
    "f": Fraction(1, 10**15),
    "a": Fraction(1, 10**18),
    "z": Fraction(1, 10**21),
    "y": Fraction(1, 10**24),
}

# atom: (definition in other units or base symbol, magnitude, metric?)
# A definition of "" means the atom is dimensionless; "=base" makes it a base unit.
_DEFS: dict[str, tuple[str, str, bool]] = {
    "m": ("=m", "1", True),
    "s": ("=s", "1", True),
    "g": ("=g", "1", True),
    "rad": ("=rad", "1", True),
    "K": ("=K", "1", True),
    "C": ("=C", "1", True),
    "cd": ("=cd", "1", True),
    "[IU]": ("=[IU]", "1", True),
    "[iU]": ("=[IU]", "1", True),
    "[arb'U]": ("=[arb'U]", "1", False),
    "[USP'U]": ("=[USP'U]", "1", False),
    "[pH]": ("=[pH]", "1", False),
    "10*": ("", "10", False),
    "10^": ("", "10", False),
    "[pi]": ("", "3.1415926535897932384626433832795028841971693993751058209749445923", False),
    "%": ("", "0.01", False),
    "[ppth]": ("", "0.001", False),
    "[ppm]": ("", "0.000001", False),
    "[ppb]": ("", "0.000000001", False),
    "[pptr]": ("", "0.000000000001", False),
    "mol": ("", "6.0221367e23", True),
    "eq": ("mol", "1", True),
    "osm": ("mol", "1", True),
    "kat": ("mol/s", "1", True),
    "U": ("umol/min", "1", True),
    "sr": ("rad2", "1", True),
    "Hz": ("s-1", "1", True),
    "N": ("kg.m/s2", "1", True),
    "Pa": ("N/m2", "1", True),
    "J": ("N.m", "1", True),
    "W": ("J/s", "1", True),
    "A": ("C/s", "1", True),
    "V": ("J/C", "1", True),
    "F": ("C/V", "1", True),
    "Ohm": ("V/A", "1", True),
    "S": ("Ohm-1", "1", True),
    "Wb": ("V.s", "1", True),
    "T": ("Wb/m2", "1", True),
    "H": ("Wb/A", "1", True),
    "lm": ("cd.sr", "1", True),
    "lx": ("lm/m2", "1", True),
    "Bq": ("s-1", "1", True),
    "Gy": ("J/kg", "1", True),
    "Sv": ("J/kg", "1", True),
    "Cel": ("K", "1", True),
    "[degF]": ("K", "5/9", False),
    "l": ("dm3", "1", True),
    "L": ("l", "1", True),
    "ar": ("m2", "100", True),
    "g%": ("g/dl", "1", True),
    "t": ("kg", "1000", True),
    "bar": ("Pa", "100000", True),
    "atm": ("Pa", "101325", False),
    "m[Hg]": ("kPa", "133.3220", True),
    "m[H2O]": ("kPa", "9.80665", True),
    "cal": ("J", "4.184", True),
    "[Cal]": ("kcal", "1", False),
    "min": ("s", "60", False),
    "h": ("min", "60", False),
    "d": ("h", "24", False),
    "wk": ("d", "7", False),
    "a": ("d", "365.25", False),
    "a_j": ("d", "365.25", False),
    "a_t": ("d", "365.24219", False),
    "a_g": ("d", "365.2425", False),
    "mo": ("a/12", "1", False),
    "mo_j": ("a_j/12", "1", False),
    "mo_g": ("a_g/12", "1", False),
    "deg": ("[pi].rad/360", "2", False),
    "[in_i]": ("cm", "2.54", False),
    "[ft_i]": ("[in_i]", "12", False),
    "[yd_i]": ("[ft_i]", "3", False),
    "[mi_i]": ("[ft_i]", "5280", False),
    "[gr]": ("mg", "64.79891", False),
    "[lb_av]": ("[gr]", "7000", False),
    "[oz_av]": ("[lb_av]/16", "1", False),
    "[ston_av]": ("[lb_av]", "14", False),
    "[gal_us]": ("[in_i]3", "231", False),
    "[qt_us]": ("[gal_us]/4", "1", False),
    "[pt_us]": ("[qt_us]/2", "1", False),
    "[foz_us]": ("[gal_us]/128", "1", False),
    "[tbs_us]": ("[foz_us]/2", "1", False),
    "[tsp_us]": ("[tbs_us]/3", "1", False),
    "[cup_us]": ("[tbs_us]", "16", False),
    "[drp]": ("ml/20", "1", False),
}

# kelvin = (value + shift) * scale
_AFFINE = {
    "Cel": (Fraction(1), Fraction(27315, 100)),
    "[degF]": (Fraction(5, 9), Fraction(45967, 100)),
}
_EXPONENT = re.compile(r"([+-]?\d+)$")
_TOKEN = re.compile(r"\.|/|\(|\)|\{[^{}]*\}|[^./(){}]+")
_CONTEXT = Context(prec=34)


def _mul(a: Unit, b: Unit, sign: int = 1) -> Unit:
    dims = dict(a.dims)
    for base, exp in b.dims:
        dims[base] = dims.get(base, 0) + sign * exp
    factor = a.factor * b.factor if sign > 0 else a.factor / b.factor
    return Unit(factor, tuple(sorted((k, v) for k, v in dims.items() if v)))


def _power(unit: Unit, exponent: int) -> Unit:
    dims = tuple((base, exp * exponent) for base, exp in unit.dims)
    return Unit(unit.factor**exponent, dims, unit.affine if exponent == 1 else None)


@functools.cache
def _atom(symbol: str) -> Unit | None:
    """The unit of a bare atom (no prefix, no exponent), or ``None`` if unknown."""
    entry = _DEFS.get(symbol)
    if entry is None:
        return None
    definition, magnitude, _metric = entry
    factor = Fraction(Decimal(magnitude)) if "/" not in magnitude else Fraction(magnitude)
    if definition.startswith("="):
        return Unit(factor, ((definition[1:], 1),), None)
    base = _parse(definition) if definition else ONE
    return Unit(base.factor * factor, base.dims, symbol if symbol in _AFFINE else None)


@functools.cache
def _prefixed(symbol: str) -> Unit | None:
    """An atom, optionally preceded by a metric prefix, without exponent."""
    atom = _atom(symbol)
    if atom is not None:
        return atom
    for size in (2, 1):
        prefix, rest = symbol[:size], symbol[size:]
        if prefix in PREFIXES and rest in _DEFS and _DEFS[rest][2]:
            base = _atom(rest)
            if base is not None:
                return Unit(base.factor * PREFIXES[prefix], base.dims, None)
    return None


def _simple(symbol: str) -> Unit:
    """A simple unit with optional exponent, or an integer factor."""
    if symbol.isdecimal():
        return Unit(Fraction(int(symbol)), ())
    if symbol[:3] in ("10*", "10^"):
        exponent = symbol[3:]
        if re.fullmatch(r"[+-]?\d+", exponent) is None:
            raise UcumError(f"invalid power of ten {symbol!r}")
        return Unit(Fraction(10) ** int(exponent), ())
    unit = _prefixed(symbol)
    if unit is not None:
        return unit
    match = _EXPONENT.search(symbol)
    if match is not None and match.start() > 0:
        unit = _prefixed(symbol[: match.start()])
        if unit is not None:
            return _power(unit, int(match.group(1)))
    raise UcumError(f"unknown UCUM unit {symbol!r}")


class _Parser:
    """Recursive-descent parser over the tokens of one expression."""

    def __init__(self, code: str) -> None:
        self.tokens: list[str] = _TOKEN.findall(code)
        if "".join(self.tokens) != code:
            raise UcumError(f"invalid characters in UCUM unit {code!r}")
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def term(self) -> Unit:
        unit = ONE if self.peek() == "/" else self.component()
        while self.peek() in (".", "/"):
            op = self.take()
            unit = _mul(unit, self.component(), 1 if op == "." else -1)
        return unit

    def component(self) -> Unit:
        token = self.peek()
        if token is None or token in (".", "/", ")"):
            raise UcumError("a unit term is missing")
        self.take()
        if token == "(":
            unit = self.term()
            if self.peek() != ")":
                raise UcumError("unbalanced parenthesis in UCUM unit")
            self.take()
        elif token.startswith("{"):
            return ONE
        else:
            unit = _simple(token)
        if (self.peek() or "").startswith("{"):
            self.take()
        return unit


@functools.cache
def _parse(code: str) -> Unit:
    if not code:
        raise UcumError("empty UCUM unit")
    parser = _Parser(code)
    unit = parser.term()
    if parser.peek() is not None:
        raise UcumError(f"unexpected {parser.peek()!r} in UCUM unit {code!r}")
    return unit


def parse_unit(code: str) -> Unit:
    """Parse a case-sensitive UCUM expression; raises :class:`UcumError` when invalid."""
    return _parse(code)


def is_valid(code: str) -> bool:
    """Whether ``code`` is a UCUM expression this table understands."""
    try:
        _parse(code)
    except UcumError:
        return False
    return True


def commensurable(a: str, b: str) -> bool:
    """Whether values in unit ``a`` can be converted to unit ``b``."""
    try:
        return _parse(a).dims == _parse(b).dims
    except UcumError:
        return False


def _to_decimal(value: Fraction) -> Decimal:
    return _CONTEXT.divide(Decimal(value.numerator), Decimal(value.denominator))


def convert(value: Decimal, from_code: str, to_code: str) -> Decimal:
    """Convert ``value`` from one unit to another; raises :class:`UcumError` if impossible."""
    if from_code == to_code:
        return value
    source, target = _parse(from_code), _parse(to_code)
    if source.dims != target.dims:
        raise UcumError(f"cannot convert {from_code!r} to {to_code!r}: not commensurable")
    exact = Fraction(value)
    if source.affine is not None and target.affine is not None:
        scale, shift = _AFFINE[source.affine]
        kelvin = (exact + shift) * scale
        scale, shift = _AFFINE[target.affine]
        return _to_decimal(kelvin / scale - shift)
    if source.affine is not None or target.affine is not None:
        affine = source.affine or target.affine
        scale, shift = _AFFINE[affine or ""]
        if source.affine is not None:
            return _to_decimal((exact + shift) * scale / target.factor)
        return _to_decimal(exact * source.factor / scale - shift)
    return _to_decimal(exact * source.factor / target.factor)
