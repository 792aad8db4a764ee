"""A Bundle's structure checked entry by entry (with cached resources) finds what the whole
Bundle model finds, at the same paths (``davinci_pa.fhir.validation.structural``)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from davinci_pa.fhir.validation.structural import _issue, validate_structure
from tests._shared import load_shared_json


def _bundle() -> dict[str, Any]:
    data = load_shared_json(
        "fixtures", "pas", "v2.2.1", "must_support_pa_submit_request_payload.json"
    )
    return copy.deepcopy(data[0] if isinstance(data, list) else data)


def _whole(bundle: dict[str, Any]) -> set[tuple[str, str]]:
    try:
        get_fhir_model_class("Bundle").model_validate(bundle)
    except ValidationError as exc:
        return {(i.path, i.message) for i in (_issue(e, "Bundle") for e in exc.errors())}
    return set()


def _unknown_element(b: dict[str, Any]) -> None:
    b["entry"][1]["resource"]["nickname"] = "x"


def _missing_required(b: dict[str, Any]) -> None:
    b["entry"][0]["resource"].pop("status")


def _bad_primitive(b: dict[str, Any]) -> None:
    b["entry"][0]["resource"]["created"] = "yesterday"


def _wrong_shape(b: dict[str, Any]) -> None:
    b["entry"][2]["resource"]["identifier"] = {"value": "not a list"}


def _bundle_level(b: dict[str, Any]) -> None:
    b["type"] = 7


BREAKAGES: list[Callable[[dict[str, Any]], None]] = [
    _unknown_element, _missing_required, _bad_primitive, _wrong_shape, _bundle_level,
]  # fmt: skip


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda f: f.__name__.strip("_"))
def test_entry_by_entry_finds_what_the_bundle_model_finds(breakage: Any) -> None:
    bundle = _bundle()
    breakage(bundle)
    expected = _whole(bundle)
    assert expected
    for _ in range(2):  # computed, then from the cache
        assert {(i.path, i.message) for i in validate_structure(bundle)} == expected


def test_a_valid_bundle_has_no_issues_twice() -> None:
    bundle = _bundle()
    assert validate_structure(bundle) == []
    assert validate_structure(bundle) == []
