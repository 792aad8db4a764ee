"""Clinical values: Code, Concept, and terminology references (CQL §2.1.2, ELM clinical types)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Code:
    """A CQL ``System.Code``: equality compares every element, equivalence code and system."""

    code: str | None
    system: str | None = None
    version: str | None = None
    display: str | None = None


@dataclass(frozen=True, slots=True)
class Concept:
    """A CQL ``System.Concept``: a set of codes meaning the same thing, with optional display."""

    codes: tuple[Code, ...]
    display: str | None = None


@dataclass(frozen=True, slots=True)
class ValueSetRef:
    """A reference to a value set, resolved through the terminology provider at membership time."""

    id: str
    version: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class CodeSystemRef:
    """A reference to a code system (CQL ``codesystem`` declaration)."""

    id: str
    version: str | None = None
    name: str | None = None
