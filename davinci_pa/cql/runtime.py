"""Runtime state of one evaluation: per-library contexts, variables and the runtime error type.

A compiled expression is a closure ``Fn = Callable[[Ctx], Any]``. Each library taking part in
an evaluation gets one base :class:`Ctx` holding its define cache and parameter values;
function bodies get child contexts with their operands as variables; query aliases are set in
place on the current context's ``vars`` and restored afterwards (ELM §Query scoping).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from davinci_pa.errors import CqlEvaluationError

if TYPE_CHECKING:
    from davinci_pa.cql.library import CompiledLibrary
    from davinci_pa.cql.retrieve import DataProvider
    from davinci_pa.cql.terminology import TerminologyProvider

Fn = Callable[["Ctx"], Any]
MISSING: Any = object()


class CqlRuntimeError(CqlEvaluationError):
    """An error raised while evaluating ELM; the innermost node's locator is attached."""

    def __init__(
        self, message: str, *, locator: str | None = None, library: str | None = None
    ) -> None:
        super().__init__(message)
        self.locator = locator
        self.library = library
        """The library holding the failing node (an included one, for a function call)."""


class DefineError(CqlEvaluationError):
    """A define failed; the message names the library, the define and the source locator."""


@dataclass
class DefineTiming:
    """How often one define was asked for and the time its one evaluation took."""

    library: str
    define: str
    calls: int = 0
    seconds: float = 0.0
    self_seconds: float = 0.0


class Profile:
    """Per-define call counts and evaluation time (``cql eval --profile``).

    ``seconds`` includes the defines it referenced; ``self_seconds`` leaves them out.
    """

    def __init__(self) -> None:
        self.timings: dict[tuple[str, str], DefineTiming] = {}
        self._children: list[float] = []

    def called(self, library: str, define: str) -> None:
        """Count one request for a define (cached answers included)."""
        key = (library, define)
        timing = self.timings.get(key) or self.timings.setdefault(key, DefineTiming(*key))
        timing.calls += 1

    def run(self, library: str, define: str, evaluate: Callable[[], Any]) -> Any:
        """Evaluate a define, adding its time to the profile."""
        self._children.append(0.0)
        started = time.perf_counter()
        try:
            return evaluate()
        finally:
            elapsed = time.perf_counter() - started
            children = self._children.pop()
            timing = self.timings[(library, define)]
            timing.seconds += elapsed
            timing.self_seconds += elapsed - children
            if self._children:
                self._children[-1] += elapsed

    def slowest(self) -> list[DefineTiming]:
        """Every define, slowest (by self time) first."""
        return sorted(self.timings.values(), key=lambda t: (-t.self_seconds, -t.calls))


class EvalState:
    """Everything shared by the libraries of one evaluation: clock, data and terminology."""

    __slots__ = ("contexts", "data", "now", "overrides", "profile", "terminology", "today_cache")

    def __init__(
        self,
        *,
        now: datetime,
        data: DataProvider | None,
        terminology: TerminologyProvider | None,
        overrides: dict[str, Any],
        profile: Profile | None = None,
    ) -> None:
        self.profile = profile
        self.now = now
        self.data = data
        self.terminology = terminology
        self.overrides = overrides
        self.contexts: dict[int, Ctx] = {}
        self.today_cache: dict[str, Any] = {}

    def context_for(self, lib: CompiledLibrary) -> Ctx:
        """Return the base context of ``lib`` in this evaluation, creating it on first use."""
        ctx = self.contexts.get(id(lib))
        if ctx is None:
            ctx = Ctx(lib, self, {}, None)
            self.contexts[id(lib)] = ctx
        return ctx


class Ctx:
    """The evaluation context of one library: define cache, parameters and variables."""

    __slots__ = ("base", "cache", "lib", "state", "vars")

    def __init__(
        self, lib: CompiledLibrary, state: EvalState, variables: dict[str, Any], base: Ctx | None
    ) -> None:
        self.lib = lib
        self.state = state
        self.vars = variables
        self.base: Ctx = base if base is not None else self
        self.cache: dict[str, Any] = self.base.cache if base is not None else {}

    def child(self, variables: dict[str, Any]) -> Ctx:
        """Return a context of the same library with fresh variables (a function body)."""
        return Ctx(self.lib, self.state, variables, self.base)
