"""Patient Access over HTTP (CMS-0057-F 45 CFR 156.221; PDex 2.1.0 Prior Authorization).

A member's app reads their prior authorizations with a token from the payer's authorization
server; decisions are visible the moment they are stored; nobody else's records are.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from davinci_pa.access.eob import PRE_AUTH_REF, PRIOR_AUTHORIZATION
from davinci_pa.store.schema import pas_authorizations
from tests.access.conftest import MEMBER, OTHER, get, patient_token, submit_for
from tests.auth.conftest import private_jwk
from tests.security.conftest import TRACE_SYSTEM, Tenants

EOB = "/fhir/ExplanationOfBenefit"


def _action(eob: dict, sequence: int = 1) -> str:
    item = next(i for i in eob["item"] if i["sequence"] == sequence)
    review = item["adjudication"][0]["extension"][0]["extension"][0]
    return str(review["valueCodeableConcept"]["coding"][0]["code"])


def test_a_decision_is_readable_through_patient_access_the_same_second(members: Tenants) -> None:
    pa_id = submit_for(members, "pa-fresh")
    token = patient_token(members)
    pended = get(members, f"{EOB}/{pa_id}", token).json()
    assert (pended["outcome"], _action(pended)) == ("queued", "A4")
    decision = {"items": [{"sequence": s, "action": "A1"} for s in (1, 2)]}
    assert members.post("reviewer", f"/admin/pas/{pa_id}/decision", decision).ok
    decided_at = datetime.now(UTC)
    after = get(members, f"{EOB}/{pa_id}", token).json()
    assert (after["outcome"], _action(after), _action(after, 2)) == ("complete", "A1", "A1")
    updated = datetime.fromisoformat(after["meta"]["lastUpdated"].replace("Z", "+00:00"))
    assert abs((decided_at - updated).total_seconds()) < 1.5
    assert after["meta"]["profile"] == [PRIOR_AUTHORIZATION]
    assert after["patient"] == {"reference": f"Patient/{MEMBER}"}
    assert after["use"] == "preauthorization"


def test_search_lists_only_the_members_own(members: Tenants) -> None:
    mine = submit_for(members, "pa-mine")
    theirs = submit_for(members, "pa-theirs", member=OTHER)
    found = get(members, f"{EOB}?patient=Patient/{MEMBER}", patient_token(members)).json()
    assert found["resourceType"] == "Bundle"
    assert found["type"] == "searchset"
    ids = {e["resource"]["id"] for e in found["entry"]}
    assert mine in ids
    assert theirs not in ids
    other = patient_token(members, OTHER)
    assert {e["resource"]["id"] for e in get(members, EOB, other).json()["entry"]} == {theirs}
    refused = get(members, f"{EOB}?patient={MEMBER}", other)
    assert refused.status_code == 403
    assert refused.json()["resourceType"] == "OperationOutcome"
    assert get(members, f"{EOB}/{mine}", other).status_code == 403
    assert get(members, f"{EOB}/no-such-id", other).status_code == 404


def test_paging_with_next_links(members: Tenants) -> None:
    member = "MEM-PAGING"
    for n in range(3):
        submit_for(members, f"pa-page-{n}", member=member)
    token = patient_token(members, member)
    first = get(members, f"{EOB}?_count=2", token).json()
    assert (first["total"], len(first["entry"])) == (3, 2)
    (next_url,) = [link["url"] for link in first["link"] if link["relation"] == "next"]
    assert next_url.startswith(members.base + EOB)
    second = requests.get(next_url, headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
    assert len(second["entry"]) == 1
    assert not [link for link in second["link"] if link["relation"] == "next"]
    seen = {e["resource"]["id"] for e in first["entry"] + second["entry"]}
    assert len(seen) == 3


def test_id_identifier_and_last_updated(members: Tenants) -> None:
    member = "MEM-FILTERS"
    pa_id = submit_for(members, "pa-filter-a", member=member)
    submit_for(members, "pa-filter-b", member=member)
    token = patient_token(members, member)
    ref = members.payer.pas.authorization(pa_id).pre_auth_ref

    def ids(query: str) -> set[str]:
        answer = get(members, f"{EOB}?{query}", token)
        assert answer.status_code == 200, answer.text
        return {e["resource"]["id"] for e in answer.json().get("entry", [])}

    assert ids(f"_id={pa_id}") == {pa_id}
    assert ids(f"identifier={PRE_AUTH_REF}|{ref}") == {pa_id}
    assert ids(f"identifier={TRACE_SYSTEM}|pa-filter-a") == {pa_id}
    assert ids("identifier=pa-filter-a") == {pa_id}
    assert len(ids("_lastUpdated=ge2020-01-01")) == 2
    assert ids("_lastUpdated=gt2999-01-01T00:00:00Z") == set()


def test_outside_the_window_only_pended_requests_stay_visible(members: Tenants) -> None:
    """CMS-0057-F: while active and for a year after the last change."""
    member = "MEM-WINDOW"
    old_decided = submit_for(members, "pa-old-decided", member=member)
    old_pended = submit_for(members, "pa-old-pended", member=member)
    long_ago = datetime.now(UTC) - timedelta(days=400)
    table = pas_authorizations
    with members.payer.database.transaction() as conn:
        conn.execute(
            sa.update(table)
            .where(table.c.pa_id.in_([old_decided, old_pended]))
            .values(updated_at=long_ago, status_changed_at=long_ago)
        )
        conn.execute(sa.update(table).where(table.c.pa_id == old_decided).values(status="decided"))
    token = patient_token(members, member)
    assert {e["resource"]["id"] for e in get(members, EOB, token).json()["entry"]} == {old_pended}
    assert get(members, f"{EOB}/{old_decided}", token).status_code == 404


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"exp": 1_000_000}, 401),
        ({"aud": "https://elsewhere.example/fhir"}, 401),
        ({"patient": ""}, 401),
        ({"iss": "https://unknown.example"}, 401),
        ({"key": private_jwk("ES384", "members-1")}, 401),  # same kid, another key
        ({"scope": "patient/Observation.rs"}, 403),
        ({"scope": "user/ExplanationOfBenefit.rs"}, 403),
        ({"scope": "patient/ExplanationOfBenefit.r"}, 403),  # read, not search
    ],
)
def test_bad_tokens_are_refused(members: Tenants, change: dict, status: int) -> None:
    token = patient_token(members, **change)
    answer = get(members, EOB, token)
    assert answer.status_code == status, answer.text
    assert answer.json()["resourceType"] == "OperationOutcome"


def test_no_token_and_v1_scopes(members: Tenants) -> None:
    assert get(members, EOB, None).status_code == 401
    assert get(members, EOB, "not-a-jwt").status_code == 401
    assert get(members, EOB, patient_token(members, scope="patient/ExplanationOfBenefit.read")).ok
    assert get(members, EOB, patient_token(members, scope="patient/*.rs")).ok


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("name=x", "unsupported search parameter"),
        ("_count=0", "_count"),
        ("_count=abc", "_count"),
        ("_lastUpdated=yesterday", "_lastUpdated"),
        ("_lastUpdated=ge2026-01-01T10:00:00", "time zone"),
        ("identifier=sys|", "identifier"),
        ("_count=1&_count=2", "once"),
        ("_count=²", "_count"),  # found by the fuzz test: a digit int() does not take
    ],
)
def test_malformed_searches_are_400(members: Tenants, query: str, words: str) -> None:
    answer = get(members, f"{EOB}?{query}", patient_token(members))
    assert answer.status_code == 400, answer.text
    assert words in answer.json()["issue"][0]["diagnostics"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    query=st.dictionaries(
        st.sampled_from(["patient", "_id", "identifier", "_lastUpdated", "_count", "_offset"]),
        st.text(max_size=16),
        max_size=4,
    )
)
def test_search_fuzz(members: Tenants, query: dict[str, str]) -> None:
    token = patient_token(members)
    answer = requests.get(
        members.base + EOB, params=query, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert answer.status_code < 500, answer.text
    assert answer.json()["resourceType"] in {"Bundle", "OperationOutcome"}
