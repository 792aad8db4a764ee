"""FHIRPath invariants (ElementDefinition.constraint) evaluated with fhirpathpy.

Each expression is compiled once with the R4 model. ``resolve()`` (within the Bundle being
validated) and ``memberOf()`` (local terminology) are supplied as user functions. A few
invariants are decided natively because they are hot or not expressible in fhirpathpy:
``ele-1`` and ``ext-1`` are checked structurally by the element walker; ``dom-2``, ``dom-4``
and ``dom-5`` hold trivially without ``contained``; ``dom-3`` (fhirpathpy cannot run it) and
``dom-6`` are checked natively; ``hasValue()`` is supplied. Expressions in the common subset
of :mod:`.fastpath` run as compiled Python closures; the rest, and values the subset cannot
judge, go to fhirpathpy. An invariant whose
evaluation fails (an unsupported function such as ``htmlChecks()``) is skipped and counted.
"""

from __future__ import annotations

import contextvars
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import fhirpathpy
from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.models import models

from davinci_pa.fhir.validation.fastpath import Unsupported, compile_invariant
from davinci_pa.fhir.validation.profile import Constraint

NATIVE_KEYS = frozenset({"ele-1", "ext-1"})
"""Invariants the element walker checks itself."""

_CONTAINED_ONLY = frozenset({"dom-2", "dom-4", "dom-5"})

Resolver = Callable[[Any], "dict[str, Any] | None"]
MemberTest = Callable[[str, Any], "bool | None"]

_resolver: contextvars.ContextVar[Resolver | None] = contextvars.ContextVar(
    "fhirpath_resolver", default=None
)
_member: contextvars.ContextVar[MemberTest | None] = contextvars.ContextVar(
    "fhirpath_member_of", default=None
)
_Compiled = Callable[[Any, dict[str, Any]], list[Any]]
_Fast = Callable[[Any, Any], list[Any]]


def _resolve_fn(inputs: list[Any]) -> list[Any]:
    resolve = _resolver.get()
    if resolve is None:
        return []
    return [t for t in (resolve(i) for i in inputs) if t is not None]


def _member_of_fn(inputs: list[Any], value_set: Any) -> list[Any]:
    test = _member.get()
    url = value_set[0] if isinstance(value_set, list) and value_set else value_set
    if test is None or not isinstance(url, str) or not inputs:
        return []
    answers = [test(url, i) for i in inputs]
    if any(a is None for a in answers):
        return []
    return [all(answers)]


def _has_value_fn(inputs: list[Any]) -> list[Any]:
    return [len(inputs) == 1 and inputs[0] is not None and not isinstance(inputs[0], dict | list)]


_USER_FUNCTIONS: dict[str, Any] = {
    "hasValue": {"fn": _has_value_fn, "arity": {0: []}},
    "resolve": {"fn": _resolve_fn, "arity": {0: []}},
    "memberOf": {"fn": _member_of_fn, "arity": {1: ["String"]}},
}


class InvariantEvaluator:
    """Evaluates constraints; thread-safe, compiled expressions are shared."""

    def __init__(self) -> None:
        self._compiled: dict[str, _Compiled | None] = {}
        self._fast: dict[str, _Fast | None] = {}
        self._lock = threading.Lock()
        self.skipped: Counter[str] = Counter()
        self.reasons: dict[str, str] = {}
        self.evaluated = 0

    def holds(
        self,
        constraint: Constraint,
        value: Any,
        type_path: str,
        resource: Any,
        *,
        resolve: Resolver | None = None,
        member_of: MemberTest | None = None,
    ) -> bool | None:
        """Return whether the invariant holds on ``value`` (``None``: skipped)."""
        native = _native(constraint.key, value)
        if native is not None:
            return native
        fast = self._fast_form(constraint.expression)
        if fast is not None:
            try:
                result = fast(value, resource)
            except Unsupported:
                pass  # a value outside the subset: fhirpathpy decides this one
            else:
                self.evaluated += 1
                return not (len(result) == 1 and result[0] is False)
        compiled = self._compile(constraint.expression)
        if compiled is None:
            self.skipped[constraint.key] += 1
            return None
        tokens = (_resolver.set(resolve), _member.set(member_of))
        try:
            node = ResourceNode.create_node(value, type_path)  # type: ignore[no-untyped-call]
            result = compiled(node, {"resource": resource, "rootResource": resource})
        except Exception as exc:  # noqa: BLE001 - fhirpathpy raises bare Exception
            self.skipped[constraint.key] += 1
            self.reasons[constraint.key] = str(exc)[:200]
            return None
        finally:
            _resolver.reset(tokens[0])
            _member.reset(tokens[1])
        self.evaluated += 1
        return not (len(result) == 1 and result[0] is False)

    def _fast_form(self, expression: str) -> _Fast | None:
        """The expression compiled to Python (:mod:`.fastpath`), or ``None`` outside it."""
        if expression not in self._fast:
            with self._lock:
                try:
                    self._fast[expression] = compile_invariant(expression)
                except Unsupported:
                    self._fast[expression] = None
        return self._fast[expression]

    def _compile(self, expression: str) -> _Compiled | None:
        if expression not in self._compiled:
            with self._lock:
                self._compiled[expression] = _compile(expression)
        return self._compiled[expression]


def _compile(expression: str) -> _Compiled | None:
    if "htmlChecks()" in expression:
        return None
    try:
        compiled: _Compiled = fhirpathpy.compile(
            expression,
            models["r4"],
            {"userInvocationTable": _USER_FUNCTIONS, "traceFn": _no_trace},
        )
    except Exception:  # noqa: BLE001 - the fhirpathpy parser raises bare Exception
        return None
    return compiled


def _no_trace(label: Any, value: Any) -> None:
    """Swallow ``trace()`` output (fhirpathpy prints it by default)."""


def _native(key: str, value: Any) -> bool | None:
    if key in NATIVE_KEYS:
        return True
    if key in _CONTAINED_ONLY and isinstance(value, dict) and not value.get("contained"):
        return True
    if key == "dom-3" and isinstance(value, dict):
        return _contained_referenced(value)
    if key == "dom-6" and isinstance(value, dict):
        text = value.get("text")
        return isinstance(text, dict) and bool(text.get("div"))
    return None


def _contained_referenced(resource: dict[str, Any]) -> bool:
    """dom-3: every contained resource is referenced from the resource (or ``#`` is used)."""
    contained = resource.get("contained") or []
    if not contained:
        return True
    local = set(_local_references(resource))
    if "#" in local:
        return True
    ids = {c.get("id") for c in contained if isinstance(c, dict)}
    return all(f"#{rid}" in local for rid in ids if isinstance(rid, str))


def _local_references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for child in value.values():
            yield from _local_references(child)
    elif isinstance(value, list):
        for child in value:
            yield from _local_references(child)
    elif isinstance(value, str) and value.startswith("#"):
        yield value
