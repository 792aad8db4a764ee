"""ELM library loading, include resolution and lazy per-library compilation (ELM §3, Library).

:class:`LibraryRepository` indexes ELM JSON by (name, version). :class:`CompiledLibrary` compiles
each define and function body once, the first time it is used, and keeps the closures.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from davinci_pa.cql.compiler import NodeCompiler
from davinci_pa.cql.runtime import MISSING, CqlRuntimeError, Ctx, DefineError, Fn
from davinci_pa.errors import CqlEvaluationError, ElmLoadError

__all__ = ["CompiledLibrary", "DefineError", "LibraryRepository", "is_elm"]

Resolver = Callable[[str, str | None], "CompiledLibrary | None"]


def _version_key(version: str | None) -> tuple[tuple[int, int | str], ...]:
    parts = re.split(r"[.\-]", version or "")
    return tuple((0, int(p)) if p.isdecimal() else (1, p) for p in parts)


class LibraryRepository:
    """ELM libraries indexed by identifier and version."""

    def __init__(self, libraries: Iterable[dict[str, Any]] = ()) -> None:
        self._libraries: dict[tuple[str, str | None], dict[str, Any]] = {}
        for elm in libraries:
            self.add(elm)

    @classmethod
    def from_directories(cls, directories: Iterable[Path]) -> LibraryRepository:
        """Load every ``*.json`` ELM library in the folders.

        A file is ELM when its ``library.identifier.id`` is a string; other JSON (a rule pack's
        ``topic.json``, ValueSets) is skipped.
        """
        repo = cls()
        for directory in directories:
            for path in sorted(Path(directory).glob("*.json")):
                try:
                    data = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise ElmLoadError(f"cannot read ELM file {path.name}: {exc}") from exc
                if is_elm(data):
                    repo.add(data)
        return repo

    def add(self, elm: dict[str, Any]) -> None:
        """Index one ELM library document (``{"library": {...}}``)."""
        ident = elm.get("library", {}).get("identifier", {})
        name = ident.get("id")
        if not isinstance(name, str):
            raise ElmLoadError("ELM library has no identifier id")
        self._libraries[(name, ident.get("version"))] = elm

    def get(self, name: str, version: str | None = None) -> dict[str, Any] | None:
        """Return the ELM of a library; without a version, the highest version loaded."""
        if version is not None:
            return self._libraries.get((name, version))
        matches = [key for key in self._libraries if key[0] == name]
        if not matches:
            return None
        return self._libraries[max(matches, key=lambda k: _version_key(k[1]))]

    def names(self) -> list[tuple[str, str | None]]:
        """Return every (name, version) loaded."""
        return sorted(self._libraries, key=lambda k: (k[0], _version_key(k[1])))


class CompiledLibrary:
    """One library's declarations, with defines and functions compiled on first use."""

    def __init__(self, elm: dict[str, Any], resolver: Resolver) -> None:
        lib = elm.get("library", {})
        self.name: str = lib.get("identifier", {}).get("id", "")
        self.version: str | None = lib.get("identifier", {}).get("version")
        self._resolver = resolver
        self.includes: dict[str, tuple[str, str | None]] = {
            d["localIdentifier"]: (d["path"], d.get("version")) for d in _defs(lib, "includes")
        }
        self.statements: dict[str, dict[str, Any]] = {}
        self.functions: dict[str, list[dict[str, Any]]] = {}
        for d in _defs(lib, "statements"):
            if d.get("type") == "FunctionDef":
                self.functions.setdefault(d["name"], []).append(d)
            else:
                self.statements[d["name"]] = d
        self.parameters = {d["name"]: d for d in _defs(lib, "parameters")}
        self.codesystems = {d["name"]: d for d in _defs(lib, "codeSystems")}
        self.valuesets = {d["name"]: d for d in _defs(lib, "valueSets")}
        self.codes = {d["name"]: d for d in _defs(lib, "codes")}
        self.concepts = {d["name"]: d for d in _defs(lib, "concepts")}
        self._compiled: dict[str, Fn] = {}
        self.compiler = NodeCompiler(self)

    def __repr__(self) -> str:
        return f"CompiledLibrary({self.name!r}, {self.version!r})"

    def resolve_library(self, local_name: str | None) -> CompiledLibrary | None:
        """Return this library (no name) or the included library with that local identifier."""
        if local_name is None:
            return self
        target = self.includes.get(local_name)
        if target is None:
            raise ElmLoadError(f"library {self.name} has no include named {local_name}")
        return self._resolver(*target)

    def compiled(
        self, key: str, elm: dict[str, Any] | None, operands: Iterable[dict[str, Any]] = ()
    ) -> Fn:
        """Compile and memoise an expression under ``key``.

        ``operands`` are the ``OperandDef``s of the function whose body ``elm`` is; their
        declared types are known to the compiler while it compiles the body.
        """
        fn = self._compiled.get(key)
        if fn is None:
            outer = self.compiler.declared_operands
            self.compiler.declared_operands = {o["name"]: _operand_type(o) for o in operands}
            try:
                fn = self.compiler.compile(elm)
            finally:
                self.compiler.declared_operands = outer
            self._compiled[key] = fn
        return fn

    def run_define(self, base: Ctx, name: str) -> Any:
        """Evaluate a define in the library's base context, caching the result."""
        profile = base.state.profile
        if profile is not None:
            profile.called(self.name, name)
        value = base.cache.get(name, MISSING)
        if value is not MISSING:
            return value
        statement = self.statements.get(name)
        if statement is None:
            raise ElmLoadError(f"library {self.name} has no define named {name!r}")
        fn = self.compiled("define:" + name, statement.get("expression"))
        try:
            value = fn(base) if profile is None else profile.run(self.name, name, lambda: fn(base))
        except DefineError:
            raise
        except CqlRuntimeError as exc:
            raise self.define_error(name, statement, exc.message, exc.locator, exc.library) from exc
        except CqlEvaluationError as exc:
            raise self.define_error(name, statement, exc.message, None) from exc
        except RecursionError as exc:
            raise self.define_error(name, statement, "recursion too deep", None) from exc
        base.cache[name] = value
        return value

    def define_error(
        self,
        name: str,
        statement: dict[str, Any],
        message: str,
        locator: str | None,
        library: str | None = None,
    ) -> DefineError:
        """Build the error naming the library and locator of the failing node, and the define.

        A node of an included library (a function it defines) is named by that library's
        name and its own locator; the define being evaluated is named too.
        """
        where = locator or statement.get("locator") or "?"
        version = f" version {self.version}" if self.version else ""
        if library and library != self.name:
            caller = f"in define {name!r} of {self.name}{version}"
            text = f"library {library}, at {where}: {message} ({caller})"
        else:
            text = f"library {self.name}{version}, define {name!r}, at {where}: {message}"
        return DefineError(
            text, details={"library": library or self.name, "define": name, "locator": where}
        )


def is_elm(data: Any) -> bool:
    """True when ``data`` looks like an ELM library document (a string ``identifier.id``)."""
    library = data.get("library") if isinstance(data, dict) else None
    identifier = library.get("identifier") if isinstance(library, dict) else None
    return isinstance(identifier, dict) and isinstance(identifier.get("id"), str)


def _operand_type(operand: dict[str, Any]) -> str:
    spec = operand.get("operandTypeSpecifier")
    name = spec.get("name") if isinstance(spec, dict) else operand.get("operandType")
    return name if isinstance(name, str) else ""


def _defs(lib: dict[str, Any], section: str) -> list[dict[str, Any]]:
    value = lib.get(section) or {}
    defs = value.get("def", []) if isinstance(value, dict) else []
    return [d for d in defs if isinstance(d, dict)]
