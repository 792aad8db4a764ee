"""Clinical operators: value set membership, age calculation, Message.

CQL §9.13 Clinical Operators (InValueSet, AnyInValueSet, CalculateAge[At]) and §9.14 Errors
and Messaging (Message). Retrieve lives in :mod:`davinci_pa.cql.ops.retrieval`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from davinci_pa.cql.compiler import NodeCompiler, call, node
from davinci_pa.cql.model import FhirChoice
from davinci_pa.cql.ops.fhirhelpers import to_date, to_datetime
from davinci_pa.cql.ops.temporal import now_value
from davinci_pa.cql.runtime import CqlRuntimeError, Ctx, Fn
from davinci_pa.cql.values.clinical import Code, Concept, ValueSetRef
from davinci_pa.cql.values.temporal import Date, DateTime, parse_precision
from davinci_pa.cql.values.temporal_between import calculate_age

CodeKey = tuple[str | None, str | None]


def codings_of(value: Any) -> list[CodeKey]:
    """(system, code) pairs of a Code, Concept, FHIR Coding/CodeableConcept, code or list."""
    if value is None:
        return []
    if isinstance(value, FhirChoice):
        value = value.value
    if isinstance(value, Code):
        return [(value.system, value.code)]
    if isinstance(value, Concept):
        return [(c.system, c.code) for c in value.codes]
    if isinstance(value, str):
        return [(None, value)]
    if isinstance(value, list):
        return [pair for item in value for pair in codings_of(item)]
    if isinstance(value, dict):
        if "coding" in value:
            return codings_of(value["coding"])
        if "code" in value:
            return [(value.get("system"), value.get("code"))]
    return []


def valueset_codes(c: Ctx, ref: ValueSetRef) -> set[CodeKey]:
    """The (system, code) pairs of a value set, cached for the evaluation."""
    key = f"vs:{ref.id}|{ref.version}"
    cached = c.state.today_cache.get(key)
    if cached is None:
        terminology = c.state.terminology
        codes = terminology.expand(ref.id, ref.version) if terminology is not None else None
        if codes is None:
            raise CqlRuntimeError(f"value set {ref.id} is not available")
        cached = {(code.system, code.code) for code in codes}
        c.state.today_cache[key] = cached
    return cached


def matches_any(pairs: list[CodeKey], allowed: set[CodeKey]) -> bool:
    """True when a (system, code) pair is allowed; a code without system matches by code."""
    for system, code in pairs:
        if (system, code) in allowed:
            return True
        if system is None and any(code == other for _, other in allowed):
            return True
    return False


@node("InValueSet", "AnyInValueSet")
def in_valueset(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``code in "ValueSet"`` (any of the codes for AnyInValueSet)."""
    code = comp.compile(elm.get("code") or elm.get("codes"))
    vs_elm = elm.get("valueset") or elm.get("valuesetExpression")
    if isinstance(vs_elm, dict) and "type" not in vs_elm:
        vs_elm = {**vs_elm, "type": "ValueSetRef"}  # ELM 1.5 JSON omits the type of `valueset`
    valueset = comp.compile(vs_elm)

    def run(c: Ctx) -> bool | None:
        value = code(c)
        if value is None:
            return False
        ref = valueset(c)
        if ref is None:
            return None
        return matches_any(codings_of(value), valueset_codes(c, ref))

    return run


@node("CalculateAge", "CalculateAgeAt")
def calculate_age_node(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``AgeIn<unit>s()`` / ``CalculateAgeIn<unit>sAt(birth, asOf)``.

    ``AgeInYears()`` reads ``Patient.birthDate.value``, a FHIR date's JSON string: it is
    parsed as the Date (or DateTime) the operand signature declares.
    """
    unit = parse_precision(elm.get("precision", "Year"))
    args = comp.operands(elm)
    as_datetime = any(name.endswith("DateTime") for name in comp.operand_types(elm))
    parse = to_datetime if as_datetime else to_date
    if len(args) == 2:
        return call(
            lambda b, a: calculate_age(_temporal(b, parse), _temporal(a, parse), unit), args
        )
    (birth,) = args

    def run(c: Ctx) -> Any:
        born = birth(c)
        if born is None:
            return None
        born = _temporal(born, parse)
        now = now_value(c)
        as_of: Date | DateTime = Date(now.parts[:3]) if isinstance(born, Date) else now
        return calculate_age(born, as_of, unit)

    return run


def _temporal(value: Any, parse: Callable[[Any], Any]) -> Any:
    return parse(value) if isinstance(value, str | FhirChoice | dict) else value


@node("Message")
def message(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``Message(source, condition, code, severity, message)``: an Error severity raises."""
    source = comp.compile(elm["source"])
    condition = comp.compile(elm.get("condition"))
    code = comp.compile(elm.get("code"))
    severity = comp.compile(elm.get("severity"))
    text = comp.compile(elm.get("message"))

    def run(c: Ctx) -> Any:
        value = source(c)
        if condition(c) is True and str(severity(c) or "").lower() == "error":
            raise CqlRuntimeError(f"{code(c) or 'Message'}: {text(c) or ''}")
        return value

    return run
