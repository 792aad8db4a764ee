"""Which request resources a hook asks about (CRD §Hooks, ``resp-29``).

Each target is the resource whose coverage is assessed and that receives the
coverage-information update; an Appointment based on a ServiceRequest the EHR shared is
assessed through that ServiceRequest (CRD §Coverage Information: the update goes on the
order).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from davinci_pa.cdshooks.context import ORDER_TYPES
from davinci_pa.crd.orders import Resolver, bundle_resources
from davinci_pa.fhir.json import objects
from davinci_pa.types import Resource

TargetFinder = Callable[[Mapping[str, Any], Resolver], list[Resource]]


def request_targets(hook: str, context: Mapping[str, Any], resolve: Resolver) -> list[Resource]:
    """Return the resources the hook's coverage information is about, in request order."""
    finder = _FINDERS.get(hook)
    return finder(context, resolve) if finder else []


def _draft_orders(context: Mapping[str, Any], _resolve: Resolver) -> list[Resource]:
    return bundle_resources(context.get("draftOrders"), ORDER_TYPES)


def _selected_orders(context: Mapping[str, Any], resolve: Resolver) -> list[Resource]:
    selected = {s for s in context.get("selections") or () if isinstance(s, str)}
    orders = _draft_orders(context, resolve)
    return [o for o in orders if f"{o.get('resourceType')}/{o.get('id')}" in selected]


def _dispatched_orders(context: Mapping[str, Any], resolve: Resolver) -> list[Resource]:
    refs = context.get("dispatchedOrders") or ()
    found = (resolve(ref) for ref in refs if isinstance(ref, str))
    return [r for r in found if r is not None and r.get("resourceType") in ORDER_TYPES]


def _appointments(context: Mapping[str, Any], resolve: Resolver) -> list[Resource]:
    appointments = bundle_resources(context.get("appointments"), frozenset({"Appointment"}))
    return [_based_on_order(a, resolve) or a for a in appointments]


def _based_on_order(appointment: Resource, resolve: Resolver) -> Resource | None:
    for ref in objects(appointment.get("basedOn")):
        target = resolve(ref["reference"]) if isinstance(ref.get("reference"), str) else None
        if target is not None and target.get("resourceType") == "ServiceRequest":
            return target
    return None


def _encounter(context: Mapping[str, Any], resolve: Resolver) -> list[Resource]:
    encounter_id = context.get("encounterId")
    found = resolve(f"Encounter/{encounter_id}") if isinstance(encounter_id, str) else None
    return [found] if found is not None else []


_FINDERS: dict[str, TargetFinder] = {
    "order-sign": _draft_orders,
    "order-select": _selected_orders,
    "order-dispatch": _dispatched_orders,
    "appointment-book": _appointments,
    "encounter-start": _encounter,
    "encounter-discharge": _encounter,
}
