"""CDS Hooks discovery (CDS Hooks 2.0.1 §Discovery) with the CRD discovery extensions.

A :class:`ServiceDefinition` renders one ``services[]`` entry. The CRD extensions
(CRD 2.2 §Deviations and Extensions) pass through ``extension`` and are checked here:
``davinci-crd.version`` lists ``major.minor`` versions (``crdver-1``, ``dev-1``) and
``davinci-crd.configuration-options`` declares options with code, type, name, description
and default (``dev-4``), unique per service (``dev-8``). :func:`parse_configuration` applies a
request's ``davinci-crd.configuration`` over those defaults, ignoring unknown options
(``dev-17``) and nonsensical values (``dev-6``); configuration is never required (``dev-15``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from davinci_pa.errors import ConfigurationError
from davinci_pa.types import JsonObject

VERSION_KEY = "davinci-crd.version"
OPTIONS_KEY = "davinci-crd.configuration-options"
CONFIGURATION_KEY = "davinci-crd.configuration"
_MAJOR_MINOR = re.compile(r"\d+\.\d+")
_SERVICE_ID = re.compile(r"[A-Za-z0-9\-._~]+")


@dataclass(frozen=True, slots=True)
class ConfigurationOption:
    """One ``davinci-crd.configuration-options`` entry."""

    code: str
    type: Literal["boolean", "integer"]
    name: str
    description: str
    default: bool | int

    def __post_init__(self) -> None:
        for attr in ("code", "name", "description"):
            if not isinstance(getattr(self, attr), str) or not getattr(self, attr):
                raise ConfigurationError(f"configuration option {attr} must be a non-empty string")
        if self.type == "boolean" and not isinstance(self.default, bool):
            raise ConfigurationError(f"configuration option {self.code}: default must be boolean")
        if self.type == "integer" and (
            isinstance(self.default, bool) or not isinstance(self.default, int)
        ):
            raise ConfigurationError(f"configuration option {self.code}: default must be integer")
        if self.type not in ("boolean", "integer"):
            raise ConfigurationError(f"configuration option {self.code}: unknown type {self.type}")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConfigurationOption:
        """Read an option as it appears in a discovery document."""
        try:
            return cls(
                data["code"], data["type"], data["name"], data["description"], data["default"]
            )
        except (KeyError, TypeError) as exc:
            raise ConfigurationError(f"configuration option {data!r} is incomplete") from exc

    def to_json(self) -> JsonObject:
        """Render as in the discovery document."""
        return {
            "code": self.code,
            "type": self.type,
            "name": self.name,
            "description": self.description,
            "default": self.default,
        }

    def coerce(self, value: object) -> bool | int | None:
        """Interpret a requested value; None when it makes no sense for this option (dev-6)."""
        if self.type == "boolean":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            return None
        if isinstance(value, bool):
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and value.strip().isdecimal():
            value = int(value.strip())
        return value if isinstance(value, int) and value >= 0 else None


@dataclass(frozen=True, slots=True)
class ServiceDefinition:
    """One CDS Service as advertised by discovery."""

    id: str
    hook: str
    description: str
    title: str | None = None
    prefetch: Mapping[str, str] = field(default_factory=dict)
    usage_requirements: str | None = None
    extension: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _SERVICE_ID.fullmatch(self.id):
            raise ConfigurationError(f"service id {self.id!r} must be a non-empty URL path segment")
        if not self.hook or not self.description:
            raise ConfigurationError(f"service {self.id}: hook and description are required")
        if any(not isinstance(v, str) or not v for v in self.prefetch.values()):
            raise ConfigurationError(f"service {self.id}: prefetch templates must be strings")
        object.__setattr__(self, "prefetch", MappingProxyType(dict(self.prefetch)))
        object.__setattr__(self, "extension", MappingProxyType(dict(self.extension)))
        self.crd_versions  # noqa: B018 - validates the extension
        self.configuration_options  # noqa: B018 - validates the extension

    @property
    def crd_versions(self) -> tuple[str, ...]:
        """The CRD versions declared in ``davinci-crd.version`` (``crdver-1``)."""
        versions = self.extension.get(VERSION_KEY, [])
        if not isinstance(versions, list) or not all(
            isinstance(v, str) and _MAJOR_MINOR.fullmatch(v) for v in versions
        ):
            raise ConfigurationError(f"service {self.id}: {VERSION_KEY} must list 'major.minor'")
        return tuple(versions)

    @property
    def configuration_options(self) -> tuple[ConfigurationOption, ...]:
        """The declared configuration options, checked for uniqueness (``dev-8``)."""
        raw = self.extension.get(OPTIONS_KEY, [])
        if not isinstance(raw, list) or not all(isinstance(o, Mapping) for o in raw):
            raise ConfigurationError(f"service {self.id}: {OPTIONS_KEY} must be an array")
        options = tuple(ConfigurationOption.from_json(o) for o in raw)
        for attr in ("code", "name", "description"):
            values = [getattr(o, attr) for o in options]
            if len(values) != len(set(values)):
                raise ConfigurationError(f"service {self.id}: option {attr}s must be unique")
        return options

    def to_json(self) -> JsonObject:
        """The ``services[]`` entry; empty optional members are omitted."""
        entry: JsonObject = {"hook": self.hook}
        if self.title:
            entry["title"] = self.title
        entry["description"] = self.description
        entry["id"] = self.id
        if self.prefetch:
            entry["prefetch"] = dict(self.prefetch)
        if self.usage_requirements:
            entry["usageRequirements"] = self.usage_requirements
        if self.extension:
            entry["extension"] = dict(self.extension)
        return entry

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ServiceDefinition:
        """Read a ``services[]`` entry (e.g. from CRD's ``CRDServices.json``)."""
        return cls(
            id=data.get("id", ""),
            hook=data.get("hook", ""),
            description=data.get("description", ""),
            title=data.get("title"),
            prefetch=data.get("prefetch") or {},
            usage_requirements=data.get("usageRequirements"),
            extension=data.get("extension") or {},
        )


def discovery_document(services: Iterable[ServiceDefinition]) -> JsonObject:
    """``GET {baseUrl}/cds-services``: ``{"services": [...]}`` (possibly empty)."""
    return {"services": [service.to_json() for service in services]}


def parse_configuration(
    request_extension: Mapping[str, Any] | None,
    options: ServiceDefinition | Sequence[ConfigurationOption],
) -> dict[str, bool | int]:
    """Effective option values: the request's ``davinci-crd.configuration`` over the defaults."""
    declared = options.configuration_options if isinstance(options, ServiceDefinition) else options
    values: dict[str, bool | int] = {option.code: option.default for option in declared}
    requested = (request_extension or {}).get(CONFIGURATION_KEY)
    if not isinstance(requested, Mapping):
        return values
    for option in declared:
        if option.code in requested:
            value = option.coerce(requested[option.code])
            if value is not None:
                values[option.code] = value
    return values
