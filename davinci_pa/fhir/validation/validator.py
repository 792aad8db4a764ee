"""The public validator: FHIR R4 structure plus Da Vinci IG profiles.

``Validator.from_packages([...])`` loads IG packages (``.tgz`` paths or bytes, or folders of
conformance JSON); ``validate(resource, profile=None)`` returns every :class:`Issue` found:
base R4 structure (fhir.resources R4B) and, for the named profile or the locally known
``meta.profile`` entries, the profile rules. Bundles resolve references between entries, and
``entry_profiles`` maps entry resource types to the profiles they must meet (for entries the
Bundle profile does not constrain itself). Profiles are compiled once and cached.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from davinci_pa.errors import ConfigurationError
from davinci_pa.fhir.validation.checker import Services, Walk
from davinci_pa.fhir.validation.invariants import InvariantEvaluator
from davinci_pa.fhir.validation.issues import Issue, sort_issues
from davinci_pa.fhir.validation.mustsupport import missing_must_support
from davinci_pa.fhir.validation.package import ConformanceIndex, IgPackage
from davinci_pa.fhir.validation.profile import CompiledProfile, compile_profile
from davinci_pa.fhir.validation.references import ReferenceIndex
from davinci_pa.fhir.validation.structural import validate_structure
from davinci_pa.fhir.validation.terminology import Terminology

PackageSource = Path | str | bytes
ProfileMap = Mapping[str, "str | Sequence[str]"]


class Validator:
    """Validates FHIR R4 JSON against base R4 and the profiles of the loaded packages."""

    def __init__(
        self,
        index: ConformanceIndex,
        *,
        structural: bool = True,
        unverifiable_systems: Sequence[str] = (),
    ) -> None:
        """A validator over ``index``.

        Args:
            index: the loaded IG packages.
            structural: also check base R4 structure with fhir.resources.
            unverifiable_systems: URL fragments of code systems whose content is not
                available (licensed X12 or NUBC codes): their required bindings are left
                unchecked.
        """
        self.index = index
        self.structural = structural
        self.terminology = Terminology(index, unverifiable=unverifiable_systems)
        self.invariants = InvariantEvaluator()
        self._compiled: dict[int, CompiledProfile] = {}
        self._lock = threading.Lock()
        self._services = Services(self, self.terminology, self.invariants)

    @classmethod
    def from_packages(
        cls,
        sources: Iterable[PackageSource],
        *,
        structural: bool = True,
        unverifiable_systems: Sequence[str] = (),
    ) -> Validator:
        """Build a validator from IG packages: ``.tgz`` paths, their bytes, or JSON folders."""
        index = ConformanceIndex(IgPackage.load(s) for s in sources)
        return cls(index, structural=structural, unverifiable_systems=unverifiable_systems)

    # -- profiles -----------------------------------------------------------------------

    def get(self, canonical: str, near: CompiledProfile | None = None) -> CompiledProfile | None:
        """Return the compiled profile for a canonical (``url`` or ``url|version``)."""
        package = self.index.package_of(near.definition) if near is not None else None
        definition = self.index.find(canonical, "StructureDefinition", package)
        if definition is None or not definition.get("snapshot"):
            return None
        key = id(definition)
        compiled = self._compiled.get(key)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(key) or compile_profile(definition)
                self._compiled[key] = compiled
        return compiled

    def require(self, canonical: str) -> CompiledProfile:
        """Return the compiled profile or raise :class:`ConfigurationError`."""
        profile = self.get(canonical)
        if profile is None:
            raise ConfigurationError(f"Profile {canonical} is not in the loaded packages")
        return profile

    # -- validation ---------------------------------------------------------------------

    def validate(
        self,
        resource: dict[str, Any],
        profile: str | None = None,
        *,
        entry_profiles: ProfileMap | None = None,
    ) -> list[Issue]:
        """Validate a resource; return its issues, errors first.

        Args:
            resource: FHIR R4 JSON with ``resourceType``.
            profile: Canonical of the profile to check; ``None`` uses the locally known
                ``meta.profile`` entries (base R4 only when there are none).
            entry_profiles: For Bundles (and other containers), resource type → profile(s)
                for nested resources whose element definition names no profile.
        """
        rtype = resource.get("resourceType") if isinstance(resource, dict) else None
        if not isinstance(rtype, str) or not rtype:
            return [Issue("error", "$", "not a FHIR resource (no resourceType)", None, "structure")]
        structure = validate_structure(resource, rtype) if self.structural else []
        profiles = self._profiles_for(resource, profile)
        walk = Walk(
            self._services,
            ReferenceIndex(resource if rtype == "Bundle" else None),
            _normalise(entry_profiles),
        )
        try:
            for compiled in profiles:
                walk.resource(resource, compiled, rtype)
        except (TypeError, AttributeError, KeyError, ValueError):
            # The profile walk expects well-formed R4 JSON; the structural issues explain it.
            if not any(issue.severity == "error" for issue in structure):
                raise
        found = _merge(structure, walk.issues)
        if profile is None and not profiles:
            message = "no locally known profile in meta.profile: validated against base R4 only"
            found.append(Issue("information", rtype, message, None, "informational"))
        return sort_issues(found)

    def missing_must_support(self, resource: dict[str, Any], profile: str) -> list[str]:
        """Return the paths of must-support elements of ``profile`` absent from ``resource``."""
        return missing_must_support(resource, self.require(profile))

    def stats(self) -> dict[str, Any]:
        """Counters: compiled profiles, invariants evaluated and skipped (by key)."""
        return {
            "compiled_profiles": len(self._compiled),
            "invariants_evaluated": self.invariants.evaluated,
            "invariants_skipped": Counter(self.invariants.skipped),
        }

    def _profiles_for(self, resource: dict[str, Any], profile: str | None) -> list[CompiledProfile]:
        if profile is not None:
            return [self.require(profile)]
        declared = (resource.get("meta") or {}).get("profile") or []
        found = [self.get(p) for p in declared if isinstance(p, str)]
        return [p for p in found if p is not None]


def _normalise(mapping: ProfileMap | None) -> dict[str, Sequence[str]]:
    if not mapping:
        return {}
    return {k: (v,) if isinstance(v, str) else tuple(v) for k, v in mapping.items()}


def _merge(structural: list[Issue], profile_issues: list[Issue]) -> list[Issue]:
    """Combine both layers, dropping structural issues a profile issue already reports."""
    covered = {i.path for i in profile_issues if i.severity == "error"}
    kept = [i for i in structural if i.path not in covered]
    return kept + profile_issues
