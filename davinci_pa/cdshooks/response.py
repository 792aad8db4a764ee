"""Structural checks of a CDS Hooks / CRD response, as the Inferno CRD server kit makes them.

Mirrors the response tests of the ``crd_server`` suite (conformance-kits §1.4): ``.05``
required fields of cards and systemActions, ``.06`` optional card fields, ``.10`` a Coverage
Information system action for the primary hooks and ``.11`` its coverage-assertion-id /
satisfied-pa-id grouping, plus CRD ``resp-3`` (every suggestion has a ``uuid``). Profile
validation is out of scope; resources only have to parse as FHIR R4.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from davinci_pa.cdshooks.cards import (
    ACTION_TYPES,
    INDICATORS,
    LINK_TYPES,
    MAX_SUMMARY,
    SELECTION_BEHAVIORS,
    is_http_url,
)
from davinci_pa.cdshooks.context import ORDER_TYPES
from davinci_pa.cdshooks.validation import RELATIVE_REFERENCE_RE

COVERAGE_INFORMATION_URL = (
    "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
)
SYSTEM_ACTIONS_REQUIRED = frozenset({"appointment-book", "order-sign", "order-dispatch"})
"""Hooks whose responses must carry ``systemActions`` (CRD primary hooks, Inferno .05/.10)."""

COVERAGE_TARGETS: Mapping[str, frozenset[str]] = {
    "appointment-book": frozenset({"Appointment", "ServiceRequest"}),  # CRD: basedOn order
    "encounter-start": frozenset({"Encounter"}),
    "encounter-discharge": frozenset({"Encounter"}),
    "order-select": ORDER_TYPES,
    "order-sign": ORDER_TYPES,
    "order-dispatch": ORDER_TYPES,
}
"""Resource types a Coverage Information system action updates, per hook (Inferno .10)."""


def validate_response(body: object, *, hook: str, crd: bool = True) -> list[str]:
    """Return every problem Inferno's CRD response tests would report (empty when valid).

    Args:
        body: the parsed response JSON.
        hook: the hook that was called.
        crd: also apply the CRD-only rules (suggestion ``uuid``, Coverage Information).
    """
    if not isinstance(body, Mapping):
        return ["response: must be a JSON object"]
    problems: list[str] = []
    cards = body.get("cards")
    if not isinstance(cards, list):
        problems.append("cards: is required and must be an array")
        cards = []
    actions = body.get("systemActions")
    if actions is None and crd and hook in SYSTEM_ACTIONS_REQUIRED:
        problems.append(f"systemActions: must be present for the {hook} hook")
    if actions is not None and not isinstance(actions, list):
        problems.append("systemActions: must be an array")
        actions = None
    for index, item in enumerate(cards):
        problems.extend(_card_problems(item, f"cards[{index}]", crd))
    for index, item in enumerate(actions or []):
        problems.extend(_action_problems(item, f"systemActions[{index}]"))
    if crd:
        problems.extend(_coverage_information_problems(actions or [], hook))
    return problems


def _card_problems(card: Any, path: str, crd: bool) -> list[str]:
    if not isinstance(card, Mapping):
        return [f"{path}: must be an object"]
    problems: list[str] = []
    summary = card.get("summary")
    if not isinstance(summary, str) or not summary:
        problems.append(f"{path}.summary: is required (a string)")
    elif len(summary) >= MAX_SUMMARY:
        problems.append(f"{path}.summary: must be shorter than {MAX_SUMMARY} characters")
    if card.get("indicator") not in INDICATORS:
        problems.append(f"{path}.indicator: must be one of {', '.join(INDICATORS)}")
    problems.extend(_source_problems(card.get("source"), f"{path}.source"))
    problems.extend(_optional_card_problems(card, path))
    for index, item in enumerate(_list(card.get("suggestions"))):
        problems.extend(_suggestion_problems(item, f"{path}.suggestions[{index}]", crd))
    for index, item in enumerate(_list(card.get("links"))):
        problems.extend(_link_problems(item, f"{path}.links[{index}]"))
    for index, item in enumerate(_list(card.get("overrideReasons"))):
        if not isinstance(item, Mapping) or not all(
            isinstance(item.get(k), str) and item.get(k) for k in ("code", "system", "display")
        ):
            problems.append(f"{path}.overrideReasons[{index}]: needs code, system and display")
    return problems


def _source_problems(source: Any, path: str) -> list[str]:
    if not isinstance(source, Mapping):
        return [f"{path}: is required (an object)"]
    problems = []
    if not isinstance(source.get("label"), str) or not source["label"]:
        problems.append(f"{path}.label: is required (a string)")
    topic = source.get("topic")
    if not isinstance(topic, Mapping) or not all(
        isinstance(topic.get(k), str) and topic.get(k) for k in ("code", "system")
    ):
        problems.append(f"{path}.topic: a Coding with code and system is required")
    return problems


def _optional_card_problems(card: Mapping[str, Any], path: str) -> list[str]:
    problems = []
    for name in ("uuid", "detail"):
        if name in card and (not isinstance(card[name], str) or not card[name]):
            problems.append(f"{path}.{name}: must be a non-empty string")
    for name in ("suggestions", "overrideReasons", "links"):
        if name in card and (not isinstance(card[name], list) or not card[name]):
            problems.append(f"{path}.{name}: must be a non-empty array when present")
    behavior = card.get("selectionBehavior")
    if card.get("suggestions") and behavior is None:
        problems.append(f"{path}.selectionBehavior: is required when suggestions are present")
    if behavior is not None and behavior not in SELECTION_BEHAVIORS:
        problems.append(
            f"{path}.selectionBehavior: must be one of {', '.join(SELECTION_BEHAVIORS)}"
        )
    return problems


def _suggestion_problems(item: Any, path: str, crd: bool) -> list[str]:
    if not isinstance(item, Mapping):
        return [f"{path}: must be an object"]
    problems = []
    if not isinstance(item.get("label"), str) or not item["label"]:
        problems.append(f"{path}.label: is required (a string)")
    if crd and (not isinstance(item.get("uuid"), str) or not item["uuid"]):
        problems.append(f"{path}.uuid: is required (CRD resp-3)")
    actions = item.get("actions")
    if actions is not None and (not isinstance(actions, list) or not actions):
        problems.append(f"{path}.actions: must be a non-empty array when present")
    for index, act in enumerate(_list(actions)):
        problems.extend(_action_problems(act, f"{path}.actions[{index}]"))
    return problems


def _link_problems(item: Any, path: str) -> list[str]:
    if not isinstance(item, Mapping):
        return [f"{path}: must be an object"]
    problems = []
    if not isinstance(item.get("label"), str) or not item["label"]:
        problems.append(f"{path}.label: is required (a string)")
    if item.get("type") not in LINK_TYPES:
        problems.append(f"{path}.type: must be one of {', '.join(LINK_TYPES)}")
    if not is_http_url(item.get("url")):
        problems.append(f"{path}.url: must be an absolute http(s) URL")
    if item.get("type") == "absolute" and "appContext" in item:
        problems.append(f"{path}.appContext: not allowed on absolute links")
    return problems


def _action_problems(item: Any, path: str) -> list[str]:
    if not isinstance(item, Mapping):
        return [f"{path}: must be an object"]
    problems = []
    kind = item.get("type")
    if kind not in ACTION_TYPES:
        problems.append(f"{path}.type: must be one of {', '.join(ACTION_TYPES)}")
    if not isinstance(item.get("description"), str) or not item["description"]:
        problems.append(f"{path}.description: is required (a string)")
    if kind in ("create", "update"):
        problem = resource_problem(item.get("resource"))
        if problem:
            problems.append(f"{path}.resource: {problem}")
    if kind == "delete":
        resource_id = item.get("resourceId")
        if not isinstance(resource_id, str) or not RELATIVE_REFERENCE_RE.fullmatch(resource_id):
            problems.append(f"{path}.resourceId: must be a relative reference 'Type/id'")
    return problems


def prepare_resource_models(resource_types: Iterable[str]) -> None:
    """Load the FHIR model classes :func:`resource_problem` checks these types with.

    Loading one costs tens of milliseconds; a server does it at start, not in a call.
    """
    from fhir.resources.R4B import get_fhir_model_class

    for resource_type in resource_types:
        get_fhir_model_class(resource_type)


def resource_problem(resource: Any) -> str | None:
    """Why ``resource`` does not parse as a FHIR R4 resource, or None when it does."""
    if not isinstance(resource, Mapping) or not isinstance(resource.get("resourceType"), str):
        return "must be a FHIR resource (an object with resourceType)"
    from fhir.resources.R4B import get_fhir_model_class  # heavy: only when checking responses

    try:
        model = get_fhir_model_class(resource["resourceType"])
    except ValueError:
        return f"unknown resourceType {resource['resourceType']!r}"
    try:
        model.model_validate(dict(resource))
    except ValueError as exc:  # pydantic.ValidationError derives from ValueError
        first = str(exc).splitlines()[:3]
        return "does not parse as FHIR R4: " + " ".join(line.strip() for line in first)
    return None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def coverage_information(resource: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The ``ext-coverage-information`` extensions on a resource."""
    return [
        ext
        for ext in _list(resource.get("extension"))
        if isinstance(ext, Mapping) and ext.get("url") == COVERAGE_INFORMATION_URL
    ]


def _coverage_information_problems(actions: list[Any], hook: str) -> list[str]:
    targets = COVERAGE_TARGETS.get(hook, frozenset())
    found = [
        (index, act)
        for index, act in enumerate(actions)
        if isinstance(act, Mapping)
        and isinstance(act.get("resource"), Mapping)
        and act["resource"].get("resourceType") in targets
        and coverage_information(act["resource"])
    ]
    problems: list[str] = []
    if not found and hook in SYSTEM_ACTIONS_REQUIRED:
        problems.append(f"systemActions: no Coverage Information system action for {hook}")
    for index, act in found:
        if act.get("type") != "update":
            problems.append(f"systemActions[{index}].type: Coverage Information must be 'update'")
    for _, act in found:
        problems.extend(_assertion_id_problems(act["resource"]))
    return problems


def _assertion_id_problems(resource: Mapping[str, Any]) -> list[str]:
    """Check one resource's coverage-assertion-ids and satisfied-pa-ids.

    Per coverage: exactly one coverage-assertion-id and at most one satisfied-pa-id; across
    coverages: distinct ids (CRD resp-32; Inferno CRD 3.x.11).
    """
    assertions: dict[str, set[str]] = {}
    pa_ids: dict[str, set[str]] = {}
    for ext in coverage_information(resource):
        values = _sub_values(ext)
        coverage = values.get("coverage", "?")
        assertions.setdefault(coverage, set())
        pa_ids.setdefault(coverage, set())
        if "coverage-assertion-id" in values:
            assertions[coverage].add(values["coverage-assertion-id"])
        if "satisfied-pa-id" in values:
            pa_ids[coverage].add(values["satisfied-pa-id"])
    prefix = "coverage-information for"
    problems = [
        f"{prefix} {coverage}: needs exactly one coverage-assertion-id"
        for coverage, ids in assertions.items()
        if len(ids) != 1
    ]
    problems += [
        f"{prefix} {coverage}: more than one satisfied-pa-id"
        for coverage, ids in pa_ids.items()
        if len(ids) > 1
    ]
    return (
        problems + _shared(assertions, "coverage-assertion-id") + _shared(pa_ids, "satisfied-pa-id")
    )


def _shared(ids_by_coverage: dict[str, set[str]], name: str) -> list[str]:
    every = [i for ids in ids_by_coverage.values() for i in ids]
    if len(every) == len(set(every)):
        return []
    return [f"coverage-information: differing coverages share a {name}"]


def _sub_values(extension: Mapping[str, Any]) -> dict[str, str]:
    """Sub-extension url → string value (reference, string or code)."""
    values: dict[str, str] = {}
    for sub in _list(extension.get("extension")):
        if not isinstance(sub, Mapping) or not isinstance(sub.get("url"), str):
            continue
        ref = sub.get("valueReference")
        value = ref.get("reference") if isinstance(ref, Mapping) else sub.get("valueString")
        if isinstance(value, str):
            values[sub["url"]] = value
    return values
