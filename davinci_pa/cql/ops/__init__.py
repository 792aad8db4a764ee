"""ELM operator families; importing this package registers every node builder."""

from __future__ import annotations

from davinci_pa.cql.ops import (
    aggregates,
    arithmetic,
    clinical,
    collections,
    comparison,
    expand,
    fhirhelpers,
    intervals,
    lists,
    logic,
    quantities,
    queries,
    refs,
    retrieval,
    strings,
    structure,
    temporal,
    types,
)

__all__ = [
    "aggregates",
    "arithmetic",
    "clinical",
    "collections",
    "comparison",
    "expand",
    "fhirhelpers",
    "intervals",
    "lists",
    "logic",
    "quantities",
    "queries",
    "refs",
    "retrieval",
    "strings",
    "structure",
    "temporal",
    "types",
]
