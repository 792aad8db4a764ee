"""CDS Hooks 2.0 hook definitions and validation of incoming hook requests.

Implements the request envelope of CDS Hooks 2.0.1 §Calling a CDS Service (``hook``,
``hookInstance``, ``fhirServer``, ``fhirAuthorization``, ``context``, ``prefetch``,
``extension``) and the context tables of the six hooks CRD uses (CRD §Supported Hooks):
``appointment-book``, ``encounter-start``, ``encounter-discharge``, ``order-dispatch``,
``order-select`` and ``order-sign``. Unknown context fields are ignored (CRD ``hook-23``);
``null``, ``""``, ``[]`` and ``{}`` are rejected where CDS Hooks forbids them.

``order-dispatch`` is accepted in both shapes seen in the field: the current one
(``dispatchedOrders`` + ``performer`` + ``fulfillmentTasks?``) and the older one used by the
Inferno CRD kit (``order`` + ``performer`` + ``task?``). The older fields are mirrored into
the current names in :attr:`HookRequest.context` so downstream code reads one shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, cast

from davinci_pa.cdshooks.context import (
    ORDER_TYPES,
    ContextField,
    FieldKind,
    bundle_keys,
    check_field,
)
from davinci_pa.cdshooks.validation import (
    HTTP_URL_PATTERN,
    UUID_PATTERN,
    clip,
    compile_schema,
    raise_if_problems,
    schema_problems,
)

_USERS = frozenset({"Practitioner", "PractitionerRole"})
_USERS_OR_PATIENTS = _USERS | {"Patient", "RelatedPerson"}
_PERFORMERS = frozenset(
    {
        "CareTeam",
        "Device",
        "HealthcareService",
        "Organization",
        "Patient",
        "Practitioner",
        "PractitionerRole",
        "RelatedPerson",
    }
)

_USER = ContextField("userId", FieldKind.REFERENCE, required=True, resource_types=_USERS)
_PATIENT = ContextField("patientId", FieldKind.ID, required=True)
_ENCOUNTER = ContextField("encounterId", FieldKind.ID)
_DRAFT_ORDERS = ContextField(
    "draftOrders", FieldKind.BUNDLE, required=True, resource_types=ORDER_TYPES
)


@dataclass(frozen=True, slots=True)
class HookDefinition:
    """A CDS Hooks hook: its id and the fields of its ``context``."""

    id: str
    fields: tuple[ContextField, ...]
    required_one_of: tuple[tuple[str, ...], ...] = ()
    """Groups of fields of which at least one must be present (order-dispatch shapes)."""

    def field(self, name: str) -> ContextField | None:
        """Return the definition of context field ``name``, if the hook defines it."""
        return next((f for f in self.fields if f.name == name), None)


HOOKS: Mapping[str, HookDefinition] = MappingProxyType(
    {
        "appointment-book": HookDefinition(
            "appointment-book",
            (
                ContextField(
                    "userId", FieldKind.REFERENCE, required=True, resource_types=_USERS_OR_PATIENTS
                ),
                _PATIENT,
                _ENCOUNTER,
                ContextField(
                    "appointments",
                    FieldKind.BUNDLE,
                    required=True,
                    resource_types=frozenset({"Appointment"}),
                    entries_all_typed=True,
                    entry_status="proposed",
                ),
            ),
        ),
        "encounter-start": HookDefinition(
            "encounter-start",
            (_USER, _PATIENT, ContextField("encounterId", FieldKind.ID, required=True)),
        ),
        "encounter-discharge": HookDefinition(
            "encounter-discharge",
            (_USER, _PATIENT, ContextField("encounterId", FieldKind.ID, required=True)),
        ),
        "order-dispatch": HookDefinition(
            "order-dispatch",
            (
                _PATIENT,
                ContextField(
                    "dispatchedOrders", FieldKind.REFERENCE_LIST, resource_types=ORDER_TYPES
                ),
                ContextField("order", FieldKind.REFERENCE, resource_types=ORDER_TYPES),
                ContextField(
                    "performer", FieldKind.REFERENCE, required=True, resource_types=_PERFORMERS
                ),
                ContextField(
                    "fulfillmentTasks", FieldKind.RESOURCE_LIST, resource_types=frozenset({"Task"})
                ),
                ContextField("task", FieldKind.RESOURCE, resource_types=frozenset({"Task"})),
            ),
            required_one_of=(("dispatchedOrders", "order"),),
        ),
        "order-select": HookDefinition(
            "order-select",
            (
                _USER,
                _PATIENT,
                _ENCOUNTER,
                ContextField(
                    "selections",
                    FieldKind.REFERENCE_LIST,
                    required=True,
                    resource_types=ORDER_TYPES,
                ),
                _DRAFT_ORDERS,
            ),
        ),
        "order-sign": HookDefinition("order-sign", (_USER, _PATIENT, _ENCOUNTER, _DRAFT_ORDERS)),
    }
)
"""The hooks CRD servers answer, keyed by hook id."""


@dataclass(frozen=True, slots=True)
class FhirAuthorization:
    """The OAuth 2.0 token the EHR lends the service for its FHIR server (CDS Hooks §5.1)."""

    access_token: str = field(repr=False)
    token_type: str
    expires_in: int
    scope: str
    subject: str
    patient: str | None = None


@dataclass(frozen=True, slots=True)
class HookRequest:
    """A validated CDS Hooks service request."""

    hook: str
    hook_instance: str
    fhir_server: str | None
    fhir_authorization: FhirAuthorization | None
    context: dict[str, Any]
    prefetch: dict[str, Any]
    extension: dict[str, Any]
    requested_version: str | None


_NONEMPTY = {"type": "string", "minLength": 1}
_ENVELOPE = compile_schema(
    {
        "type": "object",
        "required": ["hook", "hookInstance", "context"],
        "properties": {
            "hook": _NONEMPTY,
            "hookInstance": {
                "type": "string",
                "pattern": UUID_PATTERN,
                "x-message": "must be a globally unique UUID",
            },
            "fhirServer": {
                "type": "string",
                "pattern": HTTP_URL_PATTERN,
                "x-message": "must be an absolute http(s) URL",
            },
            "fhirAuthorization": {
                "type": "object",
                "required": ["access_token", "token_type", "expires_in", "scope", "subject"],
                "properties": {
                    "access_token": _NONEMPTY,
                    "token_type": {
                        "type": "string",
                        "pattern": "^[Bb][Ee][Aa][Rr][Ee][Rr]\\Z",
                        "x-message": "must be 'Bearer'",
                    },
                    "expires_in": {"type": "integer", "minimum": 0},
                    "scope": _NONEMPTY,
                    "subject": _NONEMPTY,
                    "patient": _NONEMPTY,
                },
            },
            "context": {"type": "object"},
            "prefetch": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": {"type": ["object", "null"]},
            },
            "extension": {"type": "object", "minProperties": 1},
        },
        "dependentRequired": {"fhirAuthorization": ["fhirServer"]},
    }
)

REQUESTED_VERSION_KEY = "davinci-crd.requestedVersion"
"""Request extension naming the CRD version the client wants (CRD ``dev-3``)."""


def parse_hook_request(body: object, *, service_hook: str) -> HookRequest:
    """Validate a CDS Hooks request body for a service registered on ``service_hook``.

    Raises:
        InvalidHookRequest: naming the first offending field; ``details["problems"]`` lists
            every problem found.
    """
    raise_if_problems(schema_problems(_ENVELOPE, body))
    body = cast(dict[str, Any], body)  # the envelope schema guarantees an object
    problems: list[str] = []
    if body["hook"] != service_hook:
        hook = clip(body["hook"])
        problems.append(f"hook: '{hook}' does not match this service's hook '{service_hook}'")
    definition = HOOKS.get(service_hook)
    context: dict[str, Any] = body["context"]
    if definition is not None:
        problems.extend(context_problems(definition, context))
    problems.extend(_prefetch_problems(body.get("prefetch") or {}))
    requested_version, version_problems = _requested_version(body.get("extension") or {})
    problems.extend(version_problems)
    raise_if_problems(problems)
    return HookRequest(
        hook=service_hook,
        hook_instance=body["hookInstance"],
        fhir_server=body.get("fhirServer"),
        fhir_authorization=_authorization(body.get("fhirAuthorization")),
        context=_normalised_context(service_hook, context),
        prefetch=dict(body.get("prefetch") or {}),
        extension=dict(body.get("extension") or {}),
        requested_version=requested_version,
    )


def context_problems(definition: HookDefinition, context: Mapping[str, Any]) -> list[str]:
    """Return the problems of a hook ``context``; unknown fields are ignored (CRD hook-23)."""
    problems: list[str] = []
    for spec in definition.fields:
        path = f"context.{spec.name}"
        if spec.name in context:
            problems.extend(check_field(spec, context[spec.name], path))
        elif spec.required:
            problems.append(f"{path}: is required for the {definition.id} hook")
    for group in definition.required_one_of:
        if not any(name in context for name in group):
            names = " or ".join(f"context.{name}" for name in group)
            problems.append(f"{names}: one is required for the {definition.id} hook")
    if not problems and definition.field("selections") is not None:
        problems.extend(_selection_problems(context))
    return problems


def _selection_problems(context: Mapping[str, Any]) -> list[str]:
    """order-select: every selection must point at a resource in ``draftOrders``."""
    available = bundle_keys(context.get("draftOrders"))
    return [
        f"context.selections[{index}]: '{ref}' is not a resource in context.draftOrders"
        for index, ref in enumerate(context.get("selections") or [])
        if ref not in available
    ]


def _prefetch_problems(prefetch: Mapping[str, Any]) -> list[str]:
    """Each prefetched value is a FHIR resource or ``null`` (CDS Hooks §Prefetch)."""
    return [
        f"prefetch.{key}: must be a FHIR resource (an object with resourceType) or null"
        for key, value in prefetch.items()
        if value is not None and not isinstance(value.get("resourceType"), str)
    ]


def _requested_version(extension: Mapping[str, Any]) -> tuple[str | None, list[str]]:
    value = extension.get(REQUESTED_VERSION_KEY)
    if value is None:
        return None, []
    if isinstance(value, str) and _is_major_minor(value):
        return value, []
    return None, [f"extension.{REQUESTED_VERSION_KEY}: must be a version like '2.2'"]


def _is_major_minor(text: str) -> bool:
    major, dot, minor = text.partition(".")
    return (
        bool(dot)
        and major.isascii()
        and major.isdecimal()
        and minor.isascii()
        and minor.isdecimal()
    )


def _authorization(value: Any) -> FhirAuthorization | None:
    if not isinstance(value, Mapping):
        return None
    return FhirAuthorization(
        access_token=value["access_token"],
        token_type="Bearer",
        expires_in=int(value["expires_in"]),
        scope=value["scope"],
        subject=value["subject"],
        patient=value.get("patient"),
    )


def _normalised_context(hook: str, context: Mapping[str, Any]) -> dict[str, Any]:
    """Copy the context; mirror order-dispatch ``order``/``task`` into the current names."""
    result = dict(context)
    if hook == "order-dispatch":
        if "dispatchedOrders" not in result and isinstance(result.get("order"), str):
            result["dispatchedOrders"] = [result["order"]]
        if "fulfillmentTasks" not in result and isinstance(result.get("task"), Mapping):
            result["fulfillmentTasks"] = [result["task"]]
    return result
