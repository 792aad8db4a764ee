"""Property tests: arbitrary JSON never makes the parsers fail with anything but a 400."""

from __future__ import annotations

import copy
import functools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from davinci_pa.cdshooks.feedback import parse_feedback
from davinci_pa.cdshooks.hooks import HOOKS, HookRequest, parse_hook_request
from davinci_pa.errors import InvalidHookRequest
from tests._shared import load_shared_json

FIELD_NAMES = [
    "hook",
    "hookInstance",
    "fhirServer",
    "fhirAuthorization",
    "context",
    "prefetch",
    "extension",
    "userId",
    "patientId",
    "encounterId",
    "draftOrders",
    "selections",
    "appointments",
    "dispatchedOrders",
    "order",
    "performer",
    "fulfillmentTasks",
    "task",
    "resourceType",
    "entry",
    "resource",
    "id",
    "status",
    "access_token",
    "token_type",
    "expires_in",
    "scope",
    "subject",
    "feedback",
    "card",
    "outcome",
    "acceptedSuggestions",
    "overrideReason",
    "outcomeTimestamp",
    "reason",
    "userComment",
    "code",
    "system",
    "davinci-crd.requestedVersion",
]
WORDS = [
    "order-sign",
    "order-select",
    "Bundle",
    "Appointment",
    "proposed",
    "ServiceRequest/1",
    "Practitioner/1",
    "Patient/1",
    "1",
    "Bearer",
    "accepted",
    "overridden",
    "2020-12-11T00:00:00Z",
    "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
    "https://ehr/fhir",
    "",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(WORDS)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=8), children, max_size=6)
    ),
    max_leaves=25,
)
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(_paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(_paths(child, (*prefix, index)))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copied = copy.deepcopy(value)
    target = copied
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return copied


def _check(body: object, hook: str) -> None:
    problems: list[Any] = []
    try:
        result: object = parse_hook_request(body, service_hook=hook)
    except InvalidHookRequest as exc:
        problems, result = exc.details["problems"], None
    assert isinstance(result, HookRequest) or problems
    assert all(isinstance(p, str) and ": " in p for p in problems)


@FAST
@given(body=json_values, hook=st.sampled_from(sorted(HOOKS)))
def test_arbitrary_json_is_a_400_or_a_request(body: Any, hook: str) -> None:
    _check(body, hook)


@functools.cache
def _fixture(name: str) -> Any:
    return load_shared_json("fixtures", "crd", "inferno", name)


FIXTURES = [
    "order_sign_hook_request.json",
    "order_select_hook_request.json",
    "appointment_book_hook_request.json",
    "order_dispatch_hook_request.json",
    "encounter_start-1.json",
]


@FAST
@given(data=st.data(), name=st.sampled_from(FIXTURES), new=json_values)
def test_mutated_real_requests_are_a_400_or_a_request(data: Any, name: str, new: Any) -> None:
    body = _fixture(name)
    path = data.draw(st.sampled_from(_paths(body)))
    _check(_replace(body, path, new), body["hook"])


VALID_FEEDBACK = {
    "feedback": [
        {
            "card": "c",
            "outcome": "accepted",
            "acceptedSuggestions": [{"id": "s"}],
            "outcomeTimestamp": "2020-12-11T00:00:00Z",
        }
    ]
}


@FAST
@given(data=st.data(), new=json_values)
def test_feedback_is_a_400_or_parsed(data: Any, new: Any) -> None:
    for body in (
        new,
        _replace(VALID_FEEDBACK, data.draw(st.sampled_from(_paths(VALID_FEEDBACK))), new),
    ):
        problems: list[Any] = []
        try:
            parsed: list[Any] = parse_feedback(body)
        except InvalidHookRequest as exc:
            problems, parsed = exc.details["problems"], []
        assert bool(parsed) != bool(problems)
