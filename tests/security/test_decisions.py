"""Finding 3: only a reviewer decides, never on its own request, and bad bodies are 400s."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.conftest import Tenants, claim_bundle

APPROVE = {"items": [{"sequence": 1, "action": "A1"}, {"sequence": 2, "action": "A1"}]}


def _pended(tenants: Tenants, trace: str, client: str = "clinic-a") -> str:
    answer = tenants.post(client, "/fhir/Claim/$submit", claim_bundle(trace))
    assert answer.status_code == 200, answer.text
    return tenants.authorization(trace, client).pa_id


@pytest.mark.parametrize("client", ["writer", "clinic-a", "clinic-b", "loner"])
def test_clients_without_the_reviewer_role_cannot_decide(tenants: Tenants, client: str) -> None:
    pa_id = _pended(tenants, f"no-role-{client}")
    answer = tenants.post(client, f"/admin/pas/{pa_id}/decision", APPROVE)
    assert answer.status_code == 403
    assert answer.json()["resourceType"] == "OperationOutcome"
    assert tenants.payer.pas.records.authorization(pa_id).status == "pended"  # type: ignore[union-attr]


def test_a_reviewer_cannot_decide_its_own_request(tenants: Tenants) -> None:
    pa_id = _pended(tenants, "self-review", client="dual")
    answer = tenants.post("dual", f"/admin/pas/{pa_id}/decision", APPROVE)
    assert answer.status_code == 403
    assert tenants.payer.pas.records.authorization(pa_id).status == "pended"  # type: ignore[union-attr]
    assert tenants.post("reviewer", f"/admin/pas/{pa_id}/decision", APPROVE).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"action": {}},
        {"items": {}},
        {"items": []},
        {"items": [{"sequence": "1", "action": "A1"}]},
        {"items": [{"sequence": True, "action": "A1"}]},
        {"items": [{"sequence": 1, "action": {}}]},
        {"items": [{"sequence": 1, "action": "C"}]},
        {"items": [{"sequence": 1, "action": "A3", "reason": 5}]},
        {"items": [{"sequence": 1, "action": "A1", "reasonCodes": "x"}]},
        {"items": [{"sequence": 1, "action": "A1", "authorized": []}]},
        {"items": [{"sequence": 1, "action": "A6", "authorized": {"productOrService": "x"}}]},
        {"items": [{"sequence": 1, "action": "A1", "authorized": {"productOrService": False}}]},
        {"items": [{"sequence": 1, "action": "A6", "authorized": {"extra": {"a": 1}}}]},
        {"items": [{"sequence": 1, "action": "A6", "authorized": {"quantity": {"value": "1"}}}]},
        {"items": [{"sequence": 99, "action": "A1"}]},
        [],
        "A1",
    ],
)
def test_wrongly_typed_decisions_are_400(tenants: Tenants, body: Any) -> None:
    """Finding 6: ``{"action": {}}`` was a 500."""
    pa_id = _pended(tenants, f"typed-{abs(hash(str(body)))}")
    answer = tenants.post("reviewer", f"/admin/pas/{pa_id}/decision", body)
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["resourceType"] == "OperationOutcome"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=12,
)
decision_items = st.fixed_dictionaries(
    {
        "sequence": st.integers(0, 3) | json_values,
        "action": st.sampled_from(["A1", "A3", "A4", "A6"]) | json_values,
    },
    optional={
        "reason": json_values,
        "reasonCodes": json_values,
        "authorized": st.dictionaries(
            st.sampled_from(["productOrService", "quantity", "extra"]), json_values
        ),
    },
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=json_values | st.fixed_dictionaries({"items": st.lists(decision_items, max_size=3)}))
def test_decision_route_fuzz(tenants: Tenants, body: Any) -> None:
    """Whatever the body, the decision route answers with an OperationOutcome or a Bundle."""
    pa_id = _pended(tenants, f"fuzz-{uuid.uuid4()}")
    answer = tenants.post("reviewer", f"/admin/pas/{pa_id}/decision", body)
    assert answer.status_code < 500, answer.text
    assert answer.json()["resourceType"] in {"OperationOutcome", "Bundle"}
