"""CRD coverage-information vocabulary and invariants (CRD 2.2 §Coverage Information).

The codes travel as ``valueCode`` without a system, so the library must know which value
set applies; this module holds them and checks a :class:`Decision` against the
``crd-ci-q*`` invariants before anything is emitted.
"""

from __future__ import annotations

from davinci_pa.rules.model import Decision

COVERED = frozenset({"covered", "not-covered", "conditional", "indeterminate"})
PA_NEEDED = frozenset(
    {"no-auth", "auth-needed", "satisfied", "performpa", "conditional", "indeterminate"}
)
DOC_NEEDED = frozenset({"clinical", "admin", "patient", "conditional", "indeterminate"})
DOC_PURPOSE = frozenset({"withpa", "withclaim", "withorder", "retain-doc", "OTH"})
INFO_NEEDED = frozenset(
    {"performer", "location", "timeframe", "contract-window", "detail-code", "OTH"}
)
REASONS = frozenset(
    {
        "gold-card",
        "no-member-found",
        "no-active-coverage",
        "coverage-not-found",
        "auth-out-network",
        "technical",
    }
)
DETAIL_CODES = frozenset(
    {
        "allowed-quantity",
        "allowed-period",
        "in-network-copay",
        "out-network-copay",
        "concurrent-review",
        "appropriate-use-needed",
        "policy-link",
    }
)
DETAIL_CATEGORIES = frozenset({"cat-limitation", "cat-decisional", "cat-other"})


def check_decision(decision: Decision) -> list[str]:
    """Return every vocabulary or invariant violation of ``decision`` (empty when valid)."""
    problems = _vocabulary_problems(decision)
    problems.extend(_invariant_problems(decision))
    return problems


def _vocabulary_problems(d: Decision) -> list[str]:
    problems = []
    if d.covered not in COVERED:
        problems.append(f"covered '{d.covered}' is not one of {sorted(COVERED)}")
    if d.pa_needed is not None and d.pa_needed not in PA_NEEDED:
        problems.append(f"pa-needed '{d.pa_needed}' is not one of {sorted(PA_NEEDED)}")
    for name, values, allowed in (
        ("doc-needed", d.doc_needed, DOC_NEEDED),
        ("doc-purpose", d.doc_purpose, DOC_PURPOSE),
        ("info-needed", d.info_needed, INFO_NEEDED),
    ):
        problems.extend(
            f"{name} '{v}' is not one of {sorted(allowed)}" for v in values if v not in allowed
        )
    for detail in d.details:
        if detail.get("code") not in DETAIL_CODES and not detail.get("text"):
            problems.append(f"detail code '{detail.get('code')}' is unknown and has no text")
        if detail.get("category") not in DETAIL_CATEGORIES:
            problems.append(f"detail category '{detail.get('category')}' is not valid")
    return problems


def _invariant_problems(d: Decision) -> list[str]:
    problems = []
    states = {d.covered, d.pa_needed, *d.doc_needed}
    if d.questionnaires and not d.doc_needed:
        problems.append("crd-ci-q1: questionnaire requires doc-needed")
    if (d.covered == "not-covered") == (d.pa_needed is not None):
        problems.append("crd-ci-q2: pa-needed is required unless covered is not-covered")
    if ("conditional" in states) != bool(d.info_needed):
        problems.append("crd-ci-q3: info-needed goes with, and only with, a conditional answer")
    if d.pa_needed in {"satisfied", "no-auth"} and "withpa" in d.doc_purpose:
        problems.append("crd-ci-q4: doc-purpose withpa needs a PA to be pending")
    if (d.satisfied_pa_id is not None) != (d.pa_needed == "satisfied"):
        problems.append("crd-ci-q5: satisfied-pa-id exists iff pa-needed is satisfied")
    if "OTH" in d.info_needed and not d.reasons:
        problems.append("crd-ci-q6: info-needed OTH requires a reason")
    if "indeterminate" in states and not d.reasons:
        problems.append("crd-ci-q9: an indeterminate answer requires a reason")
    return problems
