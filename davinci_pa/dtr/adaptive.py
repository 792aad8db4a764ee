"""Adaptive forms (DTR 2.2 §Adaptive Form Considerations, SDC ``$next-question``).

Stateless and rule-driven: an adaptive form is authored as a full questionnaire whose
top-level groups are *pages*, each optionally guarded by ``enableWhen`` on earlier answers.
The package hands out the leading unconditional pages; each ``$next-question`` call reads
the answers in the QuestionnaireResponse (which carries its Questionnaire in ``contained``,
``spec-25``), appends the next page whose conditions hold, and when none is left appends a
closing display item (``spec-39``) and marks the response ``completed`` (``spec-148``).
"""

from __future__ import annotations

import copy
from typing import Any

from davinci_pa.dtr.answers import answers_by_link, enabled
from davinci_pa.dtr.assemble import narrative
from davinci_pa.dtr.vocabulary import ADAPT_QUESTIONNAIRE, ADAPT_SEARCH, canonical_of
from davinci_pa.types import Resource

COMPLETE_LINK_ID = "dtr-complete"
COMPLETE_TEXT = (
    "All clinical questions for this request are answered. Review the answers and sign; "
    "the payer decides prior authorization from this documentation."
)


def package_form(definition: Resource) -> Resource:
    """The Questionnaire to put in the package: the header and the leading pages."""
    form = _header(definition)
    form["meta"] = {"profile": [ADAPT_SEARCH]}
    form["item"] = _strip(_leading_pages(definition))
    form["text"] = narrative(form)
    return form


def contained_form(definition: Resource, items: list[dict[str, Any]], form_id: str) -> Resource:
    """The Questionnaire a QuestionnaireResponse contains: presented pages only."""
    form = _header(definition)
    form["id"] = form_id
    form["meta"] = {"profile": [ADAPT_QUESTIONNAIRE]}
    form.pop("url", None)
    form.pop("version", None)
    form["derivedFrom"] = [canonical_of(definition)]
    form["item"] = items
    form["text"] = narrative(form)
    return form


def next_page(
    definition: Resource, presented: set[str], response: Resource
) -> dict[str, Any] | None:
    """The next page to present, or None when the form is complete."""
    answers = answers_by_link(response.get("item"))
    for page in definition.get("item", []):
        if page.get("linkId") in presented:
            continue
        if enabled(page, answers):
            return _strip([page])[0]
    return None


def completion_item() -> dict[str, Any]:
    """The display item that tells the user the clinical questions are complete."""
    return {"linkId": COMPLETE_LINK_ID, "text": COMPLETE_TEXT, "type": "display"}


def _header(definition: Resource) -> Resource:
    return {k: copy.deepcopy(v) for k, v in definition.items() if k not in ("item", "text", "meta")}


def _leading_pages(definition: Resource) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    for page in definition.get("item", []):
        if page.get("enableWhen"):
            break
        pages.append(page)
    return pages


def _strip(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies without enableWhen/enableBehavior (the payer already decided; adapt profile)."""
    stripped = []
    for item in items:
        copy_item = {
            k: copy.deepcopy(v)
            for k, v in item.items()
            if k not in ("enableWhen", "enableBehavior", "item")
        }
        if item.get("item"):
            copy_item["item"] = _strip(item["item"])
        stripped.append(copy_item)
    return stripped
