"""List operators (CQL §9.10).

Exists, First/Last, Indexer, SingletonFrom, Flatten, Distinct, Slice, IndexOf, Length, ToList
and Times, plus the membership and duplicate helpers shared with the set operators.
"""

from __future__ import annotations

from typing import Any

from davinci_pa.cql.compiler import NodeCompiler, node, operator
from davinci_pa.cql.runtime import CqlRuntimeError, Ctx, Fn
from davinci_pa.cql.values.equality import equal
from davinci_pa.cql.values.tuples import CqlTuple


def same(a: Any, b: Any) -> bool:
    """Equality used for list membership and duplicate removal (nulls match nulls)."""
    if a is None or b is None:
        return a is None and b is None
    return equal(a, b) is True


def _hash_key(value: Any) -> Any:
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, str | int):
        return value
    return None


def distinct(items: list[Any]) -> list[Any]:
    """Remove duplicates, keeping first occurrences (hash fast path for simple values)."""
    out: list[Any] = []
    seen: set[Any] = set()
    for item in items:
        key = _hash_key(item)
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
            out.append(item)
        elif not any(same(item, o) for o in out):
            out.append(item)
    return out


def member(value: Any, items: list[Any]) -> bool:
    """True when ``value`` is in ``items`` by :func:`same`."""
    return any(same(value, item) for item in items)


@operator("Exists")
def exists(items: list[Any]) -> bool:
    """True when the list has a non-null element."""
    return any(item is not None for item in items)


@node("Exists")
def exists_node(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``exists x``: false for null."""
    (source,) = comp.operands(elm)

    def run(c: Ctx) -> bool:
        items = source(c)
        if items is None:
            return False
        return any(item is not None for item in items) if isinstance(items, list) else True

    return run


@node("First")
def first(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``First(list)``: null for an empty list."""
    source = comp.compile(elm["source"])

    def run(c: Ctx) -> Any:
        items = source(c)
        return items[0] if items else None

    return run


@node("Last")
def last(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``Last(list)``: null for an empty list."""
    source = comp.compile(elm["source"])

    def run(c: Ctx) -> Any:
        items = source(c)
        return items[-1] if items else None

    return run


@operator("SingletonFrom")
def singleton_from(items: Any) -> Any:
    """``singleton from list``: the only element, null if empty, error if more than one."""
    if not isinstance(items, list):
        return items
    if len(items) > 1:
        raise CqlRuntimeError(f"singleton from: the list has {len(items)} elements")
    return items[0] if items else None


@operator("Indexer")
def indexer(source: Any, index: int) -> Any:
    """``source[index]`` for lists and strings (null when out of range)."""
    if index < 0 or index >= len(source):
        return None
    return source[index]


@operator("Flatten")
def flatten(items: list[Any]) -> list[Any]:
    """Flatten one level of nesting."""
    out: list[Any] = []
    for item in items:
        if isinstance(item, list):
            out.extend(item)
        else:
            out.append(item)
    return out


operator("Distinct")(distinct)


@node("IndexOf")
def index_of(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``IndexOf(list, element)``: -1 when absent, null when either is null."""
    source = comp.compile(elm["source"])
    element = comp.compile(elm["element"])

    def run(c: Ctx) -> int | None:
        items, value = source(c), element(c)
        if items is None or value is None:
            return None
        for i, item in enumerate(items):
            if equal(item, value) is True:
                return i
        return -1

    return run


@node("Slice")
def slice_(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``Slice(list, start, end)`` behind Skip, Take and Tail."""
    source = comp.compile(elm["source"])
    start = comp.compile(elm.get("startIndex"))
    end = comp.compile(elm.get("endIndex"))

    def run(c: Ctx) -> list[Any] | None:
        items = source(c)
        if items is None:
            return None
        s = start(c) or 0
        e = end(c)
        return items[s:e] if e is None or e >= s else []

    return run


@node("Length")
def length(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``Length(list or string)``: 0 for a null list, null for a null string."""
    (source,) = comp.operands(elm)
    is_list = "ListTypeSpecifier" in str(elm.get("signature")) or "ListTypeSpecifier" in str(
        elm.get("operand", {}).get("asTypeSpecifier")
    )

    def run(c: Ctx) -> int | None:
        value = source(c)
        if value is None:
            return 0 if is_list else None
        return len(value)

    return run


@node("ToList")
def to_list(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """Promote a value to a list (null becomes the empty list)."""
    (source,) = comp.operands(elm)

    def run(c: Ctx) -> list[Any]:
        value = source(c)
        return [] if value is None else [value]

    return run


@node("Times")
def times(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """Cartesian product of two lists of tuples."""
    x, y = comp.operands(elm)

    def run(c: Ctx) -> list[CqlTuple] | None:
        a, b = x(c), y(c)
        if a is None or b is None:
            return None
        return [CqlTuple({**dict(left), **dict(right)}) for left in a for right in b]

    return run


def _children(value: Any) -> list[Any]:
    if isinstance(value, dict | CqlTuple):
        items = [v for k, v in value.items() if k != "resourceType"]
    elif isinstance(value, list):
        items = value
    else:
        return []
    out: list[Any] = []
    for item in items:
        if isinstance(item, list):
            out.extend(i for i in item if i is not None)
        elif item is not None:
            out.append(item)
    return out


def descendents(value: Any) -> list[Any]:
    """Every element below ``value``, depth first (FHIRPath ``descendants()``)."""
    out: list[Any] = []
    for child in _children(value):
        out.append(child)
        out.extend(descendents(child))
    return out


@node("Children", "Descendents")
def children_of(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``Children(x)``/``Descendents(x)`` of a structured value (null for null)."""
    source = comp.compile(elm.get("source"))
    collect = descendents if elm.get("type") == "Descendents" else _children
    return lambda c: None if (value := source(c)) is None else collect(value)
