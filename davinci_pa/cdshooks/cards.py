"""Typed builders for CDS Hooks cards, suggestions, actions and links (CDS Hooks 2.0.1 §Card).

Each builder returns the plain JSON dict a CDS Hooks response carries and refuses what the
specification forbids, so rule authors find their mistakes at once: a ``summary`` of 140
characters or more, an unknown ``indicator``, suggestions without ``selectionBehavior``,
a suggestion without ``uuid`` (CRD ``resp-3``), relative or non-http link URLs, ``appContext``
on an absolute link, actions without what their type needs. Optional values that are
``None``, ``""``, ``[]`` or ``{}`` are omitted, as CDS Hooks requires.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from davinci_pa.cdshooks.validation import RELATIVE_REFERENCE_RE
from davinci_pa.errors import DavinciError
from davinci_pa.types import JsonObject, Resource

Indicator = Literal["info", "warning", "critical"]
ActionType = Literal["create", "update", "delete"]
LinkType = Literal["absolute", "smart"]
SelectionBehavior = Literal["at-most-one", "any"]

INDICATORS = ("info", "warning", "critical")
ACTION_TYPES = ("create", "update", "delete")
LINK_TYPES = ("absolute", "smart")
SELECTION_BEHAVIORS = ("at-most-one", "any")
MAX_SUMMARY = 140
"""Summaries must be shorter than this ("<140-character summary")."""


class InvalidCard(DavinciError, ValueError):
    """A card, suggestion, action or link breaks a CDS Hooks rule: a rule author's bug."""

    code = "invalid-card"
    http_status = 500


def _compact(**fields: Any) -> JsonObject:
    """Drop ``None`` and empty values (CDS Hooks forbids null and empty)."""
    return {k: v for k, v in fields.items() if v is not None and v != "" and v != [] and v != {}}


def _text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidCard(f"{name}: must be a non-empty string")
    return value


_HTTP_URL = re.compile(r"https?://\S+")


def is_http_url(value: object) -> bool:
    """Whether ``value`` is an absolute http(s) URL (no whitespace anywhere)."""
    return isinstance(value, str) and _HTTP_URL.fullmatch(value) is not None


def coding(system: str, code: str, display: str | None = None) -> JsonObject:
    """A FHIR Coding."""
    return _compact(system=_text("system", system), code=_text("code", code), display=display)


def source(
    label: str,
    *,
    url: str | None = None,
    icon: str | None = None,
    topic: Mapping[str, Any] | None = None,
) -> JsonObject:
    """``card.source``: who produced the advice (CRD ``resp-4``: the payer's name)."""
    _text("source.label", label)
    for name, value in (("source.url", url), ("source.icon", icon)):
        if value is not None and not is_http_url(value):
            raise InvalidCard(f"{name}: must be an absolute http(s) URL")
    if topic is not None and not (topic.get("system") and topic.get("code")):
        raise InvalidCard("source.topic: a Coding with system and code is required")
    return _compact(label=label, url=url, icon=icon, topic=dict(topic) if topic else None)


def link(
    label: str,
    url: str,
    *,
    type: LinkType = "absolute",  # noqa: A002 - the CDS Hooks field name
    app_context: str | None = None,
    autolaunchable: bool | None = None,
) -> JsonObject:
    """``card.links[]``: an absolute web page or a SMART app to launch."""
    _text("link.label", label)
    if not is_http_url(url):
        raise InvalidCard(f"link.url: must be an absolute http(s) URL, not {url!r}")
    if type not in LINK_TYPES:
        raise InvalidCard(f"link.type: must be one of {', '.join(LINK_TYPES)}")
    if app_context is not None and type != "smart":
        raise InvalidCard("link.appContext: only allowed on smart links")
    return _compact(
        label=label, url=url, type=type, appContext=app_context, autolaunchable=autolaunchable
    )


def action(
    type: ActionType,  # noqa: A002 - the CDS Hooks field name
    description: str,
    *,
    resource: Resource | None = None,
    resource_id: str | None = None,
    extension: Mapping[str, Any] | None = None,
) -> JsonObject:
    """A suggestion action or system action: create/update carry a resource, delete an id."""
    if type not in ACTION_TYPES:
        raise InvalidCard(f"action.type: must be one of {', '.join(ACTION_TYPES)}")
    _text("action.description", description)
    has_resource = isinstance(resource, Mapping) and isinstance(resource.get("resourceType"), str)
    if type in ("create", "update") and not has_resource:
        raise InvalidCard(f"action.resource: a FHIR resource is required for {type}")
    if type == "delete" and (
        not isinstance(resource_id, str) or not RELATIVE_REFERENCE_RE.fullmatch(resource_id)
    ):
        raise InvalidCard("action.resourceId: a relative reference 'Type/id' is required")
    return _compact(
        type=type,
        description=description,
        resource=resource,
        resourceId=resource_id,
        extension=dict(extension) if extension else None,
    )


def suggestion(
    label: str,
    actions: Sequence[Mapping[str, Any]] = (),
    *,
    uuid: str,
    is_recommended: bool | None = None,
) -> JsonObject:
    """``card.suggestions[]``; ``uuid`` is mandatory for CRD (``resp-3``)."""
    _text("suggestion.label", label)
    _text("suggestion.uuid", uuid)
    return _compact(
        label=label,
        uuid=uuid,
        isRecommended=is_recommended,
        actions=[dict(a) for a in actions],
    )


def card(
    summary: str,
    indicator: Indicator,
    source: Mapping[str, Any],
    *,
    uuid: str | None = None,
    detail: str | None = None,
    suggestions: Sequence[Mapping[str, Any]] = (),
    links: Sequence[Mapping[str, Any]] = (),
    selection_behavior: SelectionBehavior | None = None,
    override_reasons: Sequence[Mapping[str, Any]] = (),
    extension: Mapping[str, Any] | None = None,
) -> JsonObject:
    """A CDS Hooks card."""
    _text("card.summary", summary)
    if len(summary) >= MAX_SUMMARY:
        raise InvalidCard(f"card.summary: must be shorter than {MAX_SUMMARY} characters")
    if indicator not in INDICATORS:
        raise InvalidCard(f"card.indicator: must be one of {', '.join(INDICATORS)}")
    if not isinstance(source, Mapping) or not source.get("label"):
        raise InvalidCard("card.source: a source with a label is required")
    _check_selection(suggestions, selection_behavior)
    for reason in override_reasons:
        if not (reason.get("code") and reason.get("system") and reason.get("display")):
            raise InvalidCard("card.overrideReasons: each Coding needs system, code and display")
    if uuid is not None:
        _text("card.uuid", uuid)
    return _compact(
        uuid=uuid,
        summary=summary,
        detail=detail,
        indicator=indicator,
        source=dict(source),
        suggestions=[dict(s) for s in suggestions],
        selectionBehavior=selection_behavior,
        overrideReasons=[dict(r) for r in override_reasons],
        links=[dict(item) for item in links],
        extension=dict(extension) if extension else None,
    )


def _check_selection(
    suggestions: Sequence[Mapping[str, Any]], behavior: SelectionBehavior | None
) -> None:
    if suggestions and behavior is None:
        raise InvalidCard("card.selectionBehavior: required when suggestions are present")
    if behavior is not None and behavior not in SELECTION_BEHAVIORS:
        raise InvalidCard(
            f"card.selectionBehavior: must be one of {', '.join(SELECTION_BEHAVIORS)}"
        )
    if behavior is not None and not suggestions:
        raise InvalidCard("card.selectionBehavior: only allowed with suggestions")
