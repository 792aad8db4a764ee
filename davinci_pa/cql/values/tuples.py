"""The CQL Tuple value: named elements, ordered as declared (CQL §2.1.3)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


class CqlTuple(Mapping[str, Any]):
    """An immutable mapping of element names to values, distinct from FHIR JSON objects."""

    __slots__ = ("_elements",)

    def __init__(self, elements: Mapping[str, Any]) -> None:
        self._elements: dict[str, Any] = dict(elements)

    def __getitem__(self, key: str) -> Any:
        return self._elements[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._elements)

    def __len__(self) -> int:
        return len(self._elements)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}: {v!r}" for k, v in self._elements.items())
        return f"Tuple {{ {inner} }}"

    def __hash__(self) -> int:
        return hash(tuple(self._elements))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CqlTuple) and self._elements == other._elements
