"""Walks a JSON instance along a compiled profile and records every violation.

Implements the per-element rules of FHIR R4 profile validation (§2.27.0 StructureDefinition,
§5.1 Profiling): cardinality, slices and their cardinality, closed slicing, allowed types of
choice elements, primitive lexical rules, fixed and pattern values, bindings, reference
target types, typed profiles (extensions, datatype profiles, nested resources, with "any of"
semantics for several profiles), unknown elements, ``ele-1``/``ext-1`` natively and the
other FHIRPath invariants through :class:`InvariantEvaluator`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from davinci_pa.fhir.validation.bindings import check_binding, codings_of
from davinci_pa.fhir.validation.instance import (
    Item,
    choice_keys,
    collect,
    equals_fixed,
    matches_pattern,
)
from davinci_pa.fhir.validation.invariants import NATIVE_KEYS, InvariantEvaluator
from davinci_pa.fhir.validation.issues import Issue, Severity
from davinci_pa.fhir.validation.primitives import check_primitive, is_primitive
from davinci_pa.fhir.validation.profile import CompiledProfile, ElementRule
from davinci_pa.fhir.validation.references import ReferenceIndex, target_types
from davinci_pa.fhir.validation.slicing import SliceContext, assign
from davinci_pa.fhir.validation.terminology import Terminology

_GENERIC_TYPES = frozenset({"BackboneElement", "Element", "Resource", "DomainResource"})


class ProfileSource(Protocol):
    """Finds compiled profiles by canonical URL."""

    def get(self, canonical: str, near: CompiledProfile | None = None) -> CompiledProfile | None:
        """Return the compiled profile, preferring the package of ``near``."""
        ...


@dataclass(slots=True)
class Services:
    """The shared, thread-safe collaborators of a validation run."""

    profiles: ProfileSource
    terminology: Terminology
    invariants: InvariantEvaluator


@dataclass(slots=True)
class _Frame:
    resource: dict[str, Any]
    profile: CompiledProfile


@dataclass(slots=True)
class Walk:
    """One validation run: collects issues while walking an instance."""

    services: Services
    references: ReferenceIndex
    entry_profiles: Mapping[str, Sequence[str]] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    unchecked_bindings: int = 0
    _frames: list[_Frame] = field(default_factory=list)

    def resource(self, resource: dict[str, Any], profile: CompiledProfile, path: str) -> None:
        """Validate a resource against a resource profile."""
        if profile.kind == "resource" and resource.get("resourceType") != profile.type:
            message = f"Resource type {resource.get('resourceType')!r} cannot conform to a "
            self._report("error", path, message + f"{profile.type} profile", "structure", profile)
            return
        self._frames.append(_Frame(resource, profile))
        try:
            self._object(resource, profile.root, path)
            self._invariants(resource, profile.root, path, profile.type)
        finally:
            self._frames.pop()

    def conforms(self, value: Any, canonicals: Sequence[str]) -> bool:
        """True when ``value`` has no error against at least one of the profiles."""
        mark = len(self.issues)
        self._conform_any(
            value, canonicals, "$", isinstance(value, dict) and "resourceType" in value
        )
        found = self.issues[mark:]
        del self.issues[mark:]
        return not any(i.severity == "error" for i in found)

    # -- elements -----------------------------------------------------------------------

    def _object(self, obj: dict[str, Any], rule: ElementRule, path: str) -> None:
        children = rule.element_children()
        if not children:
            return
        consumed = rule.json_names()
        unknown = not _element_members_only(children) and any(key not in consumed for key in obj)
        for child in children.values():
            # the snapshot says an absent optional element has nothing to check
            if child.checked_when_absent() or not obj.keys().isdisjoint(child.own_names()):
                self._element(collect(obj, child, path), child, path)
        if unknown:
            self._unknown(obj, children, consumed, path)

    def _element(self, items: list[Item], rule: ElementRule, path: str) -> None:
        self._cardinality(len(items), rule, f"{path}.{rule.base_name}")
        assigned = assign(items, rule, self._slice_context()) if rule.slicing else []
        if rule.slicing:
            self._slices(items, assigned, rule, path)
        for index, item in enumerate(items):
            slice_rule = assigned[index] if assigned else None
            # a snapshot slice repeats every constraint of its base element
            self._item(item, slice_rule or rule)
            if slice_rule is None and rule.name in ("extension", "modifierExtension"):
                self._unsliced_extension(item)

    def _slices(
        self, items: list[Item], assigned: list[ElementRule | None], rule: ElementRule, path: str
    ) -> None:
        for slice_rule in rule.slices:
            count = sum(1 for a in assigned if a is slice_rule)
            self._cardinality(count, slice_rule, f"{path}.{rule.base_name}:{slice_rule.slice_name}")
        if rule.slicing is not None and rule.slicing.rules == "closed":
            for item, matched in zip(items, assigned, strict=True):
                if matched is None:
                    message = "matches none of the slices of a closed slicing"
                    self._report("error", item.path, message, "structure")

    def _cardinality(self, count: int, rule: ElementRule, label: str) -> None:
        if count < rule.min:
            message = f"minimum required = {rule.min}, but only found {count}"
            self._report("error", label, message, "required")
        elif rule.max is not None and count > rule.max:
            message = (
                "is not allowed here (max = 0)"
                if rule.max == 0
                else f"maximum allowed = {rule.max}, but found {count}"
            )
            self._report("error", label, message, "structure")

    def _item(self, item: Item, rule: ElementRule) -> None:
        value = item.value
        type_code = _type_of(item, rule)
        if value is None:
            return
        if type_code is not None and is_primitive(type_code):
            problem = check_primitive(type_code, value)
            if problem:
                self._report("error", item.path, problem, "value")
                return
        self._values(item, rule, type_code)
        if isinstance(value, dict):
            self._complex(item, rule, type_code)
        self._invariants(value, rule, item.path, _type_path(type_code, rule))

    def _values(self, item: Item, rule: ElementRule, type_code: str | None) -> None:
        value = item.value
        if rule.fixed is not None and not equals_fixed(value, rule.fixed):
            message = f"value {_show(value)} does not equal the fixed value {_show(rule.fixed)}"
            self._report("error", item.path, message, "value")
        if rule.pattern is not None and not matches_pattern(value, rule.pattern):
            message = f"value {_show(value)} does not match the pattern {_show(rule.pattern)}"
            self._report("error", item.path, message, "value")
        if rule.binding is not None:
            result = check_binding(
                value, type_code, rule.binding, rule.base_path, self.services.terminology
            )
            if result.verdict in ("error", "warning"):
                self._report(result.verdict, item.path, result.message, "code-invalid")
            elif result.verdict == "unchecked":
                self.unchecked_bindings += 1
        if type_code == "Reference" and isinstance(value, dict):
            self._reference(value, rule, item.path)

    def _complex(self, item: Item, rule: ElementRule, type_code: str | None) -> None:
        value: dict[str, Any] = item.value
        if "resourceType" in value:
            self._nested_resource(item, rule)
            return
        if not value or set(value) == {"id"}:
            self._report("error", item.path, "ele-1: element has no value and no children")
            return
        if type_code == "Extension" and ("extension" in value) == _has_value(value):
            message = "ext-1: an extension must have either extensions or a value, not both"
            self._report("error", item.path, message, "invariant")
        self._object(value, rule, item.path)
        profiles = [p for t in rule.types if t.code == type_code for p in t.profiles]
        if profiles:
            self._conform_any(value, profiles, item.path, False)

    def _nested_resource(self, item: Item, rule: ElementRule) -> None:
        value: dict[str, Any] = item.value
        rtype = value.get("resourceType")
        codes = set(rule.type_codes())
        if codes and rtype not in codes and not codes & _GENERIC_TYPES:
            message = f"a {rtype} is not allowed here (expected {', '.join(sorted(codes))})"
            self._report("error", item.path, message, "structure")
            return
        profiles = [p for t in rule.types if t.code == rtype for p in t.profiles]
        if not profiles:
            profiles = list(self.entry_profiles.get(str(rtype), ()))
        if not profiles:
            profiles = [p for p in value.get("meta", {}).get("profile", []) if self._find(p)]
        if profiles:
            self._conform_any(value, profiles, item.path, True)

    def _unsliced_extension(self, item: Item) -> None:
        url = item.value.get("url") if isinstance(item.value, dict) else None
        if not isinstance(url, str):
            return
        profile = self._find(url)
        if profile is not None and profile.type == "Extension":
            self._apply(item.value, profile, item.path, False)
        elif ":" not in url:
            self._report("error", item.path, f"extension {url!r} is not defined here", "extension")
        else:
            message = f"extension {url} is not known locally; only its structure was checked"
            self._report("information", item.path, message, "extension")

    def _unknown(
        self,
        obj: dict[str, Any],
        children: dict[str, ElementRule],
        known: frozenset[str],
        path: str,
    ) -> None:
        choices = [c for c in children.values() if c.is_choice]
        for key in obj:
            if key in known or key == "fhir_comments":
                continue
            message = f"unknown element {key!r}"
            for child in choices:
                if any(k == key for k, _ in choice_keys(obj, child.base_name)):
                    allowed = ", ".join(child.type_codes())
                    message = (
                        f"type of {key!r} is not allowed for {child.name} (allowed: {allowed})"
                    )
                    break
            self._report("error", f"{path}.{key.lstrip('_')}", message, "structure")

    # -- profiles, references, invariants ------------------------------------------------

    def _conform_any(
        self, value: dict[str, Any], canonicals: Sequence[str], path: str, resource: bool
    ) -> None:
        compiled = [p for p in (self._find(c) for c in canonicals) if p is not None]
        if len(compiled) <= 1:
            for profile in compiled:
                self._apply(value, profile, path, resource)
            return
        # a profile whose top-level cardinalities fail cannot pass: walk the others first,
        # and the failing ones only when no profile passes (to report the closest one)
        hopeless = {n for n, p in enumerate(compiled) if _breaks_top_cardinality(value, p)}
        attempts: dict[int, list[Issue]] = {}
        for index in sorted(range(len(compiled)), key=lambda n: n in hopeless):
            mark = len(self.issues)
            self._apply(value, compiled[index], path, resource)
            found = attempts[index] = self.issues[mark:]
            del self.issues[mark:]
            if not any(i.severity == "error" for i in found):
                self.issues.extend(found)
                return
        tried = (attempts[n] for n in range(len(compiled)))  # the first closest in declared order
        best = min(tried, key=lambda found: sum(i.severity == "error" for i in found))
        self.issues.extend(best)
        names = ", ".join(p.url for p in compiled)
        self._report("error", path, f"does not conform to any of the profiles {names}")

    def _apply(
        self, value: dict[str, Any], profile: CompiledProfile, path: str, resource: bool
    ) -> None:
        if resource:
            self.resource(value, profile, path)
            return
        outer = self._frames[-1].resource if self._frames else value
        self._frames.append(_Frame(outer, profile))
        try:
            self._object(value, profile.root, path)
            self._invariants(value, profile.root, path, profile.type)
        finally:
            self._frames.pop()

    def _find(self, canonical: str) -> CompiledProfile | None:
        near = self._frames[-1].profile if self._frames else None
        return self.services.profiles.get(canonical, near)

    def _reference(self, value: dict[str, Any], rule: ElementRule, path: str) -> None:
        targets = [p for t in rule.types if t.code == "Reference" for p in t.target_profiles]
        allowed = target_types(targets, self._find)
        if allowed is None:
            return
        contained = self._frames[-1].resource if self._frames else None
        actual = self.references.type_of(value, contained)
        if actual is not None and actual not in allowed:
            message = (
                f"reference to a {actual} is not allowed (expected {', '.join(sorted(allowed))})"
            )
            self._report("error", path, message, "structure")

    def _invariants(self, value: Any, rule: ElementRule, path: str, type_path: str) -> None:
        if rule.evaluated is None:
            rule.evaluated = tuple(c for c in rule.constraints if c.key not in NATIVE_KEYS)
        if not rule.evaluated or value is None:
            return
        resource = self._frames[-1].resource if self._frames else value
        if isinstance(value, dict) and "resourceType" in value:
            resource = value
        evaluator = self.services.invariants
        for constraint in rule.evaluated:
            held = evaluator.holds(
                constraint,
                value,
                type_path,
                resource,
                resolve=self.references.resolve,
                member_of=self._member_of,
            )
            if held is False:
                severity: Severity = "error" if constraint.severity == "error" else "warning"
                message = f"{constraint.key}: {constraint.human or constraint.expression}"
                self._report(severity, path, message, "invariant")

    def _member_of(self, value_set: str, value: Any) -> bool | None:
        codings = codings_of(value, None)
        if not codings:
            return None
        answers = [self.services.terminology.contains(value_set, s, c) for s, c in codings]
        return True if any(answers) else (False if all(a is False for a in answers) else None)

    def _slice_context(self) -> SliceContext:
        return SliceContext(
            resolve=self.references.resolve, conforms=self.conforms, member_of=self._member_of
        )

    def _report(
        self,
        severity: Severity,
        path: str,
        message: str,
        code: str = "invalid",
        profile: CompiledProfile | None = None,
    ) -> None:
        if profile is None and self._frames:
            profile = self._frames[-1].profile
        url = profile.url if profile is not None else None
        self.issues.append(Issue(severity, path, message, url, code))


def _element_members_only(children: dict[str, ElementRule]) -> bool:
    """True when a snapshot unrolls only what every Element has (``id``, ``extension``).

    Snapshots do so for a choice of several types (``answerOption.value[x].extension``
    sliced): the chosen type's own elements (``Coding.code``...) are not listed, so absence
    from the children is not unknown; the structural layer checks them against the type.
    """
    return children.keys() <= {"id", "extension"}


def _breaks_top_cardinality(value: Any, profile: CompiledProfile) -> bool:
    """Whether a direct child of ``value`` breaks the cardinality ``profile`` gives it."""
    if not isinstance(value, dict):
        return False
    for child in profile.root.element_children().values():
        count = 0 if value.keys().isdisjoint(child.own_names()) else len(collect(value, child, ""))
        if count < child.min or (child.max is not None and count > child.max):
            return True
    return False


def _type_of(item: Item, rule: ElementRule) -> str | None:
    if item.type_code is not None:
        return item.type_code
    if isinstance(item.value, dict) and "resourceType" in item.value:
        return str(item.value["resourceType"])
    return rule.types[0].code if rule.types else None


def _type_path(type_code: str | None, rule: ElementRule) -> str:
    if type_code is None or type_code in _GENERIC_TYPES:
        return rule.base_path
    return type_code


def _has_value(extension: dict[str, Any]) -> bool:
    return any(k.startswith("value") for k in extension)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
