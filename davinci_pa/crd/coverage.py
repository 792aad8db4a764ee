"""Find the Coverage an order falls under and the payer it belongs to.

CRD ``resp-43``..``resp-45``: an unknown member, no active coverage or no single coverage
are business answers (``not-covered`` with a reason), not errors. CRD ``hook-13``: a primary
Coverage whose payer this endpoint does not serve gets HTTP 400 (``payer-not-served``), and so
does one whose payer cannot be identified at all (``payer-not-identified``: no payor
identifier or name, and the payor Organization neither sent nor queryable).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NoReturn

from davinci_pa.crd.orders import Resolver
from davinci_pa.errors import PayerNotIdentified, PayerNotServed
from davinci_pa.fhir.codes import normalize_system
from davinci_pa.fhir.json import obj, objects
from davinci_pa.rules.model import Payer
from davinci_pa.types import Resource


@dataclass(frozen=True, slots=True)
class CoverageMatch:
    """The coverage an order is assessed under, or the reason there is none."""

    coverage: Resource | None = None
    payer: Payer | None = None
    reason: str | None = None

    @property
    def reference(self) -> str | None:
        """The relative reference of the matched Coverage."""
        if self.coverage is None or not self.coverage.get("id"):
            return None
        return f"Coverage/{self.coverage['id']}"


def match_coverage(
    order: Resource,
    *,
    member_found: bool,
    coverages: Sequence[Resource],
    payers: Sequence[Payer],
    resolve: Resolver,
    today: date,
) -> CoverageMatch:
    """Pick the one active Coverage of a served payer that applies to ``order``.

    Raises:
        PayerNotIdentified: no active coverage names a payer that can be identified.
        PayerNotServed: the active coverages belong to payers we do not serve.
    """
    if not member_found:
        return CoverageMatch(reason="no-member-found")
    candidates = _order_insurance(order, resolve) or list(coverages)
    active = [c for c in candidates if _is_active(c, today)]
    if not active:
        return CoverageMatch(reason="no-active-coverage")
    served = [(c, p) for c in active if (p := payer_of(c, payers, resolve)) is not None]
    if not served:
        _raise_unserved(active, resolve)
    if len(served) > 1:
        served.sort(key=lambda pair: _order_rank(pair[0]))
        if _order_rank(served[0][0]) == _order_rank(served[1][0]):
            return CoverageMatch(reason="coverage-not-found")
    coverage, payer = served[0]
    return CoverageMatch(coverage=coverage, payer=payer)


def _raise_unserved(active: Sequence[Resource], resolve: Resolver) -> NoReturn:
    named = [c for c in active if any(_identified(p, resolve) for p in _payors(c))]
    if not named:
        problems = [f"Coverage.payor: {_unidentified(c)}" for c in active]
        raise PayerNotIdentified(
            "the payer could not be identified: the order's Coverage names no payor "
            "identifier or name, and the payor cannot be resolved",
            details={"problems": problems},
        )
    raise PayerNotServed(
        "the order's Coverage names a payer this endpoint does not serve",
        details={"problems": [f"Coverage.payor: {_describe(named[0], resolve)}"]},
    )


def _unidentified(coverage: Resource) -> str:
    refs = [p["reference"] for p in _payors(coverage) if isinstance(p.get("reference"), str)]
    if not refs:
        return "no payor"
    return (
        f"{', '.join(refs)} has no identifier or name we can see: not in the request, not queryable"
    )


def _identified(payor: dict[str, Any], resolve: Resolver) -> bool:
    identifiers, names = _payor_identity(payor, resolve)
    return bool(identifiers or names)


def payer_of(coverage: Resource, payers: Sequence[Payer], resolve: Resolver) -> Payer | None:
    """Return the served payer named by ``Coverage.payor``, matching identifiers then names."""
    for payor in _payors(coverage):
        identifiers, names = _payor_identity(payor, resolve)
        for payer in payers:
            if identifiers & payer.identifiers or names & payer.names:
                return payer
    return None


def _payors(coverage: Resource) -> Iterable[dict[str, Any]]:
    return objects(coverage.get("payor"))


def _payor_identity(
    payor: dict[str, Any], resolve: Resolver
) -> tuple[set[tuple[str, str]], set[str]]:
    identifiers = set(_identifiers(payor.get("identifier")))
    names = {payor["display"].casefold()} if isinstance(payor.get("display"), str) else set()
    target = resolve(payor["reference"]) if isinstance(payor.get("reference"), str) else None
    if target is not None:
        identifiers.update(_identifiers(target.get("identifier")))
        if isinstance(target.get("name"), str):
            names.add(target["name"].casefold())
    return identifiers, names


def _identifiers(raw: Any) -> Iterable[tuple[str, str]]:
    items = raw if isinstance(raw, list) else [raw]
    for item in items:
        if isinstance(item, dict):
            system, value = item.get("system"), item.get("value")
            if isinstance(system, str) and isinstance(value, str):
                yield normalize_system(system), value


def _order_insurance(order: Resource, resolve: Resolver) -> list[Resource]:
    found = []
    for ref in order.get("insurance") or ():
        target = resolve(ref["reference"]) if isinstance(ref, dict) and "reference" in ref else None
        if target is not None and target.get("resourceType") == "Coverage":
            found.append(target)
    return found


def _is_active(coverage: Resource, today: date) -> bool:
    if coverage.get("status") != "active":
        return False
    period = obj(coverage.get("period"))
    start, end = period.get("start"), period.get("end")
    iso = today.isoformat()
    starts_ok = not isinstance(start, str) or start[:10] <= iso
    return starts_ok and (not isinstance(end, str) or end[:10] >= iso)


def _order_rank(coverage: Resource) -> int:
    order = coverage.get("order")
    return order if isinstance(order, int) else 1_000_000


def _describe(coverage: Resource, resolve: Resolver) -> str:
    seen: list[str] = []
    for payor in _payors(coverage):
        identifiers, names = _payor_identity(payor, resolve)
        seen.extend(f"{s}|{v}" for s, v in sorted(identifiers))
        seen.extend(sorted(names))
    return ", ".join(seen) or "no payer identifier or name"
