"""ValueSet membership from the ValueSets and CodeSystems available locally.

Implements the subset of FHIR R4 ValueSet ``compose`` semantics (§4.9.5) that can be decided
without a terminology server: explicit ``concept`` lists, whole-system includes, ``is-a`` /
``descendent-of`` / ``=`` filters on a complete local CodeSystem, nested ``valueSet`` includes
and ``exclude``. Membership is three-valued: ``True``, ``False`` or ``None`` (cannot be
decided locally, e.g. a LOINC filter or an external ValueSet).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from davinci_pa.fhir.validation.package import ConformanceIndex


@dataclass(slots=True)
class Expansion:
    """What can be said locally about one ValueSet.

    Attributes:
        codes: Enumerated codes per system.
        whole_systems: Systems included entirely (any code of theirs is a member).
        undecided_systems: Systems included through filters we cannot evaluate.
        complete: Every include was resolved (no unknown ValueSet, no undecided filter).
    """

    codes: dict[str, set[str]] = field(default_factory=dict)
    whole_systems: set[str] = field(default_factory=set)
    undecided_systems: set[str] = field(default_factory=set)
    complete: bool = True

    def contains(self, system: str | None, code: str) -> bool | None:
        """Return whether ``system|code`` is a member (``None`` when undecidable)."""
        if system is None:
            return self._contains_code(code)
        if system in self.whole_systems:
            return True
        if code in self.codes.get(system, ()):
            return True
        if system in self.undecided_systems or not self.complete:
            return None
        return False

    def _contains_code(self, code: str) -> bool | None:
        if any(code in codes for codes in self.codes.values()):
            return True
        if self.whole_systems or self.undecided_systems or not self.complete:
            return None
        return False

    def knows_system(self, system: str) -> bool:
        """True when the ValueSet enumerates this system completely."""
        return system in self.codes and system not in self.undecided_systems

    def merge(self, other: Expansion) -> None:
        """Add the members of ``other`` (a nested ``valueSet`` include)."""
        for system, codes in other.codes.items():
            self.codes.setdefault(system, set()).update(codes)
        self.whole_systems |= other.whole_systems
        self.undecided_systems |= other.undecided_systems
        self.complete = self.complete and other.complete


class Terminology:
    """Decides ValueSet membership with the resources of a :class:`ConformanceIndex`."""

    def __init__(self, index: ConformanceIndex, *, unverifiable: Sequence[str] = ()) -> None:
        self._index = index
        self._cache: dict[str, Expansion | None] = {}
        self._unverifiable = tuple(unverifiable)

    def unverifiable(self, system: str | None) -> bool:
        """Whether codes of ``system`` cannot be judged here (licensed content, say).

        ``unverifiable`` holds URL fragments: ``"x12.org"`` covers every X12 code system.
        """
        return system is not None and any(part in system for part in self._unverifiable)

    def expansion(self, canonical: str) -> Expansion | None:
        """Return the local expansion of a ValueSet, or ``None`` when it is not available."""
        if canonical not in self._cache:
            self._cache[canonical] = None  # guards against include cycles
            value_set = self._index.find(canonical, "ValueSet")
            self._cache[canonical] = self._expand(value_set) if value_set else None
        return self._cache[canonical]

    def contains(self, canonical: str, system: str | None, code: str) -> bool | None:
        """Return membership of ``system|code`` in the ValueSet (``None`` when unknown)."""
        expansion = self.expansion(canonical)
        return None if expansion is None else expansion.contains(system, code)

    def _expand(self, value_set: dict[str, Any]) -> Expansion:
        result = Expansion()
        compose = value_set.get("compose") or {}
        for include in compose.get("include", []):
            self._include(include, result)
        for exclude in compose.get("exclude", []):
            removed = Expansion()
            self._include(exclude, removed)
            for system, codes in removed.codes.items():
                result.codes.get(system, set()).difference_update(codes)
            if removed.whole_systems or removed.undecided_systems:
                result.complete = False
        if not compose:
            self._from_expansion(value_set.get("expansion") or {}, result)
        return result

    def _from_expansion(self, expansion: dict[str, Any], result: Expansion) -> None:
        if not expansion:
            result.complete = False
        for entry in _walk_contains(expansion.get("contains", [])):
            if entry.get("system") and entry.get("code"):
                result.codes.setdefault(entry["system"], set()).add(entry["code"])

    def _include(self, include: dict[str, Any], result: Expansion) -> None:
        for nested in include.get("valueSet", []):
            inner = self.expansion(nested)
            if inner is None:
                result.complete = False
            else:
                result.merge(inner)
        system = include.get("system")
        if not system:
            return
        if include.get("concept"):
            codes = {c["code"] for c in include["concept"] if "code" in c}
            result.codes.setdefault(system, set()).update(codes)
        elif include.get("filter"):
            self._filtered(system, include["filter"], result)
        else:
            self._whole_system(system, result)

    def _whole_system(self, system: str, result: Expansion) -> None:
        concepts = self._local_concepts(system)
        if concepts is None:
            result.whole_systems.add(system)
        else:
            result.codes.setdefault(system, set()).update(c["code"] for c in concepts)

    def _filtered(self, system: str, filters: list[dict[str, Any]], result: Expansion) -> None:
        code_system = self._index.find(system, "CodeSystem")
        if code_system is None or code_system.get("content") != "complete":
            result.undecided_systems.add(system)
            return
        selected: set[str] | None = None
        for flt in filters:
            codes = _apply_filter(code_system, flt)
            if codes is None:
                result.undecided_systems.add(system)
                return
            selected = codes if selected is None else selected & codes
        result.codes.setdefault(system, set()).update(selected or set())

    def _local_concepts(self, system: str) -> list[dict[str, Any]] | None:
        code_system = self._index.find(system, "CodeSystem")
        if code_system is None or code_system.get("content") != "complete":
            return None
        return list(_walk_concepts(code_system.get("concept", [])))


def _walk_concepts(concepts: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for concept in concepts:
        yield concept
        yield from _walk_concepts(concept.get("concept", []))


def _walk_contains(contains: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for entry in contains:
        yield entry
        yield from _walk_contains(entry.get("contains", []))


def _find_concept(concepts: list[dict[str, Any]], code: str) -> dict[str, Any] | None:
    return next((c for c in _walk_concepts(concepts) if c.get("code") == code), None)


def _apply_filter(code_system: dict[str, Any], flt: dict[str, Any]) -> set[str] | None:
    """Evaluate one ``compose.include.filter`` on a complete CodeSystem (``None``: unsupported)."""
    prop, op, value = flt.get("property"), flt.get("op"), flt.get("value")
    concepts = code_system.get("concept", [])
    if prop == "concept" and op in ("is-a", "descendent-of"):
        root = _find_concept(concepts, str(value))
        if root is None:
            return set()
        below = {c["code"] for c in _walk_concepts(root.get("concept", []))}
        return below | {root["code"]} if op == "is-a" else below
    if prop == "code" and op == "=":
        return {str(value)} if _find_concept(concepts, str(value)) else set()
    return None
