"""The rule pack model: payers, topics and the coverage decision a topic yields.

A rule pack is a folder: ``payers.json`` names the payers it serves, and each topic folder
holds a ``topic.json`` (codes per payer and code system, a static decision, questionnaires,
policy citations) and optionally a CQL library following the Da Vinci CDS-Library contract.
The format is documented in ``docs/rules-authoring.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from davinci_pa.fhir.codes import Code

ANY_PAYER = "*"


@dataclass(frozen=True, slots=True)
class Payer:
    """A payer this endpoint answers for (CRD ``hook-13``: others get 400)."""

    id: str
    name: str
    identifiers: frozenset[tuple[str, str]] = frozenset()
    names: frozenset[str] = frozenset()
    contact: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a decision was reached: a coded reason (CRD coverageAssertionReasons) or text."""

    text: str
    code: str | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """A public coverage policy a topic cites."""

    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Alternative:
    """An order a payer prefers in place of the ordered one (Propose Alternate Request).

    ``replaces`` is the ordered code (in the alternative's code system) it is offered for.
    """

    code: Code
    replaces: Code
    reason: str


@dataclass(frozen=True, slots=True)
class Companion:
    """An order the payer's policy expects with the ordered one (Identify Additional Orders).

    A companion or prerequisite, offered as a draft order to create. ``when`` limits it to
    one ordered code (in the companion's code system); ``None`` offers it with every code
    of the topic.
    """

    resource_type: str
    code: Code
    when: Code | None
    reason: str


@dataclass(frozen=True, slots=True)
class Decision:
    """A coverage determination for one order, in CRD coverage-information terms (§2.7).

    ``covered``, ``pa_needed`` and the list fields hold codes of the CRD 2.2 value sets.
    """

    covered: str
    pa_needed: str | None = None
    doc_needed: tuple[str, ...] = ()
    doc_purpose: tuple[str, ...] = ()
    info_needed: tuple[str, ...] = ()
    reasons: tuple[Reason, ...] = ()
    details: tuple[Mapping[str, Any], ...] = ()
    questionnaires: tuple[str, ...] = ()
    satisfied_pa_id: str | None = None


@dataclass(frozen=True, slots=True)
class LibraryRef:
    """The CQL library a topic runs, by name and optional version."""

    name: str
    version: str | None = None


@dataclass(frozen=True, slots=True)
class Topic:
    """A coverage topic: the codes it governs and what the payer requires for them."""

    id: str
    title: str
    summary: str
    decision: Decision
    instructions: str = ""
    policies: tuple[Policy, ...] = ()
    questionnaires: tuple[str, ...] = ()
    alternatives: tuple[Alternative, ...] = ()
    companions: tuple[Companion, ...] = ()
    library: LibraryRef | None = None
    folder: str = ""


@dataclass(frozen=True, slots=True)
class CodeRule:
    """One code of a topic, for the payers it applies to (``*`` for all)."""

    topic: Topic
    payers: frozenset[str]

    def applies_to(self, payer_id: str) -> bool:
        """Tell whether this rule applies to the given payer."""
        return ANY_PAYER in self.payers or payer_id in self.payers


@dataclass(frozen=True, slots=True)
class RulePack:
    """A loaded rule pack, indexed for constant-time lookup by code."""

    payers: tuple[Payer, ...]
    topics: tuple[Topic, ...]
    by_code: Mapping[tuple[str, str], tuple[CodeRule, ...]] = field(default_factory=dict)
    default_decision: Decision = Decision(covered="covered", pa_needed="no-auth")
    folder: Path | None = None
    content_dirs: tuple[Path, ...] = ()
    """The DTR content folders the pack serves from (see :mod:`davinci_pa.rules.content`)."""

    def topic_for(self, code: Code, payer_id: str) -> Topic | None:
        """Return the topic governing ``code`` for ``payer_id``, if any."""
        for rule in self.by_code.get(code.key, ()):
            if rule.applies_to(payer_id):
                return rule.topic
        return None

    def payer(self, payer_id: str) -> Payer | None:
        """Return the payer with this id, if the pack serves it."""
        return next((p for p in self.payers if p.id == payer_id), None)
