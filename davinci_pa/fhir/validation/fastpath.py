"""Invariants compiled to Python closures over plain JSON, for the common FHIRPath subset.

Profile invariants are mostly short boolean expressions over paths: ``where()``,
``exists()``, ``empty()``, ``count()``, ``all()``, ``implies``, equality with literals.
Interpreting them with fhirpathpy costs about a millisecond each; this compiles each
expression once, from fhirpathpy's own parse tree, into nested closures (FHIRPath N1
semantics: collections, empty propagation, three-valued ``and``/``or``/``xor``/``implies``). Any
construct outside the subset (type tests, ``resolve()``, ``memberOf()``, date arithmetic,
most functions) raises :class:`Unsupported` at compile time and the caller falls back to
fhirpathpy, so the subset only ever changes speed, never the answer (checked against
fhirpathpy on every invariant of the IG packages, ``tests/fhir/test_fastpath.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from davinci_pa.fhir.fhirpath import FhirPathError, compile_expression

Collection = list[Any]
Env = dict[str, Any]
Node = Callable[[Collection, Env], Collection]
"""A compiled sub-expression: focus collection and environment in, collection out."""


class Unsupported(Exception):  # noqa: N818 - a signal to fall back, not an error
    """The expression uses something this compiler does not handle."""


def compile_invariant(expression: str) -> Callable[[Any, Any], Collection]:
    """Compile ``expression``; the result takes (focus value, %resource) and returns JSON.

    Raises:
        Unsupported: outside the subset (the caller uses fhirpathpy instead).
    """
    if "\\" in expression:
        raise Unsupported("escapes")
    try:
        tree = compile_expression(expression)
    except FhirPathError as exc:
        raise Unsupported(str(exc)) from exc
    node = _compile(tree)

    def run(value: Any, resource: Any) -> Collection:
        return node(_items(value), {"resource": resource, "rootResource": resource})

    return run


def _compile(node: dict[str, Any]) -> Node:
    kind = node.get("type")
    children = node.get("children") or []
    if kind is None or kind in {"TermExpression", "InvocationTerm", "LiteralTerm"}:
        if len(children) != 1:
            raise Unsupported(str(kind))
        return _compile(children[0])
    builder = _BUILDERS.get(str(kind))
    if builder is None:
        raise Unsupported(str(kind))
    return builder(node, children)


# -- terms ------------------------------------------------------------------------------------


def _string(node: dict[str, Any], _children: list[Any]) -> Node:
    literal = [node["terminalNodeText"][0][1:-1]]
    return lambda _focus, _env: literal


def _number(node: dict[str, Any], _children: list[Any]) -> Node:
    text = node["terminalNodeText"][0]
    literal = [float(text) if "." in text else int(text)]
    return lambda _focus, _env: literal


def _boolean(node: dict[str, Any], _children: list[Any]) -> Node:
    literal = [node["terminalNodeText"][0] == "true"]
    return lambda _focus, _env: literal


def _this(_node: dict[str, Any], _children: list[Any]) -> Node:
    return lambda focus, _env: focus


def _external(node: dict[str, Any], children: list[Any]) -> Node:
    name = _identifier(children[0]) if children else ""
    if name not in {"resource", "rootResource"}:
        raise Unsupported(f"%{name}")
    return lambda _focus, env: _items(env[name])


def _parenthesized(_node: dict[str, Any], children: list[Any]) -> Node:
    return _compile(children[0])


def _member(_node: dict[str, Any], children: list[Any]) -> Node:
    name = _identifier(children[0])
    if name[:1].isupper():
        raise Unsupported(f"type name {name}")  # Resource-type roots need the model

    def member(focus: Collection, _env: Env) -> Collection:
        found: Collection = []
        for item in focus:
            if isinstance(item, dict):
                found.extend(_child(item, name))
        return found

    return member


def _child(item: dict[str, Any], name: str) -> Collection:
    if name in item:
        return _items(item[name])
    choice = [k for k in item if k.startswith(name) and k[len(name) : len(name) + 1].isupper()]
    if len(choice) == 1:
        return _items(item[choice[0]])
    if choice:
        raise Unsupported("ambiguous choice")
    return []


def _identifier(node: dict[str, Any]) -> str:
    text = node["terminalNodeText"][0] if node.get("terminalNodeText") else node.get("text", "")
    return str(text).strip("`")


def _items(value: Any) -> Collection:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


# -- invocations ------------------------------------------------------------------------------


def _invocation(_node: dict[str, Any], children: list[Any]) -> Node:
    source = _compile(children[0])
    target = children[1]
    if target.get("type") == "MemberInvocation":
        member = _member(target, target.get("children") or [])
        return lambda focus, env: member(source(focus, env), env)
    if target.get("type") != "FunctionInvocation":
        raise Unsupported(str(target.get("type")))
    function = _function(target)
    return lambda focus, env: function(source(focus, env), env)


def _function(node: dict[str, Any]) -> Node:
    functn = (node.get("children") or [{}])[0]
    parts = functn.get("children") or []
    name = _identifier(parts[0])
    raw = (parts[1].get("children") or []) if len(parts) > 1 else []
    if name == "is" and len(raw) == 1:
        return _type_test(raw[0].get("text", ""))
    params = [_compile(p) for p in raw]
    make = _FUNCTIONS.get((name, len(params)))
    if make is None:
        raise Unsupported(f"{name}()")
    return make(params)


def _type_test(name: str) -> Node:
    """``is`` on resources: their ``resourceType`` (other types need the model)."""
    if not re.fullmatch(r"[A-Z][A-Za-z]+", name):
        raise Unsupported(f"is {name}")

    def test(focus: Collection, _env: Env) -> Collection:
        if not focus:
            return []
        if len(focus) > 1 or not isinstance(focus[0], dict) or "resourceType" not in focus[0]:
            raise Unsupported("is on a non-resource")
        return [focus[0]["resourceType"] == name]

    return test


def _type_expression(node: dict[str, Any], children: list[Any]) -> Node:
    if node["terminalNodeText"][0] != "is":
        raise Unsupported("as")
    source, test = _compile(children[0]), _type_test(children[1].get("text", ""))
    return lambda focus, env: test(source(focus, env), env)


def _select(params: list[Node]) -> Node:
    projection = params[0]

    def select(focus: Collection, env: Env) -> Collection:
        return [value for item in focus for value in projection([item], env)]

    return select


def _iif(params: list[Node]) -> Node:
    if len(params) != 3:
        raise Unsupported("iif without otherwise")
    criterion, then, otherwise = params

    def iif(focus: Collection, env: Env) -> Collection:
        branch = then if _truth(criterion(focus, env)) is True else otherwise
        return branch(focus, env)

    return iif


def _substring(params: list[Node]) -> Node:
    start_of, length_of = params

    def substring(focus: Collection, env: Env) -> Collection:
        start, length = start_of(focus, env), length_of(focus, env)
        if len(focus) != 1 or len(start) != 1 or len(length) != 1:
            return []
        text, begin, size = focus[0], start[0], length[0]
        if not isinstance(text, str) or not all(_is_int(v) for v in (begin, size)):
            raise Unsupported("substring arguments")
        return [text[begin : begin + size]] if 0 <= begin < len(text) else []

    return substring


def _to_integer(_params: list[Node]) -> Node:
    def to_integer(focus: Collection, _env: Env) -> Collection:
        if len(focus) != 1:
            return []
        value = focus[0]
        if _is_int(value):
            return [value]
        if isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+", value):
            return [int(value)]
        if isinstance(value, str):
            return []
        raise Unsupported("toInteger of a non-string")

    return to_integer


def _to_string(_params: list[Node]) -> Node:
    def to_string(focus: Collection, _env: Env) -> Collection:
        if len(focus) != 1:
            return []
        if not isinstance(focus[0], str):
            raise Unsupported("toString of a non-string")
        return [focus[0]]

    return to_string


def _first(_params: list[Node]) -> Node:
    return lambda focus, _env: focus[:1]


def _is_distinct(_params: list[Node]) -> Node:
    def distinct(focus: Collection, _env: Env) -> Collection:
        if any(isinstance(item, dict | list) for item in focus):
            raise Unsupported("isDistinct of complex values")
        return [len(focus) == len({(type(i), i) for i in focus})]

    return distinct


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _exists(params: list[Node]) -> Node:
    if params:
        where = _where(params)
        return lambda focus, env: [bool(where(focus, env))]
    return lambda focus, _env: [bool(focus)]


def _where(params: list[Node]) -> Node:
    criterion = params[0]

    def where(focus: Collection, env: Env) -> Collection:
        return [item for item in focus if _truth(criterion([item], env)) is True]

    return where


def _all(params: list[Node]) -> Node:
    criterion = params[0]

    def every(focus: Collection, env: Env) -> Collection:
        return [all(_truth(criterion([item], env)) is True for item in focus)]

    return every


def _not(_params: list[Node]) -> Node:
    def negate(focus: Collection, _env: Env) -> Collection:
        value = _truth(focus)
        return [] if value is None else [not value]

    return negate


def _string_test(test: Callable[[str, str], bool]) -> Callable[[list[Node]], Node]:
    def make(params: list[Node]) -> Node:
        argument = params[0]

        def run(focus: Collection, env: Env) -> Collection:
            arg = argument(focus, env)
            if len(focus) != 1 or len(arg) != 1:
                return []
            if not isinstance(focus[0], str) or not isinstance(arg[0], str):
                raise Unsupported("string function on a non-string")
            return [test(focus[0], arg[0])]

        return run

    return make


def _matches(text: str, pattern: str) -> bool:
    return re.search(pattern, text, flags=re.DOTALL) is not None


def _length(_params: list[Node]) -> Node:
    def length(focus: Collection, _env: Env) -> Collection:
        if len(focus) != 1:
            return []
        if not isinstance(focus[0], str):
            raise Unsupported("length() on a non-string")
        return [len(focus[0])]

    return length


def _has_value(_params: list[Node]) -> Node:
    return lambda focus, _env: [
        len(focus) == 1 and focus[0] is not None and not isinstance(focus[0], dict | list)
    ]


_FUNCTIONS: dict[tuple[str, int], Callable[[list[Node]], Node]] = {
    ("exists", 0): _exists,
    ("exists", 1): _exists,
    ("empty", 0): lambda _p: lambda focus, _env: [not focus],
    ("count", 0): lambda _p: lambda focus, _env: [len(focus)],
    ("where", 1): _where,
    ("all", 1): _all,
    ("not", 0): _not,
    ("hasValue", 0): _has_value,
    ("length", 0): _length,
    ("startsWith", 1): _string_test(str.startswith),
    ("endsWith", 1): _string_test(str.endswith),
    ("contains", 1): _string_test(lambda text, part: part in text),
    ("matches", 1): _string_test(_matches),
    ("select", 1): _select,
    ("iif", 3): _iif,
    ("substring", 2): _substring,
    ("toInteger", 0): _to_integer,
    ("toString", 0): _to_string,
    ("first", 0): _first,
    ("isDistinct", 0): _is_distinct,
}


# -- operators --------------------------------------------------------------------------------


def _truth(collection: Collection) -> bool | None:
    """A collection used as a boolean: empty or one boolean.

    Anything else (a non-boolean singleton, which N1 makes ``true`` and fhirpathpy does
    not) goes back to fhirpathpy, so the two never disagree.
    """
    if not collection:
        return None
    if len(collection) > 1 or not isinstance(collection[0], bool):
        raise Unsupported("a non-boolean used as a boolean")
    return bool(collection[0])


def _logic(node: dict[str, Any], children: list[Any]) -> Node:
    operator = node["terminalNodeText"][0]
    left, right = _compile(children[0]), _compile(children[1])
    combine = _COMBINE.get(operator)
    if combine is None:
        raise Unsupported(operator)

    def logic(focus: Collection, env: Env) -> Collection:
        result = combine(_truth(left(focus, env)), lambda: _truth(right(focus, env)))
        return [] if result is None else [result]

    return logic


def _and(a: bool | None, b: Callable[[], bool | None]) -> bool | None:
    if a is False:
        return False
    other = b()
    if other is False:
        return False
    return True if a is True and other is True else None


def _or(a: bool | None, b: Callable[[], bool | None]) -> bool | None:
    if a is True:
        return True
    other = b()
    if other is True:
        return True
    return False if a is False and other is False else None


def _implies(a: bool | None, b: Callable[[], bool | None]) -> bool | None:
    if a is False:
        return True
    other = b()
    if a is True:
        return other
    return True if other is True else None


def _xor(a: bool | None, b: Callable[[], bool | None]) -> bool | None:
    other = b()
    return None if a is None or other is None else a != other


_COMBINE: dict[str, Callable[[bool | None, Callable[[], bool | None]], bool | None]] = {
    "and": _and,
    "or": _or,
    "xor": _xor,
    "implies": _implies,
}


def _equality(node: dict[str, Any], children: list[Any]) -> Node:
    operator = node["terminalNodeText"][0]
    if operator not in {"=", "!="}:
        raise Unsupported(operator)
    left, right = _compile(children[0]), _compile(children[1])

    def equal(focus: Collection, env: Env) -> Collection:
        a, b = left(focus, env), right(focus, env)
        if not a or not b:
            return []
        if len(a) != len(b):
            return [operator == "!="]
        same = all(_same(x, y) for x, y in zip(a, b, strict=True))
        return [same if operator == "=" else not same]

    return equal


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        raise Unsupported("complex equality")
    if isinstance(a, bool) != isinstance(b, bool):
        raise Unsupported("mixed-type equality")
    if isinstance(a, str) != isinstance(b, str):
        raise Unsupported("mixed-type equality")
    return bool(a == b)


def _comparison(node: dict[str, Any], children: list[Any]) -> Node:
    operator = node["terminalNodeText"][0]
    left, right = _compile(children[0]), _compile(children[1])
    tests: dict[str, Callable[[Any, Any], bool]] = {
        ">": lambda x, y: bool(x > y),
        "<": lambda x, y: bool(x < y),
        ">=": lambda x, y: bool(x >= y),
        "<=": lambda x, y: bool(x <= y),
    }
    test = tests[operator]

    def compare(focus: Collection, env: Env) -> Collection:
        a, b = left(focus, env), right(focus, env)
        if not a or not b:
            return []
        if len(a) > 1 or len(b) > 1:
            raise Unsupported("comparison of collections")
        x, y = a[0], b[0]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (x, y))
        if not numeric:
            raise Unsupported("non-numeric comparison")  # dates and quantities need the model
        return [test(x, y)]

    return compare


def _arithmetic(node: dict[str, Any], children: list[Any]) -> Node:
    operator = node["terminalNodeText"][0]
    left, right = _compile(children[0]), _compile(children[1])
    if operator == "&":
        return lambda focus, env: [_text(left(focus, env)) + _text(right(focus, env))]
    operations: dict[str, Callable[[int, int], int]] = {
        "+": lambda x, y: x + y,
        "-": lambda x, y: x - y,
        "*": lambda x, y: x * y,
        "mod": lambda x, y: x % y,
    }
    operation = operations.get(operator)
    if operation is None:
        raise Unsupported(operator)  # division and div change types or need decimals

    def arithmetic(focus: Collection, env: Env) -> Collection:
        a, b = left(focus, env), right(focus, env)
        if not a or not b:
            return []
        if len(a) > 1 or len(b) > 1 or not (_is_int(a[0]) and _is_int(b[0])):
            raise Unsupported("arithmetic on non-integers")
        if operator == "mod" and b[0] == 0:
            return []
        return [operation(a[0], b[0])]

    return arithmetic


def _text(collection: Collection) -> str:
    if not collection:
        return ""
    if len(collection) > 1 or not isinstance(collection[0], str):
        raise Unsupported("& on a non-string")
    return str(collection[0])


def _membership(node: dict[str, Any], children: list[Any]) -> Node:
    operator = node["terminalNodeText"][0]
    if operator != "in":
        raise Unsupported(operator)
    left, right = _compile(children[0]), _compile(children[1])

    def member(focus: Collection, env: Env) -> Collection:
        a, b = left(focus, env), right(focus, env)
        if not a:
            return []
        if len(a) > 1:
            raise Unsupported("in with a collection on the left")
        return [any(_same(a[0], item) for item in b)]

    return member


def _union(_node: dict[str, Any], children: list[Any]) -> Node:
    left, right = _compile(children[0]), _compile(children[1])

    def union(focus: Collection, env: Env) -> Collection:
        merged: Collection = []
        for item in [*left(focus, env), *right(focus, env)]:
            if isinstance(item, dict | list):
                raise Unsupported("union of complex values")
            if item not in merged:
                merged.append(item)
        return merged

    return union


_BUILDERS: dict[str, Callable[[dict[str, Any], list[Any]], Node]] = {
    "StringLiteral": _string,
    "NumberLiteral": _number,
    "BooleanLiteral": _boolean,
    "ThisInvocation": _this,
    "ExternalConstantTerm": lambda _n, c: _compile(c[0]),
    "ExternalConstant": _external,
    "ParenthesizedTerm": _parenthesized,
    "MemberInvocation": _member,
    "FunctionInvocation": lambda n, _c: _function(n),
    "InvocationExpression": _invocation,
    "AndExpression": _logic,
    "OrExpression": _logic,
    "ImpliesExpression": _logic,
    "EqualityExpression": _equality,
    "InequalityExpression": _comparison,
    "MembershipExpression": _membership,
    "UnionExpression": _union,
    "AdditiveExpression": _arithmetic,
    "MultiplicativeExpression": _arithmetic,
    "TypeExpression": _type_expression,
}
