"""Check a QuestionnaireResponse against its Questionnaire before it is accepted.

DTR 2.2 §QuestionnaireResponse: every answer carries ``information-origin`` with a known
source; answers fit their item's type and answer list; no answers on items disabled by
``enableWhen`` or unknown to the form; a ``completed`` response answers every enabled
required item. When the payer's own prepopulation of the form is known, the origins must
agree with it (an auto-filled value left unchanged is not ``manual``, a changed one is
``override``; ``spec-137``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from davinci_pa.dtr.answers import ANSWER_TYPES, answer_value, answers_by_link, enabled
from davinci_pa.dtr.vocabulary import ORIGIN, ORIGIN_SOURCES, answers_of, extensions, walk_items
from davinci_pa.types import Resource

AUTO = frozenset({"auto", "auto-client", "auto-server"})


def origin_problems(response: Resource) -> list[str]:
    """Answers without a valid information-origin extension (form-independent check)."""
    problems = []
    for item, _ in walk_items(response.get("item")):
        for index, answer in enumerate(answers_of(item)):
            source = _source(answer)
            where = f"item {item.get('linkId')} answer[{index}]"
            if source is None:
                problems.append(f"{where}: the information-origin extension is missing")
            elif source not in ORIGIN_SOURCES:
                problems.append(f"{where}: information-origin source {source!r} is not known")
    return problems


def _source(answer: Any) -> str | None:
    for ext in extensions(answer, ORIGIN):
        for part in extensions(ext, "source"):
            if isinstance(part.get("valueCode"), str):
                return str(part["valueCode"])
    return None


def required_problems(questionnaire: Resource, response: Resource) -> list[str]:
    """Enabled required questions of the form that have no answer."""
    answers = answers_by_link(response.get("item"))
    missing = []
    for item in _enabled_items(questionnaire.get("item", []), answers):
        question = item.get("type") not in ("group", "display")
        if item.get("required") and question and item["linkId"] not in answers:
            missing.append(f"item {item['linkId']} ({item.get('text', '')}) is required")
    return missing


def _enabled_items(items: list[dict[str, Any]], answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = []
    for item in items:
        if isinstance(item, dict) and enabled(item, answers):
            found.append(item)
            found.extend(_enabled_items(item.get("item") or [], answers))
    return found


def validate_response(
    response: Resource, questionnaire: Resource, *, prepopulated: Resource | None = None
) -> list[str]:
    """Return every problem of ``response`` against ``questionnaire`` (empty when valid)."""
    problems = origin_problems(response)
    definitions = {i["linkId"]: i for i, _ in walk_items(questionnaire.get("item"))}
    given = answers_by_link(response.get("item"))
    enabled_links = {i["linkId"] for i in _enabled_items(questionnaire.get("item", []), given)}
    for item, _ in walk_items(response.get("item")):
        link = str(item.get("linkId"))
        definition = definitions.get(link)
        if definition is None:
            problems.append(f"item {link} is not in the questionnaire")
            continue
        answers = answers_of(item)
        if answers and link not in enabled_links:
            problems.append(f"item {link} is answered but disabled by its enableWhen")
        problems.extend(_answer_problems(definition, answers))
    if response.get("status") == "completed":
        problems.extend(required_problems(questionnaire, response))
    if prepopulated is not None:
        problems.extend(_origin_consistency(response, prepopulated, definitions))
    return problems


def _answer_problems(definition: Mapping[str, Any], answers: list[dict[str, Any]]) -> list[str]:
    link = definition["linkId"]
    allowed = ANSWER_TYPES.get(str(definition.get("type")), ())
    problems = []
    if len(answers) > 1 and not definition.get("repeats"):
        problems.append(f"item {link} does not repeat but has {len(answers)} answers")
    for answer in answers:
        value = answer_value(answer)
        if value is None or value[0] not in allowed:
            kind = value[0] if value else "no value"
            problems.append(f"item {link} ({definition.get('type')}) cannot take {kind}")
        elif value[0] == "valueCoding" and not _in_options(definition, value[1]):
            problems.append(f"item {link}: {value[1].get('code')} is not one of its answer options")
    return problems


def _in_options(definition: Mapping[str, Any], coding: Any) -> bool:
    options = [o.get("valueCoding") for o in definition.get("answerOption") or []]
    options = [o for o in options if isinstance(o, dict)]
    if not options or not isinstance(coding, dict):
        return True
    return any(
        o.get("code") == coding.get("code")
        and (not coding.get("system") or o.get("system") == coding.get("system"))
        for o in options
    )


def _origin_consistency(
    response: Resource, prepopulated: Resource, definitions: Mapping[str, Any]
) -> list[str]:
    expected = answers_by_link(prepopulated.get("item"))
    given = answers_by_link(response.get("item"))
    problems = []
    for link, auto_answers in expected.items():
        auto_values = [answer_value(a) for a in auto_answers]
        submitted = given.get(link, [])
        required = bool((definitions.get(link) or {}).get("required"))
        if not submitted and required:
            problems.append(
                f"item {link}: the prepopulated answer was removed from a required item"
            )
        for answer in submitted:
            source = _source(answer)
            same = answer_value(answer) in auto_values
            if same and source == "manual":
                problems.append(f"item {link}: unchanged prepopulated answer is marked 'manual'")
            elif not same and source in AUTO:
                problems.append(f"item {link}: changed answer must be marked 'override'")
    return problems
