"""Card builders enforce CDS Hooks rules; validate_response mirrors Inferno's response tests."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from davinci_pa.cdshooks.cards import (
    InvalidCard,
    action,
    card,
    coding,
    link,
    source,
    suggestion,
)
from davinci_pa.cdshooks.response import validate_response
from tests._shared import load_shared_json

TOPIC = coding("http://terminology.hl7.org/CodeSystem/cdshooks-card-type", "coverage-info")
SOURCE = source("Acme Health Plan", url="https://acme.example", topic=TOPIC)
ORDER = {
    "resourceType": "ServiceRequest",
    "id": "sr1",
    "status": "draft",
    "intent": "order",
    "subject": {"reference": "Patient/p1"},
}


def test_full_card_round_trip_passes_validation() -> None:
    built = card(
        "Prior authorization required",
        "info",
        SOURCE,
        uuid="c-1",
        detail="Submit via PAS.",
        suggestions=[
            suggestion("Use the generic", [action("update", "Swap", resource=ORDER)], uuid="s-1"),
            suggestion(
                "Drop it",
                [action("delete", "Remove", resource_id="ServiceRequest/sr1")],
                uuid="s-2",
                is_recommended=False,
            ),
        ],
        selection_behavior="at-most-one",
        links=[
            link("Policy", "https://acme.example/policy"),
            link("App", "https://app.example/launch", type="smart", app_context="x=1"),
        ],
        override_reasons=[coding("http://x", "not-needed", "Not needed")],
    )
    assert built["suggestions"][1]["isRecommended"] is False
    assert "extension" not in built
    response = {"cards": [built], "systemActions": []}
    assert validate_response(response, hook="order-select") == []


def test_empty_optionals_are_omitted() -> None:
    built = card("Note", "info", source("Acme", topic=TOPIC), detail="", links=[])
    assert built == {
        "summary": "Note",
        "indicator": "info",
        "source": {"label": "Acme", "topic": TOPIC},
    }


BAD_BUILDS: list[tuple[Any, str]] = [
    (lambda: card("x" * 140, "info", SOURCE), "shorter than 140"),
    (lambda: card("", "info", SOURCE), "card.summary"),
    (lambda: card("ok", "urgent", SOURCE), "card.indicator"),  # type: ignore[arg-type]
    (lambda: card("ok", "info", {}), "card.source"),
    (
        lambda: card("ok", "info", SOURCE, suggestions=[suggestion("a", uuid="u")]),
        "selectionBehavior: required",
    ),
    (lambda: card("ok", "info", SOURCE, selection_behavior="any"), "only allowed with suggestions"),
    (
        lambda: card(
            "ok",
            "info",
            SOURCE,
            suggestions=[suggestion("a", uuid="u")],
            selection_behavior="all",  # type: ignore[arg-type]
        ),
        "selectionBehavior: must be one of",
    ),
    (
        lambda: card("ok", "info", SOURCE, override_reasons=[{"code": "a", "system": "b"}]),
        "overrideReasons",
    ),
    (lambda: card("ok", "info", SOURCE, uuid=""), "card.uuid"),
    (lambda: suggestion("a", uuid=""), "suggestion.uuid"),
    (lambda: suggestion("", uuid="u"), "suggestion.label"),
    (lambda: link("a", "/relative"), "absolute http(s) URL"),
    (lambda: link("a", "javascript:alert(1)"), "absolute http(s) URL"),
    (lambda: link("a", "https://x", type="web"), "link.type"),  # type: ignore[arg-type]
    (lambda: link("a", "https://x", app_context="y"), "only allowed on smart links"),
    (lambda: action("update", "u"), "resource is required for update"),
    (lambda: action("create", "c", resource={"id": "x"}), "resource is required for create"),
    (lambda: action("delete", "d", resource_id="sr1"), "relative reference"),
    (lambda: action("patch", "p"), "action.type"),  # type: ignore[arg-type]
    (lambda: action("delete", "", resource_id="A/b"), "action.description"),
    (lambda: source("Acme", url="acme.example"), "source.url"),
    (lambda: source("Acme", topic={"code": "x"}), "source.topic"),
    (lambda: coding("", "x"), "system"),
]


@pytest.mark.parametrize(("build", "message"), BAD_BUILDS, ids=[b[1] for b in BAD_BUILDS])
def test_builders_refuse_broken_cards(build: Any, message: str) -> None:
    with pytest.raises(InvalidCard, match=re.escape(message)) as caught:
        build()
    assert isinstance(caught.value, ValueError)
    assert caught.value.http_status == 500
    assert caught.value.code == "invalid-card"


def test_inferno_golden_appointment_response_passes() -> None:
    body = load_shared_json("fixtures", "crd", "golden", "crd_authorization_hook_response.json")
    assert validate_response(body, hook="appointment-book") == []


@pytest.mark.parametrize(
    "name",
    ["instructions.json", "external_reference.json", *[f"valid_cards.json#{i}" for i in (0, 2)]],
)
def test_inferno_card_templates_pass(name: str) -> None:
    file, _, index = name.partition("#")
    template = load_shared_json("fixtures", "crd", "golden", file)
    template = template[int(index)] if index else template
    assert validate_response({"cards": [template]}, hook="encounter-start") == []


def _response() -> dict[str, Any]:
    body: dict[str, Any] = copy.deepcopy(
        load_shared_json("fixtures", "crd", "golden", "crd_authorization_hook_response.json")
    )
    return body


def _mutate(path: str, value: Any) -> dict[str, Any]:
    body = _response()
    keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split(".")]
    target = body
    for key in keys[:-1]:
        target = target[key]
    if value is ...:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return body


EXT = "systemActions.0.resource.extension.0.extension"
BROKEN_RESPONSES = [
    ("cards", ..., "cards: is required"),
    ("systemActions", ..., "systemActions: must be present for the appointment-book hook"),
    ("cards.0.summary", "s" * 140, "cards[0].summary: must be shorter than 140"),
    ("cards.0.indicator", "hint", "cards[0].indicator"),
    ("cards.0.source.topic", ..., "cards[0].source.topic"),
    ("cards.0.source.label", 3, "cards[0].source.label"),
    ("cards.0.links", [], "cards[0].links: must be a non-empty array"),
    ("cards.1.links.0.url", "ftp://x", "cards[1].links[0].url"),
    ("cards.1.links.0.appContext", "a", "cards[1].links[0].appContext: not allowed"),
    (
        "cards.0.suggestions",
        [{"label": "x", "uuid": "u"}],
        "cards[0].selectionBehavior: is required",
    ),
    (
        "cards.0.suggestions",
        [{"label": "x"}],
        "cards[0].suggestions[0].uuid: is required (CRD resp-3)",
    ),
    ("cards.0.overrideReasons", [{"code": "c"}], "cards[0].overrideReasons[0]: needs code"),
    (
        "systemActions.0.type",
        "create",
        "systemActions[0].type: Coverage Information must be 'update'",
    ),
    ("systemActions.0.description", ..., "systemActions[0].description: is required"),
    (
        "systemActions.0.resource.resourceType",
        "Encounter",
        "systemActions: no Coverage Information",
    ),
    ("systemActions.0.resource.status", 12, "systemActions[0].resource: does not parse as FHIR R4"),
    ("systemActions.0.resource.resourceType", "Nope", "unknown resourceType 'Nope'"),
    (
        EXT,
        [{"url": "coverage", "valueReference": {"reference": "Coverage/c"}}],
        "needs exactly one coverage-assertion-id",
    ),
]


@pytest.mark.parametrize(
    ("path", "value", "expected"), BROKEN_RESPONSES, ids=[b[2][:40] for b in BROKEN_RESPONSES]
)
def test_broken_responses_are_reported(path: str, value: Any, expected: str) -> None:
    problems = validate_response(_mutate(path, value), hook="appointment-book")
    assert any(p.startswith(expected) or expected in p for p in problems), problems


def test_delete_action_needs_resource_id() -> None:
    body = {"cards": [], "systemActions": [{"type": "delete", "description": "d"}]}
    assert validate_response(body, hook="order-select") == [
        "systemActions[0].resourceId: must be a relative reference 'Type/id'"
    ]


def test_distinct_assertion_ids_across_coverages() -> None:
    def ci(coverage: str, assertion: str, pa: str | None = None) -> dict[str, Any]:
        subs = [
            {"url": "coverage", "valueReference": {"reference": coverage}},
            {"url": "covered", "valueCode": "covered"},
            {"url": "coverage-assertion-id", "valueString": assertion},
        ]
        if pa:
            subs.append({"url": "satisfied-pa-id", "valueString": pa})
        return {
            "url": "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information",
            "extension": subs,
        }

    order = dict(
        ORDER,
        extension=[ci("Coverage/a", "X", "P"), ci("Coverage/b", "X", "P"), ci("Coverage/a", "Y")],
    )
    body = {
        "cards": [],
        "systemActions": [{"type": "update", "description": "ci", "resource": order}],
    }
    assert validate_response(body, hook="order-sign") == [
        "coverage-information for Coverage/a: needs exactly one coverage-assertion-id",
        "coverage-information: differing coverages share a coverage-assertion-id",
        "coverage-information: differing coverages share a satisfied-pa-id",
    ]


def test_non_crd_mode_skips_crd_rules() -> None:
    body = {
        "cards": [card("x", "info", SOURCE, suggestions=[{"label": "a"}], selection_behavior="any")]
    }
    assert validate_response(body, hook="order-sign", crd=False) == []
    assert "systemActions: must be present for the order-sign hook" in validate_response(
        body, hook="order-sign"
    )


@pytest.mark.parametrize("body", [None, [], "x", {"cards": {}}, {"cards": [], "systemActions": {}}])
def test_malformed_bodies(body: Any) -> None:
    assert validate_response(body, hook="order-select")


def test_inferno_smart_link_template_has_a_placeholder_url() -> None:
    template = load_shared_json("fixtures", "crd", "golden", "launch_smart_app.json")
    problems = validate_response({"cards": [template]}, hook="encounter-start")
    assert problems == ["cards[0].links[0].url: must be an absolute http(s) URL"]
