"""The validator reports malformed JSON as issues; it never raises (hypothesis)."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from davinci_pa.fhir.validation import Validator
from tests._shared import load_shared_json, shared_path

PROFILE = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/profile-devicerequest"
junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


@cache
def validator() -> Validator:
    return Validator.from_packages([shared_path("igs", "davinci-crd-2.0.1.tgz")])


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found.extend(_paths(inner, (*prefix, key)))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found.extend(_paths(inner, (*prefix, index)))
    return found


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_mutated_resources_give_issues_not_exceptions(data: st.DataObject) -> None:
    resource = load_shared_json(
        "fixtures", "crd", "golden", "coverage_info_system_action_covered.json"
    )["resource"]
    mutated = copy.deepcopy(resource)
    path = data.draw(st.sampled_from(_paths(mutated)))
    target = mutated
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = data.draw(junk)
    issues = validator().validate(mutated, PROFILE)
    assert all(issue.path for issue in issues)
