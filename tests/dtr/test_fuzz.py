"""Fuzz the DTR operations over HTTP: valid inputs, mutated anywhere, never get a 5xx.

For ``$questionnaire-package``, ``$next-question``, QuestionnaireResponse intake and
``$log-questionnaire-errors``: a conformant body has one element replaced by arbitrary JSON
or removed (hypothesis picks which and with what). Every answer is below 500 and every
refusal is an OperationOutcome.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests._shared import load_shared_json
from tests.dtr.conftest import DtrApp
from tests.dtr.helpers import (
    bundles,
    complete,
    device_order,
    package_request,
    service,
    service_order,
)

Path = tuple[str | int, ...]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
REMOVE = object()


def _draft(order: dict[str, Any]) -> dict[str, Any]:
    output = service().questionnaire_package(package_request(order))
    return copy.deepcopy(bundles(output)[0]["entry"][-1]["resource"])


@lru_cache(maxsize=1)
def _bodies() -> dict[str, Any]:
    power = _draft(device_order("K0823"))
    form = service().content.definition(power["questionnaire"])
    assert form is not None
    knee = _draft(service_order("27447"))
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error"}]}
    return {
        "Questionnaire/$questionnaire-package": load_shared_json(
            "fixtures", "dtr", "inferno", "initial_static_questionnaire_request.json"
        ),
        "Questionnaire/$next-question": {
            "resourceType": "Parameters",
            "parameter": [
                {
                    "name": "questionnaire-response",
                    "resource": {**complete(knee, knee["contained"][0]), "status": "in-progress"},
                }
            ],
        },
        "QuestionnaireResponse": complete(power, form),
        "$log-questionnaire-errors": {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "questionnaire", "valueCanonical": power["questionnaire"]},
                {"name": "operationOutcome", "resource": outcome},
            ],
        },
    }


def _paths(value: Any, prefix: Path = ()) -> Iterator[Path]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield prefix + (key,)
            yield from _paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield prefix + (index,)
            yield from _paths(child, prefix + (index,))


def _mutated(body: Any, path: Path, replacement: Any) -> Any:
    result = copy.deepcopy(body)
    parent = result
    for step in path[:-1]:
        parent = parent[step]
    if replacement is REMOVE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return result


def _assert_handled(dtr_app: DtrApp, route: str, body: Any) -> None:
    reply = dtr_app.post(f"/fhir/{route}", body)
    assert reply.status_code < 500, (route, reply.get_json())
    if reply.status_code >= 400:
        assert reply.get_json()["resourceType"] == "OperationOutcome"


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    route=st.sampled_from(
        [
            "Questionnaire/$questionnaire-package",
            "Questionnaire/$next-question",
            "QuestionnaireResponse",
            "$log-questionnaire-errors",
        ]
    ),
    pick=st.integers(min_value=0),
    replacement=st.just(REMOVE) | JSON,
)
def test_mutated_valid_inputs_never_give_a_5xx(
    dtr_app: DtrApp, route: str, pick: int, replacement: Any
) -> None:
    body = _bodies()[route]
    paths = list(_paths(body))
    _assert_handled(dtr_app, route, _mutated(body, paths[pick % len(paths)], replacement))


def test_unmutated_inputs_are_served(dtr_app: DtrApp) -> None:
    """The fuzz starts from inputs the service accepts."""
    expected = {"QuestionnaireResponse": 201}
    for route, body in _bodies().items():
        reply = dtr_app.post(f"/fhir/{route}", body)
        assert reply.status_code == expected.get(route, 200), (route, reply.get_json())
