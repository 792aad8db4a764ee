"""Terminology binding checks (ElementDefinition.binding, FHIR R4 §4.1 Terminology bindings).

``required`` bindings: the value must come from the ValueSet; ``extensible``: a code from a
system the ValueSet enumerates but not in it earns a warning. Other strengths are not
checked. When a ValueSet is not available locally, ``code`` elements fall back to the
allowed values that fhir.resources knows for the core binding; anything else, and a code of
a system the terminology calls unverifiable, is left unchecked (counted by the caller
through the returned verdict).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from davinci_pa.fhir.validation.core_codes import core_codes
from davinci_pa.fhir.validation.profile import Binding
from davinci_pa.fhir.validation.terminology import Expansion, Terminology

Verdict = Literal["ok", "unchecked", "error", "warning"]


@dataclass(frozen=True, slots=True)
class BindingResult:
    """The outcome of one binding check."""

    verdict: Verdict
    message: str = ""


_OK = BindingResult("ok")
_UNCHECKED = BindingResult("unchecked")


def codings_of(value: Any, type_code: str | None) -> list[tuple[str | None, str]]:
    """Return ``(system, code)`` pairs carried by a coded value of the given type."""
    if isinstance(value, str):
        return [(None, value)]
    if not isinstance(value, dict):
        return []
    if type_code == "CodeableConcept" or "coding" in value:
        return list(_codings(value.get("coding", [])))
    if isinstance(value.get("code"), str):
        return [(value.get("system"), value["code"])]
    return []


def _codings(codings: Any) -> Iterator[tuple[str | None, str]]:
    for coding in codings if isinstance(codings, list) else []:
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            yield coding.get("system"), coding["code"]


def check_binding(
    value: Any, type_code: str | None, binding: Binding, base_path: str, terminology: Terminology
) -> BindingResult:
    """Check a value against its binding."""
    if binding.strength not in ("required", "extensible"):
        return _OK
    codings = codings_of(value, type_code)
    if not codings:
        return _OK
    expansion = terminology.expansion(binding.value_set)
    if expansion is None:
        return _core_fallback(codings, type_code, binding, base_path)
    answers = [expansion.contains(system, code) for system, code in codings]
    if any(answers):
        return _OK
    if binding.strength == "required":
        if all(a is False for a in answers) and not any(
            terminology.unverifiable(system) for system, _ in codings
        ):
            return BindingResult("error", _not_in(codings, binding, "required"))
        return _UNCHECKED
    if _system_enumerated(codings, expansion):
        return BindingResult("warning", _not_in(codings, binding, "extensible"))
    return _OK if all(a is False for a in answers) else _UNCHECKED


def _core_fallback(
    codings: list[tuple[str | None, str]], type_code: str | None, binding: Binding, path: str
) -> BindingResult:
    allowed = core_codes(path) if type_code == "code" else None
    if allowed is None:
        return _UNCHECKED
    if codings[0][1] in allowed:
        return _OK
    verdict: Verdict = "error" if binding.strength == "required" else "warning"
    return BindingResult(verdict, _not_in(codings, binding, binding.strength))


def _system_enumerated(codings: list[tuple[str | None, str]], expansion: Expansion) -> bool:
    return any(system is None or expansion.knows_system(system) for system, _ in codings)


def _not_in(codings: list[tuple[str | None, str]], binding: Binding, strength: str) -> str:
    shown = ", ".join(f"{s}#{c}" if s else repr(c) for s, c in codings)
    return f"{shown} is not in the {strength} value set {binding.value_set}"
