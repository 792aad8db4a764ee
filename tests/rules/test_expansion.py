"""ValueSet expansions as of a moment (DTR oper-5, oper-15)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from davinci_pa.rules.expansion import expansion_as_of

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
OLD = {"timestamp": "2020-01-01T00:00:00Z"}


def test_enumerated_compose_is_expanded_again_as_of_the_moment_without_inactive_codes() -> None:
    valueset: dict[str, Any] = {
        "resourceType": "ValueSet",
        "compose": {"include": [{"system": "s", "concept": [{"code": "a"}, {"code": "b"}]}]},
        "expansion": {**OLD, "contains": [{"system": "s", "code": "a", "inactive": True}]},
    }
    expansion = expansion_as_of(valueset, NOW)["expansion"]
    assert expansion == {
        "timestamp": "2026-03-04T05:06:07Z",
        "total": 1,
        "contains": [{"system": "s", "code": "b"}],
    }
    assert valueset["expansion"]["timestamp"] == OLD["timestamp"]


def test_a_list_without_compose_is_its_own_definition() -> None:
    valueset = {"resourceType": "ValueSet", "expansion": {**OLD, "contains": [{"code": "x"}]}}
    expansion = expansion_as_of(valueset, NOW)["expansion"]
    assert expansion["timestamp"] == "2026-03-04T05:06:07Z"
    assert expansion["contains"] == [{"code": "x"}]


def test_an_imported_expansion_keeps_its_date_but_drops_inactive_codes() -> None:
    valueset = {
        "resourceType": "ValueSet",
        "compose": {"include": [{"system": "s", "filter": [{"property": "concept"}]}]},
        "expansion": {**OLD, "contains": [{"code": "x"}, {"code": "y", "inactive": True}]},
    }
    expansion = expansion_as_of(valueset, NOW)["expansion"]
    assert expansion == {**OLD, "contains": [{"code": "x"}], "total": 1}
