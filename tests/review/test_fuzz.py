"""Hypothesis fuzzing of the review routes: whatever arrives, a 4xx or a success, never a 5xx.

The extension and appeal JSON bodies, the queue's query parameters and the workbench's
decision form (every field arbitrary text) against real pended requests over HTTP.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.review.conftest import Browser, pended
from tests.security.conftest import Tenants
from tests.security.test_decisions import json_values


@pytest.fixture(scope="module")
def physician(staff: Tenants) -> Iterator[Browser]:
    """One logged-in physician for every example."""
    user = Browser(staff.base)
    user.login("petra")
    yield user
    user.http.close()


FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
texts = st.text(max_size=30)


@FUZZ
@given(body=json_values | st.fixed_dictionaries({"reason": json_values}))
def test_extension_route_fuzz(staff: Tenants, body: Any) -> None:
    pa_id = pended(staff, f"fuzz-ext-{uuid.uuid4()}")
    answer = staff.post("reviewer", f"/admin/pas/{pa_id}/extension", body)
    assert answer.status_code < 500, answer.text


@FUZZ
@given(
    body=json_values
    | st.fixed_dictionaries(
        {"items": json_values | st.lists(st.integers(-1, 3), max_size=3), "received": json_values},
        optional={"note": json_values, "from": json_values},
    )
)
def test_appeal_route_fuzz(staff: Tenants, body: Any) -> None:
    pa_id = pended(staff, f"fuzz-appeal-{uuid.uuid4()}")
    answer = staff.post("reviewer", f"/admin/pas/{pa_id}/appeal", body)
    assert answer.status_code < 500, answer.text


@FUZZ
@given(
    query=st.dictionaries(
        st.sampled_from(["urgency", "flag", "topic", "page", "per_page", "other"]), texts
    )
)
def test_queue_route_fuzz(staff: Tenants, query: dict[str, str]) -> None:
    answer = staff.session.get(
        staff.base + "/review/api/queue",
        params=query,
        headers={"Authorization": f"Bearer {staff.token('reviewer')}"},
        timeout=10,
    )
    assert answer.status_code < 500, answer.text


@FUZZ
@given(
    form=st.fixed_dictionaries(
        {},
        optional={
            "sequence": texts | st.sampled_from(["1", "2", "99"]),
            "action": texts | st.sampled_from(["A1", "A3", "A4", "A6"]),
            "reason_code": texts,
            "reason": texts,
            "quantity": texts,
        },
    )
)
def test_workbench_decision_form_fuzz(
    staff: Tenants, physician: Browser, form: dict[str, str]
) -> None:
    pa_id = pended(staff, f"fuzz-form-{uuid.uuid4()}")
    answer = physician.post(f"/review/requests/{pa_id}/decision", form)
    assert answer.status_code < 500, answer.text
    assert not answer.url.endswith("/review/login")  # the session held: the form was judged
