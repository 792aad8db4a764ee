"""Compile ELM expression trees into Python closures, once per library (ELM §2, Expressions).

Operator families register a builder per ELM node type with :func:`node` (or a plain function
with :func:`operator`). A builder receives the :class:`NodeCompiler` and the ELM node and
returns a closure ``Fn`` that evaluates the node against a :class:`Ctx`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from davinci_pa.cql.runtime import CqlRuntimeError, Ctx, DefineError, Fn
from davinci_pa.errors import CqlError, ElmLoadError

if TYPE_CHECKING:
    from davinci_pa.cql.library import CompiledLibrary

Builder = Callable[["NodeCompiler", dict[str, Any]], Fn]
BUILDERS: dict[str, Builder] = {}
_UNGUARDED = frozenset(
    {
        "Literal",
        "Null",
        "AliasRef",
        "OperandRef",
        "QueryLetRef",
        "IdentifierRef",
        "ExpressionRef",
        "ParameterRef",
        "List",
        "Tuple",
        "If",
        "Case",
        "And",
        "Or",
        "Not",
        "IsNull",
        "Equal",
        "Equivalent",
    }
)


def node(*names: str) -> Callable[[Builder], Builder]:
    """Register a builder for the named ELM node types."""

    def register(builder: Builder) -> Builder:
        for name in names:
            BUILDERS[name] = builder
        return builder

    return register


def operator(*names: str, nulls: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a plain function over evaluated operands.

    With ``nulls=True`` the result is null whenever any operand is null (ELM null propagation).
    """

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        def build(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
            return call(fn, comp.operands(elm), nulls=nulls)

        for name in names:
            BUILDERS[name] = build
        return fn

    return register


def call(fn: Callable[..., Any], args: list[Fn], *, nulls: bool = True) -> Fn:
    """Build a closure applying ``fn`` to the values of ``args``."""
    if len(args) == 1:
        (x,) = args
        if nulls:
            return lambda c: None if (v := x(c)) is None else fn(v)
        return lambda c: fn(x(c))
    if len(args) == 2:
        x, y = args
        if nulls:

            def binary(c: Ctx) -> Any:
                a = x(c)
                if a is None:
                    return None
                b = y(c)
                return None if b is None else fn(a, b)

            return binary
        return lambda c: fn(x(c), y(c))

    def nary(c: Ctx) -> Any:
        values = [a(c) for a in args]
        if nulls and any(v is None for v in values):
            return None
        return fn(*values)

    return nary


class NodeCompiler:
    """Compiles the expressions of one library; knows its includes and declarations."""

    def __init__(self, library: CompiledLibrary) -> None:
        self.library = library
        self.declared_operands: dict[str, str] = {}
        """Declared operand types (qualified names) of the function body being compiled."""

    def compile(self, elm: dict[str, Any] | None) -> Fn:
        """Compile one ELM expression node (None compiles to a null-valued closure)."""
        if elm is None:
            return _null
        kind = elm.get("type")
        builder = BUILDERS.get(kind) if isinstance(kind, str) else None
        if builder is None:
            raise ElmLoadError(
                f"unsupported ELM node {kind!r} in library {self.library.name}",
                details={"locator": elm.get("locator")},
            )
        fn = builder(self, elm)
        if kind in _UNGUARDED:
            return fn
        return _guard(fn, elm.get("locator"), kind or "", self.library.name)

    def operands(self, elm: dict[str, Any]) -> list[Fn]:
        """Compile a node's ``operand`` (one node or a list) into closures."""
        operand = elm.get("operand")
        if operand is None:
            return []
        if isinstance(operand, dict):
            return [self.compile(operand)]
        return [self.compile(o) for o in operand]

    def operand_types(self, elm: dict[str, Any]) -> list[str]:
        """Return the declared operand type names from an ELM ``signature``, if any."""
        return [s.get("name", "") for s in elm.get("signature", [])]


def _null(c: Ctx) -> None:
    return None


def _guard(fn: Fn, locator: str | None, kind: str, library: str) -> Fn:
    def guarded(c: Ctx) -> Any:
        try:
            return fn(c)
        except CqlRuntimeError as exc:
            if exc.locator is None:
                exc.locator, exc.library = locator, library
            raise
        except (DefineError, ElmLoadError):
            raise
        except CqlError as exc:
            raise CqlRuntimeError(exc.message, locator=locator, library=library) from exc
        except (ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as exc:
            raise CqlRuntimeError(f"{kind}: {exc}", locator=locator, library=library) from exc

    return guarded
