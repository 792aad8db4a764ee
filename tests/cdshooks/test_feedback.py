"""Feedback bodies."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from davinci_pa.cdshooks.feedback import Feedback, parse_feedback
from davinci_pa.errors import InvalidHookRequest

ACCEPTED = {
    "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
    "outcome": "accepted",
    "acceptedSuggestions": [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}],
    "outcomeTimestamp": "2020-12-11T00:00:00.000Z",
}
OVERRIDDEN = {
    "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
    "outcome": "overridden",
    "overrideReason": {
        "reason": {
            "code": "reason-code-provided-by-service",
            "system": "http://example.org/cds-services/fhir/CodeSystem/override-reasons",
        },
        "userComment": "clarification of the override",
    },
    "outcomeTimestamp": "2020-12-11T01:30:00+01:00",
}


def test_accepted_and_overridden() -> None:
    parsed = parse_feedback({"feedback": [ACCEPTED, OVERRIDDEN]})
    assert parsed == [
        Feedback(
            card=ACCEPTED["card"],  # type: ignore[arg-type]
            outcome="accepted",
            outcome_timestamp=datetime(2020, 12, 11, tzinfo=UTC),
            accepted_suggestions=("e56e1945-20b3-4393-8503-a1a20fd73152",),
        ),
        Feedback(
            card=OVERRIDDEN["card"],  # type: ignore[arg-type]
            outcome="overridden",
            outcome_timestamp=datetime(2020, 12, 11, 0, 30, tzinfo=UTC),
            override_reason=OVERRIDDEN["overrideReason"]["reason"],  # type: ignore[index]
            override_comment="clarification of the override",
        ),
    ]


def test_overridden_without_reason_and_naive_timestamp() -> None:
    item = {"card": "c", "outcome": "overridden", "outcomeTimestamp": "2024-01-02T03:04:05"}
    (parsed,) = parse_feedback({"feedback": [item]})
    assert parsed.outcome_timestamp == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parsed.override_reason is None


def _item(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    item = copy.deepcopy(base)
    for key, value in changes.items():
        if value is ...:
            item.pop(key, None)
        else:
            item[key] = value
    return {"feedback": [item]}


BROKEN = [
    ({}, "feedback: is required"),
    ({"feedback": []}, "feedback: must not be empty"),
    ({"feedback": {}}, "feedback: must be an array"),
    (_item(ACCEPTED, card=...), "feedback[0].card: is required"),
    (_item(ACCEPTED, card=""), "feedback[0].card: must not be empty"),
    (
        _item(ACCEPTED, outcome="ignored"),
        "feedback[0].outcome: must be one of 'accepted', 'overridden'",
    ),
    (
        _item(ACCEPTED, acceptedSuggestions=...),
        "feedback[0].acceptedSuggestions: is required when the outcome is accepted",
    ),
    (
        _item(ACCEPTED, acceptedSuggestions=[{}]),
        "feedback[0].acceptedSuggestions[0].id: is required",
    ),
    (_item(ACCEPTED, acceptedSuggestions=[]), "feedback[0].acceptedSuggestions: must not be empty"),
    (
        _item(ACCEPTED, overrideReason={"userComment": "x"}),
        "feedback[0].overrideReason: only allowed when",
    ),
    (
        _item(OVERRIDDEN, acceptedSuggestions=[{"id": "s"}]),
        "feedback[0].acceptedSuggestions: only allowed when",
    ),
    (_item(OVERRIDDEN, overrideReason={}), "feedback[0].overrideReason: must not be empty"),
    (
        _item(OVERRIDDEN, overrideReason={"reason": {"code": "x"}}),
        "feedback[0].overrideReason.reason.system: is required",
    ),
    (
        _item(ACCEPTED, outcomeTimestamp="yesterday"),
        "feedback[0].outcomeTimestamp: must be an ISO 8601 date-time",
    ),
    (
        _item(ACCEPTED, outcomeTimestamp="2020-12-11"),
        "feedback[0].outcomeTimestamp: must be an ISO 8601 date-time",
    ),
    (_item(ACCEPTED, outcomeTimestamp=12), "feedback[0].outcomeTimestamp: must be a string"),
    ([], "(body): must be an object"),
]


@pytest.mark.parametrize(("body", "expected"), BROKEN, ids=[b[1][:50] for b in BROKEN])
def test_broken_feedback_names_the_field(body: Any, expected: str) -> None:
    with pytest.raises(InvalidHookRequest) as caught:
        parse_feedback(body)
    assert any(p.startswith(expected) for p in caught.value.details["problems"]), (
        caught.value.details
    )
