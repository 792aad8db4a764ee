"""What a profile lets a receiver count on: mandatory and must-support data (FHIR R4 §5.1.0.11).

The Da Vinci IGs forbid a server to depend on anything else (CRD conf-8, DTR conf-9, PAS
conf-12). :func:`minimal_by_profile` keeps of an instance only the elements its profile marks
``min >= 1`` or ``mustSupport`` (and the slices so marked), so a test can replay a request
with nothing but that and compare the answers. :func:`non_standard_elements` lists the
elements present that are neither, so a test can check that what we emit conveys its data in
standard elements (CRD conf-13, DTR conf-13, PAS conf-15).

Children of a kept element are stripped only where the profile says something about them
(one of its non-extension children mandatory or must-support); a kept datatype the profile
does not constrain (a ``Reference``, a ``CodeableConcept``) is kept whole, as its sender
meant it, and so is a kept extension (its own definition governs its content).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

from davinci_pa.fhir.validation import Validator
from davinci_pa.fhir.validation.instance import collect
from davinci_pa.fhir.validation.profile import CompiledProfile, ElementRule
from davinci_pa.fhir.validation.slicing import SliceContext, assign

ProfileFor = Callable[[dict[str, Any]], "CompiledProfile | None"]


def declared_profile(validator: Validator) -> ProfileFor:
    """Look a resource's profile up from its first locally known ``meta.profile``."""

    def find(resource: dict[str, Any]) -> CompiledProfile | None:
        for canonical in (resource.get("meta") or {}).get("profile") or []:
            found = validator.get(canonical)
            if found is not None:
                return found
        return None

    return find


def minimal_by_profile(resource: dict[str, Any], profile: CompiledProfile) -> dict[str, Any]:
    """A copy of ``resource`` with only its profile's mandatory and must-support elements."""
    kept = _strip(resource, profile.root, str(resource.get("resourceType", profile.type)))
    kept["resourceType"] = resource["resourceType"]
    if "id" in resource:
        kept["id"] = resource["id"]
    return kept


def minimal_bundle(bundle: dict[str, Any], profile_for: ProfileFor) -> dict[str, Any]:
    """Each entry's resource stripped by its profile (entries without one kept whole), then
    only the entries the first entry still reaches by reference (FHIR R4 §2.36.4.1)."""
    copied = copy.deepcopy(bundle)
    for entry in copied.get("entry", []):
        profile = profile_for(entry["resource"])
        if profile is not None:
            entry["resource"] = minimal_by_profile(entry["resource"], profile)
    copied["entry"] = reachable_entries(copied["entry"])
    return copied


def reachable_entries(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries reached by reference from the first one, in their order."""
    by_key = {_entry_key(e): e for e in entries}
    seen = {_entry_key(entries[0])}
    queue = [entries[0]["resource"]]
    while queue:
        for reference in references_in(queue.pop()):
            key = _reference_key(reference)
            if key in by_key and key not in seen:
                seen.add(key)
                queue.append(by_key[key]["resource"])
    return [e for e in entries if _entry_key(e) in seen]


def references_in(value: Any) -> Iterator[str]:
    """Every ``reference`` string anywhere in a JSON value."""
    if isinstance(value, dict):
        if isinstance(value.get("reference"), str):
            yield value["reference"]
        for child in value.values():
            yield from references_in(child)
    elif isinstance(value, list):
        for child in value:
            yield from references_in(child)


def non_standard_elements(resource: dict[str, Any], profile: CompiledProfile) -> list[str]:
    """Paths of elements present in ``resource`` that its profile neither requires nor marks
    must-support (within kept elements whose children the profile constrains)."""
    found: list[str] = []
    _extra(resource, profile.root, str(resource.get("resourceType", profile.type)), found)
    return found


# -- the walk ------------------------------------------------------------------------------


def _matters(rule: ElementRule) -> bool:
    return rule.min > 0 or rule.must_support


def _constrains_children(rule: ElementRule) -> bool:
    """Whether the profile marks any non-extension child mandatory or must-support."""
    return any(
        _matters(c) or any(_matters(s) for s in c.slices)
        for name, c in rule.element_children().items()
        if name not in {"id", "extension", "modifierExtension"}
    )


def _strip(obj: dict[str, Any], rule: ElementRule, path: str) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for child in rule.element_children().values():
        items = collect(obj, child, path)
        if not items:
            continue
        slices = assign(items, child, SliceContext())
        values = [
            _kept_value(item.value, slice_rule or child, item.path)
            for item, slice_rule in zip(items, slices, strict=True)
            if _matters(slice_rule or child)
        ]
        if values:
            key = items[0].key
            twin = obj.get("_" + key)
            kept[key] = values if isinstance(obj[key], list) else values[0]
            if twin is not None and not isinstance(obj[key], list):
                kept["_" + key] = twin
    return kept


def _atomic(value: Any, rule: ElementRule) -> bool:
    """Kept as it is: a primitive, a resource, an extension (its own definition governs it) or
    a datatype whose children the profile does not constrain."""
    return (
        not isinstance(value, dict)
        or "resourceType" in value
        or "Extension" in rule.type_codes()
        or not _constrains_children(rule)
    )


def _kept_value(value: Any, rule: ElementRule, path: str) -> Any:
    if _atomic(value, rule):
        return copy.deepcopy(value)
    return _strip(value, rule, path) or copy.deepcopy(value)


def _extra(obj: dict[str, Any], rule: ElementRule, path: str, found: list[str]) -> None:
    for name, child in rule.element_children().items():
        if "." not in rule.path and name in {"id", "meta"}:
            continue  # a resource's id and meta are bookkeeping, not data it conveys
        items = collect(obj, child, path)
        slices = assign(items, child, SliceContext())
        for item, slice_rule in zip(items, slices, strict=True):
            governing = slice_rule or child
            if not _matters(governing):
                found.append(item.path)
                continue
            if not _atomic(item.value, governing):
                _extra(item.value, governing, item.path, found)


def _entry_key(entry: dict[str, Any]) -> str:
    resource = entry["resource"]
    return f"{resource['resourceType']}/{resource.get('id', entry.get('fullUrl', ''))}"


def _reference_key(reference: str) -> str:
    parts = reference.split("/_history/")[0].split("/")
    return "/".join(parts[-2:])
