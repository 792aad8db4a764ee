"""Finding 1: an update or cancellation touches only an authorization its sender may act on.

The rule (docs/pas.md §Who may act on an authorization): the submitting client itself, or a
client registered for the authorization's provider organization.
"""

from __future__ import annotations

from typing import Any

from tests.security.conftest import CLINIC_B, Tenants, claim_bundle


def _actions(bundle: dict[str, Any]) -> set[str]:
    return {
        ext["valueCodeableConcept"]["coding"][0]["code"]
        for item in bundle["entry"][0]["resource"].get("item", [])
        for adj in item["adjudication"]
        for action in adj["extension"]
        for ext in action["extension"]
        if ext["url"].endswith("reviewActionCode")
    }


def test_cancelling_another_clinics_claim_is_refused_and_changes_nothing(
    tenants: Tenants,
) -> None:
    assert tenants.post("clinic-a", "/fhir/Claim/$submit", claim_bundle("own-1")).status_code == 200
    before = tenants.authorization("own-1", "clinic-a")

    attack = claim_bundle("steal-1", npi=CLINIC_B, related="own-1")
    answer = tenants.post("clinic-b", "/fhir/Claim/$submit", attack)

    assert answer.status_code == 403
    assert answer.json()["resourceType"] == "OperationOutcome"
    assert tenants.authorization("own-1", "clinic-a") == before
    event = tenants.newest_audit()
    assert (event.action, event.outcome, event.status, event.actor) == (
        "pas.submit",
        "forbidden",
        403,
        "clinic-b",
    )


def test_a_client_without_organizations_cannot_cancel_others_claims(tenants: Tenants) -> None:
    assert tenants.post("clinic-a", "/fhir/Claim/$submit", claim_bundle("own-2")).status_code == 200
    before = tenants.authorization("own-2", "clinic-a")
    answer = tenants.post("loner", "/fhir/Claim/$submit", claim_bundle("steal-2", related="own-2"))
    assert answer.status_code == 403
    assert tenants.authorization("own-2", "clinic-a") == before


def test_the_submitter_may_cancel_its_own_claim(tenants: Tenants) -> None:
    assert tenants.post("loner", "/fhir/Claim/$submit", claim_bundle("own-3")).status_code == 200
    original = tenants.authorization("own-3", "loner")
    answer = tenants.post("loner", "/fhir/Claim/$submit", claim_bundle("own-3c", related="own-3"))
    assert answer.status_code == 200, answer.text
    assert _actions(answer.json()) == {"C"}
    cancelled = tenants.authorization("own-3c", "loner")  # the update's identifier now
    assert (cancelled.pa_id, cancelled.submitter, cancelled.status) == (
        original.pa_id,
        "loner",
        "cancelled",
    )


def test_submitting_for_an_organization_the_client_is_not_registered_for_is_refused(
    tenants: Tenants,
) -> None:
    answer = tenants.post("clinic-b", "/fhir/Claim/$submit", claim_bundle("wrong-org"))
    assert answer.status_code == 403
    assert "not registered for the Claim's provider organization" in answer.text


def test_inquiry_finds_only_authorizations_the_client_may_see(tenants: Tenants) -> None:
    """PAS spec-53: an inquiry needs the member id and the provider's NPI to match, and the
    asking system must be one that may see the authorization."""
    assert tenants.post("clinic-a", "/fhir/Claim/$submit", claim_bundle("seen-1")).ok
    inquiry = claim_bundle("seen-1")  # same Claim identifier, member and provider

    own = tenants.post("clinic-a", "/fhir/Claim/$inquire", inquiry).json()
    foreign = tenants.post("loner", "/fhir/Claim/$inquire", inquiry).json()

    assert len(own["parameter"]) == 1
    assert foreign.get("parameter", []) == []


def test_same_claim_identifier_from_two_clients_stays_two_authorizations(
    tenants: Tenants,
) -> None:
    """Finding 7's sibling: identifiers are unique per submitter, never shared across them."""
    assert tenants.post("loner", "/fhir/Claim/$submit", claim_bundle("shared-1")).status_code == 200
    assert (
        tenants.post("clinic-a", "/fhir/Claim/$submit", claim_bundle("shared-1")).status_code == 200
    )
    assert (
        tenants.authorization("shared-1", "loner").pa_id
        != tenants.authorization("shared-1", "clinic-a").pa_id
    )
