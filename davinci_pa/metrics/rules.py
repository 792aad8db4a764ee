"""The counting rules of a prior-authorization metrics report: one options object, documented.

CMS-0057-F names the metrics (45 CFR 156.223(b), 42 CFR 422.122(c)) but not every counting
choice; payers who published in year one disagreed on them. Each choice here has a default
and the reason for it, and every report prints the rules it used (docs/metrics.md).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from davinci_pa.errors import ConfigurationError

COUNT_BY = ("decided", "received")
PARTIAL_AS = ("approved", "denied")
APPEAL_DENOMINATORS = ("appealed_denials", "denials")
EXTENSION_DENOMINATORS = ("requests", "extended")


class BadCountingRules(ConfigurationError):
    """A counting-rules option is unknown or has a value outside its choices."""

    code = "bad-counting-rules"


@dataclass(frozen=True, slots=True)
class CountingRules:
    """How requests are counted; see :data:`REASONS` for why each default was chosen."""

    count_by: str = "decided"
    partial_approval: str = "approved"
    include_cancelled: bool = False
    appeal_denominator: str = "appealed_denials"
    extension_denominator: str = "requests"
    suppress_below: int = 0

    def __post_init__(self) -> None:
        for name, choices in _CHOICES.items():
            if getattr(self, name) not in choices:
                raise BadCountingRules(f"counting rule '{name}' must be one of {list(choices)}")
        if type(self.include_cancelled) is not bool:
            raise BadCountingRules("counting rule 'include_cancelled' must be true or false")
        if type(self.suppress_below) is not int or not 0 <= self.suppress_below <= 100:
            raise BadCountingRules("counting rule 'suppress_below' must be a whole number 0-100")

    @classmethod
    def from_json(cls, data: Any) -> CountingRules:
        """Rules from a JSON object of option → value; unknown options are refused."""
        if not isinstance(data, Mapping):
            raise BadCountingRules("counting rules must be a JSON object of option: value")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise BadCountingRules(
                f"unknown counting rule(s) {unknown}; the options are {sorted(known)}"
            )
        return cls(**dict(data))

    @classmethod
    def from_file(cls, path: Path) -> CountingRules:
        """Rules from a JSON file (``DAVINCI_PA_METRICS_RULES``); a problem names the file."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls.from_json(data)
        except (OSError, ValueError) as exc:
            raise BadCountingRules(f"{path}: {exc}") from None
        except BadCountingRules as exc:
            raise BadCountingRules(f"{path}: {exc}") from None

    def to_json(self) -> dict[str, Any]:
        """The options and the fixed definitions, as every report prints them."""
        return {**dataclasses.asdict(self), **FIXED}


_CHOICES = {
    "count_by": COUNT_BY,
    "partial_approval": PARTIAL_AS,
    "appeal_denominator": APPEAL_DENOMINATORS,
    "extension_denominator": EXTENSION_DENOMINATORS,
}

FIXED = {
    "expedited": "the request's urgent flag (X12 level of service U or 03 on the Claim)",
    "decision_time": "hours from receipt of the first submission to the first determination",
    "determination": "the first time no item of the request was pended",
    "time_zone": "UTC: a year runs from 1 January 00:00 UTC to the next",
}
"""What the report fixes rather than lets the payer choose."""

REASONS = {
    "count_by": (
        "'decided': a request counts in the year its determination was made, so every "
        "request is counted once and only when its outcome is known; 'received' counts by "
        "receipt and leaves out requests still pended when the report is made."
    ),
    "partial_approval": (
        "'approved': a request approved in part was approved for some items or quantity, "
        "the provider may go ahead with what was approved; 'denied' counts it with denials."
    ),
    "include_cancelled": (
        "false: a request the provider withdrew or cancelled does not stand as a payer "
        "decision; requests cancelled before a determination are never counted."
    ),
    "appeal_denominator": (
        "'appealed_denials': the share of appealed denials that were approved on appeal "
        "says how often the first decision was overturned; 'denials' divides by every "
        "denial, counting unappealed ones as not approved."
    ),
    "extension_denominator": (
        "'requests': the rule asks for the percentage of requests whose review was "
        "extended and then approved, out of all requests; 'extended' divides by the "
        "extended requests only."
    ),
    "suppress_below": (
        "0 (off): a count from 1 to N-1 is shown as null with the percentages derived from "
        "it, so a small plan does not disclose individual members' outcomes."
    ),
}
"""Why each option defaults as it does (docs/metrics.md repeats them)."""
