"""Compile a StructureDefinition snapshot into a tree of element rules.

Every profile in the Da Vinci packages carries a complete snapshot (FHIR R4 §2.27
StructureDefinition, ElementDefinition). We turn its flat element list into a tree, once per
profile: each :class:`ElementRule` holds cardinality, types (with profiles and target
profiles), fixed/pattern values, binding, invariants, must-support, slicing and its slices,
and its children by name. Element ids give the tree (``Claim.item:foo.extension:bar``);
``contentReference`` elements share the children of the element they point to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from davinci_pa.errors import ConfigurationError
from davinci_pa.fhir.validation.primitives import choice_suffix


@dataclass(frozen=True, slots=True)
class TypeRef:
    """One allowed type of an element, with its profiles and reference target profiles."""

    code: str
    profiles: tuple[str, ...] = ()
    target_profiles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Binding:
    """A terminology binding (``required``, ``extensible``, ``preferred`` or ``example``)."""

    strength: str
    value_set: str


@dataclass(frozen=True, slots=True)
class Constraint:
    """A FHIRPath invariant (``ElementDefinition.constraint``)."""

    key: str
    severity: str
    human: str
    expression: str


@dataclass(frozen=True, slots=True)
class Discriminator:
    """One slicing discriminator: its type and path."""

    type: str
    path: str


@dataclass(frozen=True, slots=True)
class Slicing:
    """How an element is sliced."""

    discriminators: tuple[Discriminator, ...]
    rules: str
    ordered: bool


@dataclass(eq=False, slots=True)
class ElementRule:
    """The compiled constraints of one snapshot element and its subtree."""

    id: str
    path: str
    name: str
    min: int
    max: int | None
    types: tuple[TypeRef, ...]
    base_path: str
    fixed: Any = None
    pattern: Any = None
    binding: Binding | None = None
    constraints: tuple[Constraint, ...] = ()
    must_support: bool = False
    slicing: Slicing | None = None
    slice_name: str | None = None
    content_reference: str | None = None
    children: dict[str, ElementRule] = field(default_factory=dict)
    slices: list[ElementRule] = field(default_factory=list)
    shared: ElementRule | None = None
    is_choice: bool = False
    base_name: str = ""
    discriminator_values: dict[str, tuple[Any, bool]] = field(default_factory=dict)
    slice_index: dict[str, ElementRule] | None = None
    """For slicing on one value discriminator with text values: value → first slice."""
    _names: frozenset[str] | None = None
    _own_names: frozenset[str] | None = None
    evaluated: tuple[Constraint, ...] | None = None
    """The constraints left to evaluate once those the walker decides itself are removed."""

    def __post_init__(self) -> None:
        self.is_choice = self.name.endswith("[x]")
        self.base_name = self.name[:-3] if self.is_choice else self.name

    def element_children(self) -> dict[str, ElementRule]:
        """Children, following ``contentReference`` to the element it names."""
        if self.children or self.shared is None:
            return self.children
        return self.shared.children

    def json_names(self) -> frozenset[str]:
        """JSON property names the children may use (``_`` twins and choice spellings)."""
        if self._names is None:
            found = {"resourceType"}
            for child in self.element_children().values():
                found.update(child.own_names())
            self._names = frozenset(found)
        return self._names

    def own_names(self) -> frozenset[str]:
        """The JSON property names this element may appear under (with ``_`` twins)."""
        if self._own_names is None:
            spellings = (
                [self.base_name + choice_suffix(t.code) for t in self.types]
                if self.is_choice
                else [self.name]
            )
            self._own_names = frozenset(n for s in spellings for n in (s, "_" + s))
        return self._own_names

    def checked_when_absent(self) -> bool:
        """Whether absence can break this element: it, or one of its slices, is required."""
        return self.min > 0 or any(s.min > 0 for s in self.slices)

    def type_codes(self) -> tuple[str, ...]:
        """The codes of the allowed types."""
        return tuple(t.code for t in self.types)


@dataclass(eq=False, slots=True)
class CompiledProfile:
    """A StructureDefinition compiled for validation."""

    url: str
    version: str | None
    type: str
    kind: str
    root: ElementRule
    definition: dict[str, Any]
    elements: dict[str, ElementRule]

    @property
    def canonical(self) -> str:
        """``url|version`` (or the url when unversioned)."""
        return f"{self.url}|{self.version}" if self.version else self.url


def compile_profile(definition: dict[str, Any]) -> CompiledProfile:
    """Compile a StructureDefinition with a snapshot into a :class:`CompiledProfile`."""
    url = definition.get("url", "?")
    elements = (definition.get("snapshot") or {}).get("element") or []
    if not elements:
        raise ConfigurationError(f"StructureDefinition {url} has no snapshot")
    by_id: dict[str, ElementRule] = {}
    root = _rule(elements[0])
    by_id[root.id] = root
    for element in elements[1:]:
        rule = _rule(element)
        by_id[rule.id] = rule
        _attach(rule, by_id, url)
    for rule in by_id.values():
        if rule.content_reference:
            rule.shared = _content_target(rule.content_reference, by_id)
    return CompiledProfile(
        url=url,
        version=definition.get("version"),
        type=definition.get("type", root.path),
        kind=definition.get("kind", "resource"),
        root=root,
        definition=definition,
        elements=by_id,
    )


def _attach(rule: ElementRule, by_id: dict[str, ElementRule], url: str) -> None:
    parent_id, _, last = rule.id.rpartition(".")
    if ":" in last:
        name, _, slice_name = last.partition(":")
        base_id = f"{parent_id}.{name}" if parent_id else name
        if "/" in slice_name:  # re-slice: the base is the slice being re-sliced
            base_id = f"{base_id}:{slice_name.rsplit('/', 1)[0]}"
        base = by_id.get(base_id)
        if base is None:
            raise ConfigurationError(f"{url}: slice {rule.id} has no base element")
        base.slices.append(rule)
        return
    parent = by_id.get(parent_id)
    if parent is None:
        raise ConfigurationError(f"{url}: element {rule.id} has no parent element")
    parent.children[rule.name] = rule


def _content_target(reference: str, by_id: dict[str, ElementRule]) -> ElementRule | None:
    target = reference.rpartition("#")[2]
    return by_id.get(target)


def _rule(element: dict[str, Any]) -> ElementRule:
    path = element["path"]
    max_text = element.get("max", "*")
    return ElementRule(
        id=element.get("id", path),
        path=path,
        name=path.rsplit(".", 1)[-1],
        min=int(element.get("min", 0)),
        max=None if max_text == "*" else int(max_text),
        types=tuple(_type(t) for t in element.get("type", [])),
        base_path=(element.get("base") or {}).get("path", path),
        fixed=_prefixed(element, "fixed"),
        pattern=_prefixed(element, "pattern"),
        binding=_binding(element.get("binding")),
        constraints=tuple(
            _constraint(c) for c in element.get("constraint", []) if c.get("expression")
        ),
        must_support=bool(element.get("mustSupport", False)),
        slicing=_slicing(element.get("slicing")),
        slice_name=element.get("sliceName"),
        content_reference=element.get("contentReference"),
    )


def _type(raw: dict[str, Any]) -> TypeRef:
    return TypeRef(
        code=raw.get("code", ""),
        profiles=tuple(raw.get("profile", [])),
        target_profiles=tuple(raw.get("targetProfile", [])),
    )


def _prefixed(element: dict[str, Any], prefix: str) -> Any:
    for key, value in element.items():
        if key.startswith(prefix) and key[len(prefix) : len(prefix) + 1].isupper():
            return value
    return None


def _binding(raw: dict[str, Any] | None) -> Binding | None:
    if not raw or not raw.get("valueSet"):
        return None
    return Binding(strength=raw.get("strength", "example"), value_set=raw["valueSet"])


def _constraint(raw: dict[str, Any]) -> Constraint:
    return Constraint(
        key=raw.get("key", "?"),
        severity=raw.get("severity", "error"),
        human=raw.get("human", ""),
        expression=raw["expression"],
    )


def _slicing(raw: dict[str, Any] | None) -> Slicing | None:
    if not raw:
        return None
    discriminators = tuple(
        Discriminator(type=d.get("type", "value"), path=d.get("path", "$this"))
        for d in raw.get("discriminator", [])
    )
    return Slicing(
        discriminators=discriminators,
        rules=raw.get("rules", "open"),
        ordered=bool(raw.get("ordered", False)),
    )
