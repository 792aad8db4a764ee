"""Prefetch templates and their tokens (CDS Hooks 2.0.1 §Prefetch Template, 3.0-ballot FHIRPath).

Three token syntaxes are understood, compiled once per template:

* CDS Hooks 2.0 context tokens ``{{context.patientId}}`` and the user tokens
  ``{{userPractitionerId}}``, ``{{userPractitionerRoleId}}``, ``{{userPatientId}}``,
  ``{{userRelatedPersonId}}`` (derived from ``context.userId``);
* the CRD 2.0.1 bundle shorthand ``{{context.draftOrders.ServiceRequest.id}}`` (the ids of
  that type inside a context Bundle);
* CDS Hooks 3.0-ballot / CRD 2.2 FHIRPath tokens such as
  ``{{context.draftOrders.entry.resource.ofType(DeviceRequest).code.resolve().id}}`` or
  ``{{%practitionerRoles.entry.resource.practitioner.resolve().id}}``, evaluated against
  ``{"context": context}`` with earlier prefetch keys as ``%variables``.

A token yielding several values renders them comma-separated (a FHIR search OR); a token
yielding nothing means the query is skipped. Values are percent-encoded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from davinci_pa.errors import ConfigurationError
from davinci_pa.fhir.fhirpath import FhirPathError, Resolver, compile_expression, evaluate

_TOKEN = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_CONTEXT_FIELD = re.compile(r"context\.([A-Za-z][A-Za-z0-9_]*)")
_BUNDLE_SHORTHAND = re.compile(r"context\.([A-Za-z][A-Za-z0-9_]*)\.([A-Z][A-Za-z]+)\.id")
_VARIABLE = re.compile(r"%([A-Za-z][A-Za-z0-9_]*)")
_BUILT_IN_VARIABLES = frozenset({"context", "resource", "rootResource", "ucum", "sct", "loinc"})
USER_TOKENS = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}
"""CDS Hooks 2.0 user tokens and the ``userId`` resource type each one extracts."""


@dataclass(frozen=True, slots=True)
class Token:
    """One ``{{...}}`` token of a template."""

    text: str
    kind: str
    """``context``, ``user``, ``bundle`` or ``fhirpath``."""
    field: str = ""
    """The context field a ``context``/``bundle`` token reads."""
    resource_type: str = ""
    """The resource type a ``user``/``bundle`` token extracts ids of."""

    def values(
        self,
        context: Mapping[str, Any],
        variables: Mapping[str, Any],
        resolver: Resolver | None,
    ) -> list[str]:
        """Evaluate the token to its distinct string values (possibly none)."""
        if self.kind == "context":
            raw = context.get(self.field)
            found: list[Any] = raw if isinstance(raw, list) else [raw]
        elif self.kind == "user":
            found = [_user_id(context.get("userId"), self.resource_type)]
        elif self.kind == "bundle":
            found = _bundle_ids(context.get(self.field), self.resource_type)
        else:
            found = evaluate(
                {"context": dict(context)},
                self.text,
                variables=variables,
                resolver=resolver,
            )
        return _distinct_strings(found)


def _user_id(user: Any, resource_type: str) -> str | None:
    if isinstance(user, str) and user.startswith(resource_type + "/"):
        return user[len(resource_type) + 1 :]
    return None


def _bundle_ids(bundle: Any, resource_type: str) -> list[Any]:
    entries = bundle.get("entry") if isinstance(bundle, Mapping) else None
    resources = [e.get("resource") for e in entries or [] if isinstance(e, Mapping)]
    return [
        r.get("id")
        for r in resources
        if isinstance(r, Mapping) and r.get("resourceType") == resource_type
    ]


def _distinct_strings(values: list[Any]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        if isinstance(value, bool):
            seen.setdefault("true" if value else "false")
        elif isinstance(value, str | int | float) or (value is not None and _is_fp_value(value)):
            text = str(value)
            if text:
                seen.setdefault(text)
    return list(seen)


def _is_fp_value(value: object) -> bool:
    """Whether ``value`` is a fhirpathpy date/time/quantity (they render with ``str``)."""
    return type(value).__module__.startswith("fhirpathpy")


@dataclass(frozen=True, slots=True)
class PrefetchTemplate:
    """A compiled prefetch template: literal text around tokens."""

    key: str
    template: str
    literals: tuple[str, ...]
    tokens: tuple[Token, ...]

    @property
    def variables(self) -> frozenset[str]:
        """Names of earlier prefetch keys the template refers to as ``%name``."""
        names: set[str] = set()
        for token in self.tokens:
            if token.kind == "fhirpath":
                names.update(_VARIABLE.findall(token.text))
        return frozenset(names - _BUILT_IN_VARIABLES)

    def render(
        self,
        context: Mapping[str, Any],
        variables: Mapping[str, Any],
        resolver: Resolver | None = None,
    ) -> str | None:
        """Return the query URL, or None when a token yields nothing (skip this key).

        Raises:
            FhirPathError: a FHIRPath token failed at run time.
        """
        parts = [self.literals[0]]
        for token, literal in zip(self.tokens, self.literals[1:], strict=True):
            values = token.values(context, variables, resolver)
            if not values:
                return None
            parts.append(",".join(quote(v, safe="-._~:") for v in values))
            parts.append(literal)
        return "".join(parts)


def compile_template(key: str, template: str) -> PrefetchTemplate:
    """Compile one template.

    Raises:
        ConfigurationError: a token is empty or not valid FHIRPath.
    """
    literals = _TOKEN.split(template)[::2]
    tokens = tuple(_token(key, text) for text in _TOKEN.findall(template))
    return PrefetchTemplate(key, template, tuple(literals), tokens)


def _token(key: str, text: str) -> Token:
    if text in USER_TOKENS:
        return Token(text, "user", resource_type=USER_TOKENS[text])
    if match := _CONTEXT_FIELD.fullmatch(text):
        return Token(text, "context", field=match.group(1))
    if match := _BUNDLE_SHORTHAND.fullmatch(text):
        return Token(text, "bundle", field=match.group(1), resource_type=match.group(2))
    try:
        compile_expression(text)
    except FhirPathError as exc:
        raise ConfigurationError(f"prefetch template {key!r}: {exc.message}") from exc
    return Token(text, "fhirpath")
