"""String operators (CQL §9.9): concatenation, combine, split, case, search, substring, regex."""

from __future__ import annotations

import re
from typing import Any

from davinci_pa.cql.compiler import NodeCompiler, call, node, operator
from davinci_pa.cql.runtime import CqlRuntimeError, Ctx, Fn


@operator("Concatenate")
def concatenate(*parts: str) -> str:
    """``a + b`` / ``a & b`` on strings (``&`` arrives with Coalesce-wrapped operands)."""
    return "".join(parts)


@node("Combine")
def combine(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``Combine(list, separator)``: join the non-null strings."""
    source = comp.compile(elm["source"])
    separator = comp.compile(elm.get("separator"))

    def run(c: Ctx) -> str | None:
        items = source(c)
        if items is None:
            return None
        sep = separator(c) or ""
        strings = [s for s in items if s is not None]
        return sep.join(strings) if strings else None

    return run


@node("Split")
def split(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``Split(string, separator)``."""
    string = comp.compile(elm["stringToSplit"])
    separator = comp.compile(elm.get("separator"))

    def run(c: Ctx) -> list[str] | None:
        text = string(c)
        if text is None:
            return None
        sep = separator(c)
        return [text] if not sep else text.split(sep)

    return run


@node("SplitOnMatches")
def split_on_matches(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``SplitOnMatches(string, pattern)``."""
    string = comp.compile(elm["stringToSplit"])
    pattern = comp.compile(elm["separatorPattern"])
    return call(lambda s, p: re.split(p, s), [string, pattern])


@operator("Upper")
def upper(text: str) -> str:
    """Upper-case."""
    return text.upper()


@operator("Lower")
def lower(text: str) -> str:
    """Lower-case."""
    return text.lower()


@operator("StartsWith")
def starts_with(text: str, prefix: str) -> bool:
    """True when ``text`` starts with ``prefix``."""
    return text.startswith(prefix)


@operator("EndsWith")
def ends_with(text: str, suffix: str) -> bool:
    """True when ``text`` ends with ``suffix``."""
    return text.endswith(suffix)


@node("PositionOf")
def position_of(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``PositionOf(pattern, string)``: first index or -1."""
    pattern = comp.compile(elm["pattern"])
    string = comp.compile(elm["string"])
    return call(lambda p, s: s.find(p), [pattern, string])


@node("LastPositionOf")
def last_position_of(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``LastPositionOf(pattern, string)``: last index or -1."""
    pattern = comp.compile(elm["pattern"])
    string = comp.compile(elm["string"])
    return call(lambda p, s: s.rfind(p), [pattern, string])


@node("Substring")
def substring(comp: NodeCompiler, elm: dict[str, Any]) -> Fn:
    """``Substring(string, start[, length])``: null when start is out of range."""
    string = comp.compile(elm["stringToSub"])
    start = comp.compile(elm["startIndex"])
    length = comp.compile(elm["length"]) if elm.get("length") else None

    def run(c: Ctx) -> str | None:
        text, index = string(c), start(c)
        if text is None or index is None or index < 0 or index > len(text):
            return None
        if index == len(text) and text:
            return None
        if length is None:
            return str(text[index:])
        count = length(c)
        if count is None:
            return None
        return str(text[index : index + max(count, 0)])

    return run


def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error as exc:
        raise CqlRuntimeError(f"invalid regular expression {pattern!r}: {exc}") from exc


@operator("Matches")
def matches(text: str, pattern: str) -> bool:
    """True when the whole string matches the regular expression."""
    return _regex(pattern).fullmatch(text) is not None


@operator("ReplaceMatches")
def replace_matches(text: str, pattern: str, substitution: str) -> str:
    """Replace every match of the pattern (``$1`` style group references)."""
    return _regex(pattern).sub(lambda m: _expand(m, substitution), text)


def _expand(match: re.Match[str], substitution: str) -> str:
    """Java-style replacement: ``$n`` inserts group n, a backslash escapes the next char."""
    out: list[str] = []
    i = 0
    while i < len(substitution):
        ch = substitution[i]
        if ch == "\\" and i + 1 < len(substitution):
            out.append(substitution[i + 1])
            i += 2
        elif ch == "$" and i + 1 < len(substitution) and substitution[i + 1].isdecimal():
            out.append(match.group(int(substitution[i + 1])) or "")
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)
