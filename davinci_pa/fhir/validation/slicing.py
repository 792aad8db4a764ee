"""Assigning values to slices by their discriminators (FHIR R4 §5.1.0.5 Slicing).

Supports the discriminator types the Da Vinci IGs use: ``value`` and ``pattern`` (compared
with the slice's fixed or pattern value at the discriminator path, the extension URL of a
typed extension slice, or membership in the slice's required binding there), ``type`` (the
value's type or the type of a resource), ``exists`` and ``profile`` (conformance to the
slice's profile, decided by a callback).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from davinci_pa.fhir.validation.instance import (
    Item,
    Resolver,
    equals_fixed,
    matches_pattern,
    navigate,
    split_path,
)
from davinci_pa.fhir.validation.profile import Discriminator, ElementRule

ProfileTest = Callable[[Any, Sequence[str]], bool]
"""``(value, profile canonicals) -> conforms``: used by ``profile`` discriminators."""
MembershipTest = Callable[[str, Any], "bool | None"]
"""``(ValueSet canonical, coded value) -> member`` (``None``: cannot tell)."""


@dataclass(frozen=True, slots=True)
class SliceContext:
    """What discriminator evaluation needs from its surroundings."""

    resolve: Resolver | None = None
    conforms: ProfileTest | None = None
    member_of: MembershipTest | None = None


def assign(items: Sequence[Item], base: ElementRule, ctx: SliceContext) -> list[ElementRule | None]:
    """Return, for each item, the first slice of ``base`` it belongs to (``None``: no slice)."""
    if base.slicing is None or not base.slices:
        return [None] * len(items)
    discriminators = base.slicing.discriminators
    index = _text_index(base)
    if index is not None:
        path = discriminators[0].path
        return [_indexed(item, path, index, base.slices, ctx) for item in items]
    return [
        next((s for s in base.slices if _in_slice(item, s, discriminators, ctx)), None)
        for item in items
    ]


def _text_index(base: ElementRule) -> dict[str, ElementRule] | None:
    """Map value to first slice when one value/pattern discriminator fixes text on each slice.

    Text compares by equality under both fixed and pattern semantics, so a dictionary
    lookup decides what the scan over the slices would (extension slices by ``url``, the
    commonest case). Built once per element rule; empty when the slicing is of another kind.
    """
    if base.slice_index is None:
        base.slice_index = _build_index(base)
    return base.slice_index or None


def _build_index(base: ElementRule) -> dict[str, ElementRule]:
    assert base.slicing is not None
    discriminators = base.slicing.discriminators
    if len(discriminators) != 1 or discriminators[0].type not in ("value", "pattern"):
        return {}
    index: dict[str, ElementRule] = {}
    for slice_rule in base.slices:
        expected, _exact = expected_value(slice_rule, discriminators[0].path)
        if not isinstance(expected, str):
            return {}
        index.setdefault(expected, slice_rule)
    return index


def _indexed(
    item: Item,
    path: str,
    index: dict[str, ElementRule],
    order: Sequence[ElementRule],
    ctx: SliceContext,
) -> ElementRule | None:
    found = [
        index[v]
        for v, _ in navigate(item.value, path, ctx.resolve)
        if isinstance(v, str) and v in index
    ]
    if not found:
        return None
    return min(found, key=order.index) if len(found) > 1 else found[0]


def _in_slice(
    item: Item, slice_rule: ElementRule, discriminators: Sequence[Discriminator], ctx: SliceContext
) -> bool:
    if not discriminators:
        return False
    return all(_matches(item, slice_rule, d, ctx) for d in discriminators)


def _matches(item: Item, slice_rule: ElementRule, disc: Discriminator, ctx: SliceContext) -> bool:
    if disc.type in ("value", "pattern"):
        return _value_matches(item, slice_rule, disc.path, ctx)
    if disc.type == "type":
        return _type_matches(item, slice_rule, disc.path, ctx)
    if disc.type == "exists":
        target = rule_at(slice_rule, disc.path)
        present = bool(navigate(item.value, disc.path, ctx.resolve))
        return target is not None and present == (target.min > 0)
    if disc.type == "profile" and ctx.conforms is not None:
        target = rule_at(slice_rule, disc.path)
        profiles = [p for t in (target.types if target else ()) for p in t.profiles]
        values = [v for v, _ in navigate(item.value, disc.path, ctx.resolve)]
        return bool(profiles) and any(ctx.conforms(v, profiles) for v in values)
    return False


def _value_matches(item: Item, slice_rule: ElementRule, path: str, ctx: SliceContext) -> bool:
    expected, exact = expected_value(slice_rule, path)
    found = [v for v, _ in navigate(item.value, path, ctx.resolve)]
    if expected is None:
        return _bound_matches(found, rule_at(slice_rule, path), ctx)
    if exact:
        return any(equals_fixed(v, expected) for v in found)
    return any(matches_pattern(v, expected) for v in found)


def _bound_matches(found: list[Any], target: ElementRule | None, ctx: SliceContext) -> bool:
    """FHIR §5.1.0.5: a value/pattern discriminator may be set by a required binding."""
    binding = target.binding if target is not None else None
    if binding is None or binding.strength != "required" or ctx.member_of is None:
        return False
    return any(ctx.member_of(binding.value_set, v) is True for v in found)


def _type_matches(item: Item, slice_rule: ElementRule, path: str, ctx: SliceContext) -> bool:
    target = rule_at(slice_rule, path)
    if target is None:
        return False
    allowed = set(target.type_codes())
    if path == "$this":
        actual = item.type_code
        if isinstance(item.value, dict) and "resourceType" in item.value:
            actual = item.value["resourceType"]
        return actual in allowed
    for value, type_code in navigate(item.value, path, ctx.resolve):
        actual = value.get("resourceType") if isinstance(value, dict) else None
        if (actual or type_code) in allowed:
            return True
    return False


def expected_value(slice_rule: ElementRule, path: str) -> tuple[Any, bool]:
    """Return the value a slice fixes at ``path`` and whether it is exact (fixed) or a pattern.

    When the path goes below the element that carries the fixed or pattern value (e.g.
    ``type.coding.system`` under ``patternCodeableConcept`` on ``type``), the expected value
    is read from inside that value. Results are memoised on the slice rule.
    """
    cached = slice_rule.discriminator_values.get(path)
    if cached is None:
        cached = slice_rule.discriminator_values[path] = _expected_value(slice_rule, path)
    return cached


def _expected_value(slice_rule: ElementRule, path: str) -> tuple[Any, bool]:
    segments = split_path(path)
    current: ElementRule | None = slice_rule
    for index, segment in enumerate([*segments, None]):
        if current is None:
            break
        constant = current.fixed if current.fixed is not None else current.pattern
        if constant is not None:
            inner = [v for v, _ in navigate(constant, ".".join(segments[index:]) or "$this")]
            if len(inner) == 1:
                return inner[0], current.fixed is not None
            return None, False
        if segment is None:
            break
        current = _rule_step(current, segment)
    if segments and segments[-1] == "url":
        owner = rule_at(slice_rule, ".".join(segments[:-1]) or "$this")
        url = _extension_url(owner) if owner is not None else None
        if url:
            return url, True
    return None, False


def rule_at(rule: ElementRule, path: str) -> ElementRule | None:
    """Follow a discriminator path through a slice's element rules."""
    current: ElementRule | None = rule
    for segment in split_path(path):
        if current is None:
            return None
        current = _rule_step(current, segment)
    return current


def _rule_step(rule: ElementRule, segment: str) -> ElementRule | None:
    name = segment.partition(" as ")[0].strip()
    if name == "$this" or name.startswith(("ofType(", "resolve(")):
        return rule
    children = rule.element_children()
    if name.startswith("extension("):
        url = name[len("extension(") : -1].strip().strip("'")
        base = children.get("extension")
        if base is None:
            return None
        return next((s for s in base.slices if _extension_url(s) == url), None)
    return children.get(name) or children.get(name + "[x]")


def _extension_url(rule: ElementRule) -> str | None:
    url_rule = rule.element_children().get("url")
    if url_rule is not None and isinstance(url_rule.fixed, str):
        return url_rule.fixed
    for type_ref in rule.types:
        if type_ref.code == "Extension" and type_ref.profiles:
            return type_ref.profiles[0].partition("|")[0]
    return None
