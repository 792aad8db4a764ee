"""Metric 1: the items and services that require prior authorization, from the loaded pack.

The list is what CRD enforces: every code of a topic whose declared decision needs prior
authorization (``auth-needed``, ``performpa``) or may need it (``conditional``, marked so),
for the plan asked about. Drugs are left out as the rule says (45 CFR 156.223(b)(1)):
codes in RxNorm or NDC.
"""

from __future__ import annotations

from typing import Any

from davinci_pa.fhir.codes import RXNORM
from davinci_pa.rules.codesystems import NDC
from davinci_pa.rules.model import RulePack

REQUIRES = frozenset({"auth-needed", "performpa"})
MAY_REQUIRE = frozenset({"conditional"})
DRUG_SYSTEMS = frozenset({RXNORM, NDC})


def items_requiring_prior_authorization(
    pack: RulePack, plan: str | None = None
) -> list[dict[str, Any]]:
    """Each code that needs prior authorization for ``plan`` (any plan when ``None``).

    Sorted by topic, system and code; ``conditional`` is true where the topic's rule
    decides from the patient's record whether authorization is needed.
    """
    found = []
    for (system, code), rules in pack.by_code.items():
        if system in DRUG_SYSTEMS:
            continue
        for rule in rules:
            decision = rule.topic.decision.pa_needed
            if decision not in REQUIRES | MAY_REQUIRE:
                continue
            if plan is not None and not rule.applies_to(plan):
                continue
            found.append(
                {
                    "system": system,
                    "code": code,
                    "display": rule.topic.title,
                    "topic": rule.topic.id,
                    "conditional": decision in MAY_REQUIRE,
                    "plans": sorted(rule.payers),
                }
            )
    return sorted(found, key=lambda i: (i["topic"], i["system"], i["code"]))
