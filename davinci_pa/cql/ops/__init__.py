"""ELM operator families; importing this package registers every node builder."""

from __future__ import annotations

from davinci_pa.cql.ops import (
    arithmetic,
    comparison,
    logic,
    refs,
    structure,
)

__all__ = ["arithmetic", "comparison", "logic", "refs", "structure"]
