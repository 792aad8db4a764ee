"""ELM ``Retrieve``: resources of a type from the DataProvider, filtered by codes and dates.

ELM §Retrieve: ``codes`` filters on ``codeProperty`` (default ``code``) by value set or code
list; ``dateRange`` keeps resources whose clinically relevant date falls within the range,
read from ``dateProperty`` (a dateTime/instant/date or a Period) or from the
``dateLowProperty``/``dateHighProperty`` pair. "Falls within" follows FHIR R4
DataRequirement.dateFilter: a date must lie in the range, a period must be included in it,
bounds inclusive per the range; a resource without the date, or whose inclusion is unknown
(null), is left out.
"""

from __future__ import annotations

from typing import Any

from davinci_pa.cql.compiler import NodeCompiler, node
from davinci_pa.cql.model import FhirChoice
from davinci_pa.cql.ops.clinical import CodeKey, codings_of, matches_any, valueset_codes
from davinci_pa.cql.ops.fhirhelpers import to_datetime, to_interval
from davinci_pa.cql.runtime import CqlRuntimeError, Ctx, Fn
from davinci_pa.cql.types import split_qname
from davinci_pa.cql.values import interval_math as im
from davinci_pa.cql.values.clinical import ValueSetRef
from davinci_pa.cql.values.interval import Interval
from davinci_pa.types import Resource


def resource_path(resource: Resource, path: str) -> Any:
    """Follow a dotted element path in FHIR JSON.

    A step also matches a choice element: ``effective`` finds ``effectiveDateTime`` or
    ``effectivePeriod``, returned as a :class:`FhirChoice`.
    """
    value: Any = resource
    for step in path.split("."):
        if isinstance(value, FhirChoice):
            value = value.value
        if not isinstance(value, dict):
            return None
        found = value.get(step)
        if found is None:
            found = next(
                (
                    FhirChoice(k[len(step) :], v)
                    for k, v in value.items()
                    if k.startswith(step) and k[len(step) :][:1].isupper()
                ),
                None,
            )
        value = found
    return value


def _filter_set(c: Ctx, codes: Any) -> set[CodeKey]:
    if isinstance(codes, ValueSetRef):
        return valueset_codes(c, codes)
    return set(codings_of(codes))


def clinical_date(resource: Resource, elm: dict[str, Any]) -> Any:
    """The resource's clinically relevant date: a DateTime, an Interval of them, or None."""
    prop = elm.get("dateProperty")
    if prop:
        value = resource_path(resource, prop)
        raw = value.value if isinstance(value, FhirChoice) else value
        if isinstance(raw, dict):
            return to_interval(raw)
        return to_datetime(raw)
    low = to_datetime(resource_path(resource, elm.get("dateLowProperty") or ""))
    high = to_datetime(resource_path(resource, elm.get("dateHighProperty") or ""))
    if low is None and high is None:
        return None
    return Interval(low, high)


def falls_within(value: Any, date_range: Interval) -> bool:
    """True when a date lies in the range or an interval is included in it (null: False)."""
    if value is None:
        return False
    if isinstance(value, Interval):
        return im.includes(date_range, value) is True
    return im.contains_point(date_range, value) is True


@node("Retrieve")
def retrieve(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``[Type: codePath in codes]`` over the evaluation's DataProvider, date-filtered."""
    resource_type = split_qname(elm["dataType"])[1]
    codes = comp.compile(elm["codes"]) if elm.get("codes") else None
    code_path = elm.get("codeProperty", "code")
    date_range = comp.compile(elm["dateRange"]) if elm.get("dateRange") else None
    if date_range is not None and not (
        elm.get("dateProperty") or elm.get("dateLowProperty") or elm.get("dateHighProperty")
    ):
        date_range = None  # a range without a date property filters nothing (ELM §Retrieve)

    def run(c: Ctx) -> list[Any]:
        data = c.state.data
        if data is None:
            return []
        resources = list(data.resources(resource_type))
        if codes is not None:
            wanted = codes(c)
            if wanted is None:
                return []
            allowed = _filter_set(c, wanted)
            resources = [
                r
                for r in resources
                if matches_any(codings_of(resource_path(r, code_path)), allowed)
            ]
        if date_range is not None:
            window = date_range(c)
            if window is None:
                return resources
            if not isinstance(window, Interval):
                raise CqlRuntimeError("Retrieve dateRange must be an Interval")
            resources = [r for r in resources if falls_within(clinical_date(r, elm), window)]
        return resources

    return run
