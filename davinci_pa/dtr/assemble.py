"""Modular questionnaires: replace ``subQuestionnaire`` items by the module's items.

SDC 3.0 §Modular Forms ($assemble): a root form (``assemble-expectation = assemble-root``)
names each module with a display item carrying ``sdc-questionnaire-subQuestionnaire``; the
assembled form holds the module's items in its place and the module's root-level
extensions (cqf-library, launchContext, variable, signatureRequired), once each. The
shared patient, practitioner and signature modules are authored once and reused this way.
"""

from __future__ import annotations

import copy
import html
from collections.abc import Mapping
from typing import Any

from davinci_pa.dtr.vocabulary import (
    ASSEMBLE_EXPECTATION,
    SUB_QUESTIONNAIRE,
    extensions,
    walk_items,
)
from davinci_pa.errors import ConfigurationError
from davinci_pa.types import Resource

_MERGED = (
    "http://hl7.org/fhir/StructureDefinition/cqf-library",
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-launchContext",
    "http://hl7.org/fhir/StructureDefinition/variable",
    "http://hl7.org/fhir/StructureDefinition/questionnaire-signatureRequired",
)


def assemble(root: Resource, modules: Mapping[str, Resource]) -> Resource:
    """Return the assembled copy of ``root``; modules are looked up by ``url|version``.

    Raises:
        ConfigurationError: a module is unknown or two items share a linkId.
    """
    result = copy.deepcopy(root)
    root_ext = [e for e in result.get("extension", []) if e.get("url") != ASSEMBLE_EXPECTATION]
    result["item"] = _expand(result.get("item", []), modules, root_ext)
    result["extension"] = _dedupe(root_ext)
    _check_link_ids(result)
    result["text"] = narrative(result)
    return result


def _expand(
    items: list[dict[str, Any]], modules: Mapping[str, Resource], root_ext: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    expanded: list[dict[str, Any]] = []
    for item in items:
        refs = extensions(item, SUB_QUESTIONNAIRE)
        if not refs:
            if item.get("item"):
                item["item"] = _expand(item["item"], modules, root_ext)
            expanded.append(item)
            continue
        canonical = str(refs[0].get("valueCanonical", ""))
        module = modules.get(canonical)
        if module is None:
            raise ConfigurationError(f"questionnaire module {canonical} is not loaded")
        root_ext.extend(e for e in module.get("extension", []) if e.get("url") in _MERGED)
        expanded.extend(_expand(copy.deepcopy(module.get("item", [])), modules, root_ext))
    return expanded


def _dedupe(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _check_link_ids(questionnaire: Resource) -> None:
    seen: set[str] = set()
    for item, _ in walk_items(questionnaire.get("item")):
        link = item.get("linkId")
        if link in seen:
            raise ConfigurationError(f"{questionnaire.get('url')}: linkId {link} is used twice")
        seen.add(str(link))


def narrative(questionnaire: Resource) -> dict[str, str]:
    """A generated narrative: title, description and the top-level sections."""
    title = html.escape(str(questionnaire.get("title") or questionnaire.get("name") or ""))
    description = html.escape(str(questionnaire.get("description") or ""))
    sections = "".join(
        f"<li>{html.escape(str(i.get('text', i.get('linkId'))))}</li>"
        for i in questionnaire.get("item", [])
        if isinstance(i, dict)
    )
    div = f'<div xmlns="http://www.w3.org/1999/xhtml"><p><b>{title}</b></p><p>{description}</p>'
    div += f"<ul>{sections}</ul></div>" if sections else "</div>"
    return {"status": "generated", "div": div}
