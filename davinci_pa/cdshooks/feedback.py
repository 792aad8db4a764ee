"""The CDS Hooks feedback body (CDS Hooks 2.0.1 §Feedback).

``POST {baseUrl}/cds-services/{id}/feedback`` carries ``{"feedback": [...]}``; each item
names a card by ``uuid``, an ``outcome`` (``accepted`` or ``overridden``), the
``acceptedSuggestions`` (REQUIRED when accepted), an optional ``overrideReason``
(``{reason: Coding, userComment}``) and the ``outcomeTimestamp`` (ISO 8601, UTC).
The same feedback may arrive more than once; storing it idempotently is the caller's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

from davinci_pa.cdshooks.validation import compile_schema, raise_if_problems, schema_problems

Outcome = Literal["accepted", "overridden"]

_TEXT = {"type": "string", "minLength": 1}
_SCHEMA = compile_schema(
    {
        "type": "object",
        "required": ["feedback"],
        "properties": {
            "feedback": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["card", "outcome", "outcomeTimestamp"],
                    "properties": {
                        "card": _TEXT,
                        "outcome": {"enum": ["accepted", "overridden"]},
                        "outcomeTimestamp": _TEXT,
                        "acceptedSuggestions": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "object",
                                "required": ["id"],
                                "properties": {"id": _TEXT},
                            },
                        },
                        "overrideReason": {
                            "type": "object",
                            "minProperties": 1,
                            "properties": {
                                "reason": {
                                    "type": "object",
                                    "required": ["code", "system"],
                                    "properties": {
                                        "code": _TEXT,
                                        "system": _TEXT,
                                        "display": _TEXT,
                                    },
                                },
                                "userComment": _TEXT,
                            },
                        },
                    },
                },
            }
        },
    }
)


@dataclass(frozen=True, slots=True)
class Feedback:
    """One validated feedback item."""

    card: str
    outcome: Outcome
    outcome_timestamp: datetime
    """Timezone-aware, in UTC."""
    accepted_suggestions: tuple[str, ...] = ()
    override_reason: dict[str, Any] | None = None
    """The reason Coding, if any."""
    override_comment: str | None = None


def parse_feedback(body: object) -> list[Feedback]:
    """Validate a feedback body.

    Raises:
        InvalidHookRequest: naming the offending field(s).
    """
    raise_if_problems(schema_problems(_SCHEMA, body), what="feedback")
    items: list[dict[str, Any]] = cast(dict[str, Any], body)["feedback"]  # schema-checked
    problems: list[str] = []
    parsed: list[Feedback] = []
    for index, item in enumerate(items):
        path = f"feedback[{index}]"
        timestamp = _timestamp(item["outcomeTimestamp"])
        item_problems = _outcome_problems(item, path)
        if timestamp is None:
            item_problems.append(f"{path}.outcomeTimestamp: must be an ISO 8601 date-time")
        else:
            parsed.append(_feedback(item, timestamp))
        problems.extend(item_problems)
    raise_if_problems(problems, what="feedback")
    return parsed


def _outcome_problems(item: dict[str, Any], path: str) -> list[str]:
    accepted = item["outcome"] == "accepted"
    if accepted and "acceptedSuggestions" not in item:
        return [f"{path}.acceptedSuggestions: is required when the outcome is accepted"]
    if accepted and "overrideReason" in item:
        return [f"{path}.overrideReason: only allowed when the outcome is overridden"]
    if not accepted and "acceptedSuggestions" in item:
        return [f"{path}.acceptedSuggestions: only allowed when the outcome is accepted"]
    return []


def _feedback(item: dict[str, Any], timestamp: datetime) -> Feedback:
    override = item.get("overrideReason") or {}
    return Feedback(
        card=item["card"],
        outcome=item["outcome"],
        outcome_timestamp=timestamp,
        accepted_suggestions=tuple(s["id"] for s in item.get("acceptedSuggestions", [])),
        override_reason=override.get("reason"),
        override_comment=override.get("userComment"),
    )


def _timestamp(text: str) -> datetime | None:
    """Parse an ISO 8601 date-time (``Z`` allowed); a missing offset is taken as UTC."""
    if "T" not in text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
