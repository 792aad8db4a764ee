"""FHIR NPM packages (IG ``.tgz``) and the index of their conformance resources.

An IG package is a gzipped tar with ``package/package.json``, the conformance resources in
``package/*.json`` and examples in ``package/example/*.json`` (FHIR NPM Package Spec). We read
it in memory, keep StructureDefinitions, ValueSets and CodeSystems, and index them by
canonical URL and ``url|version``. A folder of those JSON files loads the same way, which is
how an application ships the profiles it needs without the packages.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from davinci_pa.errors import ConfigurationError

CONFORMANCE_TYPES = frozenset({"StructureDefinition", "ValueSet", "CodeSystem"})
"""The resource types the validator needs from a package."""


@dataclass(frozen=True, slots=True)
class IgPackage:
    """The conformance resources and examples of one FHIR package."""

    name: str
    version: str
    dependencies: dict[str, str]
    resources: tuple[dict[str, Any], ...]
    examples: tuple[tuple[str, dict[str, Any]], ...] = ()
    guide: dict[str, Any] | None = field(default=None, compare=False)

    @classmethod
    def load(cls, source: Path | str | bytes) -> IgPackage:
        """Load a package from a ``.tgz`` path, its bytes, or a folder of JSON resources."""
        if isinstance(source, bytes):
            return _from_tgz_bytes(source, hashlib.sha256(source).hexdigest())
        path = Path(source)
        if path.is_dir():
            return _from_directory(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"Cannot read FHIR package {path.name}: {exc}") from exc
        return _from_tgz_bytes(data, hashlib.sha256(data).hexdigest())

    def example_profiles(self) -> dict[str, str]:
        """Map example file names to the profile the ImplementationGuide says they illustrate."""
        if not self.guide:
            return {}
        found: dict[str, str] = {}
        for res in self.guide.get("definition", {}).get("resource", []):
            canonical = res.get("exampleCanonical")
            reference = res.get("reference", {}).get("reference", "")
            if canonical and "/" in reference:
                rtype, rid = reference.split("/", 1)
                found[f"{rtype}-{rid}.json"] = canonical
        return found


@lru_cache(maxsize=32)
def _from_tgz_bytes(data: bytes, digest: str) -> IgPackage:
    del digest  # part of the cache key only
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            files = {m.name: _read_member(tar, m) for m in tar.getmembers() if _wanted(m)}
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ConfigurationError(f"Not a readable FHIR package archive: {exc}") from exc
    return _assemble(files)


def _wanted(member: tarfile.TarInfo) -> bool:
    name = member.name
    return member.isfile() and name.endswith(".json") and name.count("/") in (1, 2)


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = tar.extractfile(member)
    return handle.read() if handle else b""


def _from_directory(path: Path) -> IgPackage:
    files = {
        f"package/{p.relative_to(path).as_posix()}": p.read_bytes()
        for p in sorted(path.rglob("*.json"))
    }
    manifest = files.get("package/package.json")
    if manifest is None:
        name = {"name": path.name, "version": "0.0.0"}
        files["package/package.json"] = json.dumps(name).encode()
    return _assemble(files)


def _assemble(files: dict[str, bytes]) -> IgPackage:
    manifest = _parse(files.pop("package/package.json", b"{}"), "package.json")
    resources: list[dict[str, Any]] = []
    examples: list[tuple[str, dict[str, Any]]] = []
    guide: dict[str, Any] | None = None
    for name, raw in sorted(files.items()):
        parts = name.split("/")
        if parts[0] != "package" or parts[-1].startswith("."):
            continue
        if len(parts) == 3 and parts[1] == "example":
            examples.append((parts[2], _parse(raw, name)))
        elif len(parts) == 2:
            resource = _parse(raw, name)
            if resource.get("resourceType") in CONFORMANCE_TYPES:
                resources.append(resource)
            elif resource.get("resourceType") == "ImplementationGuide":
                guide = resource
    return IgPackage(
        name=str(manifest.get("name", "unknown")),
        version=str(manifest.get("version", "0.0.0")),
        dependencies=dict(manifest.get("dependencies") or {}),
        resources=tuple(resources),
        examples=tuple(examples),
        guide=guide,
    )


def _parse(raw: bytes, name: str) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"Package file {name} is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ConfigurationError(f"Package file {name} is not a JSON object")
    return value


def split_canonical(canonical: str) -> tuple[str, str | None]:
    """Split ``url|version`` into its parts (the version is ``None`` when absent)."""
    url, _, version = canonical.partition("|")
    return url, version or None


def _version_key(version: str) -> tuple[tuple[int, str], ...]:
    return tuple((int(p), "") if p.isdecimal() else (-1, p) for p in version.split("."))


class ConformanceIndex:
    """Conformance resources of several packages, looked up by canonical URL.

    When one URL exists in several packages (PAS 2.0.1 and 2.2.1 share URLs), an unversioned
    lookup prefers the package of the resource that refers to it, then the highest version.
    """

    def __init__(self, packages: Iterable[IgPackage] = ()) -> None:
        self.packages: list[IgPackage] = []
        self._by_url: dict[str, list[tuple[IgPackage, dict[str, Any]]]] = {}
        self._package_of: dict[int, IgPackage] = {}
        for package in packages:
            self.add(package)

    def add(self, package: IgPackage) -> None:
        """Index every conformance resource of ``package``."""
        self.packages.append(package)
        for resource in package.resources:
            url = resource.get("url")
            if isinstance(url, str):
                self._by_url.setdefault(url, []).append((package, resource))
                self._package_of[id(resource)] = package

    def package_of(self, resource: dict[str, Any]) -> IgPackage | None:
        """Return the package a resource of this index came from."""
        return self._package_of.get(id(resource))

    def find(
        self, canonical: str, resource_type: str, near: IgPackage | None = None
    ) -> dict[str, Any] | None:
        """Return the resource of ``resource_type`` with this canonical, or ``None``."""
        url, version = split_canonical(canonical)
        candidates = [
            (pkg, res)
            for pkg, res in self._by_url.get(url, [])
            if res.get("resourceType") == resource_type
        ]
        if version:
            candidates = [c for c in candidates if c[1].get("version", c[0].version) == version]
        if not candidates:
            return None
        if near is not None:
            for pkg, res in candidates:
                if pkg is near:
                    return res
        return max(candidates, key=lambda c: _version_key(str(c[1].get("version", ""))))[1]

    def all(self, resource_type: str) -> Iterator[dict[str, Any]]:
        """Iterate over the indexed resources of one type."""
        for entries in self._by_url.values():
            for _, resource in entries:
                if resource.get("resourceType") == resource_type:
                    yield resource
