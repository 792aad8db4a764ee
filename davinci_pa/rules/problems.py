"""Rule-pack problems: each names its file, field and (where the format has one) line.

The loader collects every problem of a pack before it gives up, so an author sees the whole
list at once (``davinci-pa rules check``); :class:`RulePackError` carries that list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from davinci_pa.errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a rule pack, positioned in the file it comes from."""

    file: str
    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )

    def to_json(self) -> dict[str, Any]:
        """The problem as a JSON object (``rules check --json``)."""
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


class RulePackError(ConfigurationError):
    """A rule pack has problems; the message lists every one of them."""

    code = "invalid-rule-pack"

    def __init__(self, pack: str, problems: list[Problem]) -> None:
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(
            f"rule pack {pack} is invalid ({len(problems)} problem(s)):\n{lines}",
            details={"problems": [str(p) for p in problems]},
        )
        self.problems = tuple(problems)


def line_of(text: str | None, value: Any, *, after: int = 0) -> int | None:
    """The 1-based line where the JSON form of ``value`` first appears (from line ``after``)."""
    if not text:
        return None
    needle = json.dumps(value, ensure_ascii=False)
    for number, line in enumerate(text.splitlines()[after:], start=after + 1):
        if needle in line:
            return number
    return None
