"""UCUM parsing and conversion against hand-checked values."""

from __future__ import annotations

from decimal import Decimal

import pytest

from davinci_pa.cql import ucum
from davinci_pa.errors import CqlEvaluationError


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        ("1", "cm", "m", "0.01"),
        ("1", "m", "cm", "100"),
        ("1", "g/cm3", "kg/L", "1"),
        ("1", "g/dL", "mg/mL", "10"),
        ("100", "Cel", "[degF]", "212"),
        ("98.6", "[degF]", "Cel", "37"),
        ("0", "K", "Cel", "-273.15"),
        ("37", "Cel", "K", "310.15"),
        ("120", "mm[Hg]", "kPa", "15.99864"),
        ("150", "[lb_av]", "kg", "68.0388555"),
        ("1", "[oz_av]", "g", "28.349523125"),
        ("1", "[in_i]", "cm", "2.54"),
        ("1", "[ft_i]", "m", "0.3048"),
        ("1", "a", "d", "365.25"),
        ("1", "mo", "d", "30.4375"),
        ("1", "wk", "h", "168"),
        ("90", "min", "h", "1.5"),
        ("1", "ms", "s", "0.001"),
        ("5", "10*3/uL", "10*9/L", "5"),
        ("5", "10^3/uL", "10*9/L", "5"),
        ("1", "mmol/L", "mol/m3", "1"),
        ("50", "%", "1", "0.5"),
        ("60", "/min", "Hz", "1"),
        ("1", "mL/min/{1.73_m2}", "L/h", "0.06"),
        ("2", "meq/L", "mmol/L", "2"),
        ("1", "kat", "mol/s", "1"),
        ("1", "[IU]", "m[IU]", "1000"),
        ("1", "[iU]", "[IU]", "1"),
        ("1", "bar", "kPa", "100"),
        ("1", "atm", "Pa", "101325"),
        ("1", "kcal", "kJ", "4.184"),
        ("1", "[gal_us]", "[qt_us]", "4"),
        ("1", "[tbs_us]", "[tsp_us]", "3"),
        ("1", "N", "kg.m.s-2", "1"),
        ("1", "J", "kg.m2/s2", "1"),
        ("1", "m2", "cm2", "10000"),
        ("1", "(m.s)/s", "m", "1"),
        ("1", "{cells}", "1", "1"),
        ("1", "mol", "1", "602213670000000000000000"),
        ("1", "L", "dm3", "1"),
        ("1", "dL", "mL", "100"),
        ("1", "g%", "g/dL", "1"),
    ],
)
def test_convert(value: str, source: str, target: str, expected: str) -> None:
    assert ucum.convert(Decimal(value), source, target) == Decimal(expected)


@pytest.mark.parametrize(
    "code",
    [
        "1",
        "mg",
        "mg/dL",
        "cm3",
        "s-1",
        "/min",
        "%",
        "[lb_av]",
        "[arb'U]",
        "{eskimo_kisses}",
        "mL/min/{1.73_m2}",
        "10*3/uL",
        "kg.m/s2",
        "(mg/d)/kg",
        "mm[Hg]",
        "g%",
    ],
)
def test_valid_units(code: str) -> None:
    assert ucum.is_valid(code)


@pytest.mark.parametrize(
    "code", ["", "foo", "m/", "(m", "m)", "[IU]/", "mg/dL{x", "mEq", "10*x", "m g", "./m"]
)
def test_invalid_units(code: str) -> None:
    assert not ucum.is_valid(code)
    with pytest.raises(ucum.UcumError):
        ucum.parse_unit(code)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("mg/dL", "g/L", True),
        ("[IU]", "[arb'U]", False),
        ("[IU]/L", "m[IU]/mL", True),
        ("mol", "1", True),
        ("g", "m", False),
        ("Cel", "K", True),
        ("Cel/h", "K/h", True),
        ("x", "x", False),
    ],
)
def test_commensurable(a: str, b: str, expected: bool) -> None:
    assert ucum.commensurable(a, b) is expected


def test_incommensurable_conversion_raises_cql_error() -> None:
    with pytest.raises(CqlEvaluationError, match="not commensurable"):
        ucum.convert(Decimal(1), "g", "m")


def test_unit_factor_and_dims() -> None:
    unit = ucum.parse_unit("mg/dL")
    assert unit.dims == (("g", 1), ("m", -3))
    assert unit.affine is None
    assert ucum.parse_unit("Cel").affine == "Cel"
    assert ucum.parse_unit("mCel").affine is None
