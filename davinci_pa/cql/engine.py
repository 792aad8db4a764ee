"""The CQL engine facade: compile libraries once, evaluate defines for a patient (ELM §3).

Compiled libraries are cached per (name, version). One call to :meth:`CqlEngine.evaluate`
creates fresh evaluation state (define cache, parameters, clock, data, terminology).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from davinci_pa.cql import ops as _ops  # noqa: F401  (registers every ELM node builder)
from davinci_pa.cql.library import CompiledLibrary, LibraryRepository
from davinci_pa.cql.retrieve import DataProvider
from davinci_pa.cql.runtime import EvalState, Profile
from davinci_pa.cql.terminology import TerminologyProvider
from davinci_pa.errors import ElmLoadError


class CqlEngine:
    """Evaluates ELM libraries from a :class:`LibraryRepository`."""

    def __init__(
        self, repository: LibraryRepository, *, terminology: TerminologyProvider | None = None
    ) -> None:
        self.repository = repository
        self.terminology = terminology
        self._compiled: dict[tuple[str, str | None], CompiledLibrary | None] = {}

    def library(self, name: str, version: str | None = None) -> CompiledLibrary:
        """Return the compiled library (cached), raising ElmLoadError when it is unknown."""
        lib = self._resolve(name, version)
        if lib is None:
            suffix = f" version {version}" if version else ""
            raise ElmLoadError(f"library {name}{suffix} is not loaded")
        return lib

    def _resolve(self, name: str, version: str | None) -> CompiledLibrary | None:
        key = (name, version)
        if key not in self._compiled:
            elm = self.repository.get(name, version)
            if elm is None and version is not None:
                elm = self.repository.get(name)
            self._compiled[key] = None if elm is None else CompiledLibrary(elm, self._resolve)
        return self._compiled[key]

    def evaluate(
        self,
        library: str,
        version: str | None = None,
        *,
        data: DataProvider | None = None,
        parameters: dict[str, Any] | None = None,
        now: datetime | None = None,
        defines: Iterable[str] | None = None,
        profile: Profile | None = None,
    ) -> dict[str, Any]:
        """Evaluate the named defines (all expression defines when None) of a library.

        ``profile`` collects per-define call counts and times when given.

        Raises:
            ElmLoadError: the library, an include or a node type is unknown.
            CqlEvaluationError: a define failed (names library, define and locator).
        """
        lib = self.library(library, version)
        state = EvalState(
            now=now or datetime.now().astimezone(),
            data=data,
            terminology=self.terminology,
            overrides={lib.name: dict(parameters or {})},
            profile=profile,
        )
        base = state.context_for(lib)
        names = list(lib.statements) if defines is None else list(defines)
        return {name: lib.run_define(base, name) for name in names}
