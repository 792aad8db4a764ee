"""References: defines, functions, parameters, operands, aliases and terminology declarations.

ELM §4 (Expression/Function/Parameter refs) and §5 (clinical references). Function calls to
registered native implementations (our FHIRHelpers 4.0.1) skip the ELM body entirely; other
versions of a library (such as the CDS-Library's FHIRHelpers 4.0.0) run their own ELM.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from davinci_pa.cql.compiler import NodeCompiler, node
from davinci_pa.cql.library import CompiledLibrary
from davinci_pa.cql.runtime import MISSING, CqlRuntimeError, Ctx, Fn
from davinci_pa.cql.types import type_key
from davinci_pa.cql.values.clinical import Code, CodeSystemRef, Concept, ValueSetRef
from davinci_pa.errors import ElmLoadError

NATIVE: dict[tuple[str, str | None, str], Callable[..., Any]] = {}


def register_native(
    library: str, version: str, name: str
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a Python implementation for ``name`` (any overload) of one library version."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        NATIVE[(library, version, name)] = fn
        return fn

    return register


def _native(comp: NodeCompiler, local: str | None, name: str) -> Callable[..., Any] | None:
    if local is None:
        return NATIVE.get((comp.library.name, comp.library.version, name))
    path, version = comp.library.includes.get(local, (local, None))
    if version is None:
        lib = comp.library.resolve_library(local)
        version = lib.version if lib is not None else None
    return NATIVE.get((path, version, name))


def _target(comp: NodeCompiler, elm: dict[str, Any]) -> CompiledLibrary:
    lib = comp.library.resolve_library(elm.get("libraryName"))
    if lib is None:
        raise ElmLoadError(
            f"library {comp.library.name}: include {elm.get('libraryName')} is not loaded"
        )
    return lib


def _base(c: Ctx, lib: CompiledLibrary) -> Ctx:
    return c.base if c.lib is lib else c.state.context_for(lib)


@node("ExpressionRef")
def expression_ref(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """A reference to a define, cached per evaluation."""
    lib = _target(comp, elm)
    name = elm["name"]

    def ref(c: Ctx) -> Any:
        base = _base(c, lib)
        value = base.cache.get(name, MISSING)
        if value is MISSING:
            return lib.run_define(base, name)
        if c.state.profile is not None:
            c.state.profile.called(lib.name, name)
        return value

    return ref


@node("FunctionRef")
def function_ref(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """A call to a user-defined (or natively implemented) function."""
    args = comp.operands(elm)
    name = elm["name"]
    native = _native(comp, elm.get("libraryName"), name)
    if native is not None:
        return _native_call(native, args)
    lib = _target(comp, elm)
    definition = _select_overload(lib, name, elm)
    if definition.get("external"):
        raise ElmLoadError(f"external function {lib.name}.{name} has no implementation")
    operands = definition.get("operand", [])
    names = [o["name"] for o in operands]
    key = f"function:{name}:{id(definition)}"
    body_elm = definition.get("expression")

    def invoke(c: Ctx) -> Any:
        values = [a(c) for a in args]
        base = _base(c, lib)
        body = lib.compiled(key, body_elm, operands)
        return body(base.child(dict(zip(names, values, strict=True))))

    return invoke


def _native_call(native: Callable[..., Any], args: list[Fn]) -> Fn:
    if len(args) == 1:
        (x,) = args
        return lambda c: native(x(c))
    return lambda c: native(*[a(c) for a in args])


def _select_overload(lib: CompiledLibrary, name: str, elm: dict[str, Any]) -> dict[str, Any]:
    arity = len(elm.get("operand", []))
    candidates = [f for f in lib.functions.get(name, []) if len(f.get("operand", [])) == arity]
    if not candidates:
        raise ElmLoadError(f"library {lib.name} has no function {name} with {arity} operands")
    wanted = [type_key(s) for s in elm.get("signature", [])]
    if len(candidates) > 1 and wanted:
        for f in candidates:
            declared = [_operand_type(o) for o in f.get("operand", [])]
            if declared == wanted:
                return f
    return candidates[0]


def _operand_type(operand: dict[str, Any]) -> str:
    spec = operand.get("operandTypeSpecifier")
    if spec is not None:
        return type_key(spec)
    return str(operand.get("operandType", ""))


@node("ParameterRef")
def parameter_ref(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """A parameter: the caller's value if given, else the declared default."""
    lib = _target(comp, elm)
    name = elm["name"]
    definition = lib.parameters.get(name)
    if definition is None:
        raise ElmLoadError(f"library {lib.name} has no parameter {name}")
    key = "parameter:" + name
    default_elm = definition.get("default")

    def ref(c: Ctx) -> Any:
        base = _base(c, lib)
        value = base.cache.get(key, MISSING)
        if value is MISSING:
            supplied = c.state.overrides.get(lib.name, {})
            value = supplied[name] if name in supplied else lib.compiled(key, default_elm)(base)
            base.cache[key] = value
        return value

    return ref


@node("OperandRef", "AliasRef", "QueryLetRef")
def variable_ref(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """A function operand, query alias or let variable (all live in ``Ctx.vars``)."""
    name = elm["name"]

    def ref(c: Ctx) -> Any:
        try:
            return c.vars[name]
        except KeyError:
            raise CqlRuntimeError(f"{name} is not in scope", locator=elm.get("locator")) from None

    return ref


@node("ValueSetRef")
def valueset_ref(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """A value set declaration, as a reference resolved by the terminology provider."""
    lib = _target(comp, elm)
    d = lib.valuesets.get(elm["name"])
    if d is None:
        raise ElmLoadError(f"library {lib.name} has no valueset {elm['name']}")
    value = ValueSetRef(d["id"], d.get("version"), d["name"])
    return lambda c: value


@node("CodeSystemRef")
def codesystem_ref(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """A code system declaration."""
    lib = _target(comp, elm)
    d = lib.codesystems[elm["name"]]
    value = CodeSystemRef(d["id"], d.get("version"), d["name"])
    return lambda c: value


def declared_code(lib: CompiledLibrary, name: str) -> Code:
    """Build the Code declared as ``name`` in ``lib``."""
    d = lib.codes.get(name)
    if d is None:
        raise ElmLoadError(f"library {lib.name} has no code {name}")
    system_name = d.get("codeSystem", {}).get("name")
    system_lib = lib.resolve_library(d.get("codeSystem", {}).get("libraryName")) or lib
    cs = system_lib.codesystems.get(system_name, {}) if system_name else {}
    return Code(d["id"], cs.get("id"), cs.get("version"), d.get("display"))


@node("CodeRef")
def code_ref(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """A code declaration."""
    value = declared_code(_target(comp, elm), elm["name"])
    return lambda c: value


@node("ConceptRef")
def concept_ref(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """A concept declaration."""
    lib = _target(comp, elm)
    d = lib.concepts[elm["name"]]
    codes = []
    for ref in d.get("code", []):
        code_lib = lib.resolve_library(ref.get("libraryName")) or lib
        codes.append(declared_code(code_lib, ref["name"]))
    value = Concept(tuple(codes), d.get("display"))
    return lambda c: value
