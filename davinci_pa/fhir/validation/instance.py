"""Reading FHIR JSON instances the way profiles address them.

``collect`` lists the values an element definition matches in a JSON object (arrays, choice
``[x]`` names, primitive ``_name`` extensions, FHIR R4 §2.6.2 JSON representation).
``navigate`` follows the simple FHIRPath used by slicing discriminators (names,
``extension('url')``, ``resolve()``, ``ofType(T)``, ``as T``, ``$this``). ``matches_pattern``
and ``equals_fixed`` implement ``pattern[x]`` and ``fixed[x]`` (ElementDefinition.pattern[x]).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from davinci_pa.fhir.validation.primitives import choice_suffix, type_of_suffix
from davinci_pa.fhir.validation.profile import ElementRule


@dataclass(frozen=True, slots=True)
class Item:
    """One value of an element in an instance.

    Attributes:
        value: The JSON value (``None`` for a primitive that only has extensions).
        type_code: Its FHIR type when known (always known for choice elements).
        key: The JSON property it came from (``valueCode`` for a choice element).
        path: Its FHIRPath-like location.
        extras: The ``_key`` object of a primitive (id and extensions), if any.
    """

    value: Any
    type_code: str | None
    key: str
    path: str
    extras: Any = None


def collect(obj: dict[str, Any], rule: ElementRule, path: str) -> list[Item]:
    """Return the values ``rule`` matches in ``obj`` (at ``path``), in document order."""
    if rule.is_choice:
        items: list[Item] = []
        for type_ref in rule.types:
            key = rule.base_name + choice_suffix(type_ref.code)
            items.extend(_items(obj, key, type_ref.code, path))
        return items
    type_code = rule.types[0].code if len(rule.types) == 1 else None
    return _items(obj, rule.name, type_code, path)


def _items(obj: dict[str, Any], key: str, type_code: str | None, path: str) -> list[Item]:
    value, extras = obj.get(key), obj.get("_" + key)
    if value is None and extras is None:
        return []
    if isinstance(value, list) or isinstance(extras, list):
        values = value if isinstance(value, list) else []
        more = extras if isinstance(extras, list) else []
        count = max(len(values), len(more))
        return [
            Item(_at(values, i), type_code, key, f"{path}.{key}[{i}]", _at(more, i))
            for i in range(count)
            if _at(values, i) is not None or _at(more, i) is not None
        ]
    return [Item(value, type_code, key, f"{path}.{key}", extras)]


def _at(values: list[Any], index: int) -> Any:
    return values[index] if index < len(values) else None


def choice_keys(obj: dict[str, Any], base: str) -> Iterator[tuple[str, str]]:
    """Yield ``(key, type_code)`` for properties of ``obj`` that spell ``base`` + a type."""
    for key in obj:
        clean = key.lstrip("_")
        if clean.startswith(base) and len(clean) > len(base):
            type_code = type_of_suffix(clean[len(base) :])
            if type_code is not None:
                yield key, type_code


Resolver = Callable[[Any], "dict[str, Any] | None"]

_SEGMENT = re.compile(r"(?:[^.(']|'[^']*'|\([^)]*\))+")
_FUNCTION = re.compile(r"^(\w+)\((.*)\)$")


def split_path(expression: str) -> list[str]:
    """Split a simple FHIRPath on dots outside quotes and parentheses."""
    return [s.strip() for s in _SEGMENT.findall(expression)]


def navigate(
    value: Any, expression: str, resolve: Resolver | None = None
) -> list[tuple[Any, str | None]]:
    """Evaluate a discriminator path on a JSON value: ``(value, type)`` pairs."""
    current: list[tuple[Any, str | None]] = [(value, None)]
    for segment in split_path(expression):
        current = [pair for item in current for pair in _step(item, segment, resolve)]
    return current


def _step(
    item: tuple[Any, str | None], segment: str, resolve: Resolver | None
) -> list[tuple[Any, str | None]]:
    value, type_code = item
    name, _, cast = segment.partition(" as ")
    name = name.strip()
    if cast:
        return [p for p in _step(item, name, resolve) if p[1] in (None, cast.strip())]
    function = _FUNCTION.match(name)
    if name == "$this":
        return [item]
    if function:
        return _call(value, type_code, function.group(1), function.group(2), resolve)
    if not isinstance(value, dict):
        return []
    found = value.get(name)
    if found is not None:
        return [(v, None) for v in (found if isinstance(found, list) else [found])]
    return [(value[key], t) for key, t in choice_keys(value, name) if not key.startswith("_")]


def _call(
    value: Any, type_code: str | None, function: str, argument: str, resolve: Resolver | None
) -> list[tuple[Any, str | None]]:
    argument = argument.strip().strip("'")
    if function == "extension" and isinstance(value, dict):
        return [(e, "Extension") for e in value.get("extension", []) if e.get("url") == argument]
    if function == "resolve":
        target = resolve(value) if resolve else None
        return [(target, target.get("resourceType"))] if target else []
    if function == "ofType":
        return [(value, type_code)] if type_code in (None, argument) else []
    return []


def matches_pattern(value: Any, pattern: Any) -> bool:
    """True when ``value`` contains everything ``pattern`` says (pattern[x] semantics)."""
    if isinstance(pattern, dict):
        if not isinstance(value, dict):
            return False
        return all(matches_pattern(value.get(k), v) for k, v in pattern.items())
    if isinstance(pattern, list):
        values = value if isinstance(value, list) else [value]
        return all(any(matches_pattern(v, p) for v in values) for p in pattern)
    return bool(value == pattern)


def equals_fixed(value: Any, fixed: Any) -> bool:
    """True when ``value`` is exactly ``fixed`` (fixed[x]; ids and extensions of ours aside)."""
    if isinstance(fixed, dict) and isinstance(value, dict):
        extra = set(value) - set(fixed) - {"id", "extension"}
        return not extra and all(equals_fixed(value.get(k), v) for k, v in fixed.items())
    if isinstance(fixed, list) and isinstance(value, list):
        return len(fixed) == len(value) and all(map(equals_fixed, value, fixed))
    return bool(value == fixed)
