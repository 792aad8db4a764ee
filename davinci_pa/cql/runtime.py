"""Runtime state of one evaluation: per-library contexts, variables and the runtime error type.

A compiled expression is a closure ``Fn = Callable[[Ctx], Any]``. Each library taking part in
an evaluation gets one base :class:`Ctx` holding its define cache and parameter values;
function bodies get child contexts with their operands as variables; query aliases are set in
place on the current context's ``vars`` and restored afterwards (ELM §Query scoping).
"""

from __future__ import annotations

from collections.abc import Callable
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

    def __init__(self, message: str, *, locator: str | None = None) -> None:
        super().__init__(message)
        self.locator = locator


class DefineError(CqlEvaluationError):
    """A define failed; the message names the library, the define and the source locator."""


class EvalState:
    """Everything shared by the libraries of one evaluation: clock, data and terminology."""

    __slots__ = ("contexts", "data", "now", "overrides", "terminology", "today_cache")

    def __init__(
        self,
        *,
        now: datetime,
        data: DataProvider | None,
        terminology: TerminologyProvider | None,
        overrides: dict[str, Any],
    ) -> None:
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
