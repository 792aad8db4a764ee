"""Coverage and payer matching (CRD resp-44, resp-45, hook-13)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from davinci_pa.crd.coverage import match_coverage, payer_of
from davinci_pa.errors import PayerNotServed
from davinci_pa.rules.model import Payer

ACME = Payer(
    "acme", "Acme Health Plan", frozenset({("urn:payer", "ACME")}), frozenset({"acme health plan"})
)
TODAY = date(2026, 11, 23)
ORGS = {
    "Organization/acme-org": {
        "resourceType": "Organization",
        "id": "acme-org",
        "name": "Acme Health Plan",
    }
}


def coverage(
    cid: str = "c1",
    status: str = "active",
    payor: dict[str, Any] | None = None,
    period: dict[str, str] | None = None,
    order: int | None = None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Coverage",
        "id": cid,
        "status": status,
        "payor": [payor or {"identifier": {"system": "urn:payer", "value": "ACME"}}],
    }
    if period:
        resource["period"] = period
    if order is not None:
        resource["order"] = order
    return resource


def match(
    coverages: list[dict[str, Any]], *, order: dict[str, Any] | None = None, member: bool = True
):
    return match_coverage(
        order or {},
        member_found=member,
        coverages=coverages,
        payers=[ACME],
        resolve=ORGS.get,
        today=TODAY,
    )


@pytest.mark.parametrize(
    ("payor", "served"),
    [
        ({"identifier": {"system": "urn:payer", "value": "ACME"}}, True),
        ({"identifier": {"system": "urn:payer", "value": "OTHER"}}, False),
        ({"reference": "Organization/acme-org"}, True),
        ({"display": "ACME HEALTH PLAN"}, True),
        ({"reference": "Organization/unknown"}, False),
    ],
    ids=["identifier", "other-identifier", "organization-name", "display", "unresolvable"],
)
def test_payer_is_recognised_by_identifier_or_name(payor: dict[str, Any], served: bool) -> None:
    assert (payer_of(coverage(payor=payor), [ACME], ORGS.get) is ACME) is served


def test_unknown_member_is_no_member_found() -> None:
    assert match([], member=False).reason == "no-member-found"


@pytest.mark.parametrize(
    "coverages",
    [
        [],
        [coverage(status="cancelled")],
        [coverage(period={"end": "2026-01-31"})],
        [coverage(period={"start": "2027-01-01"})],
    ],
    ids=["none", "cancelled", "ended", "not-started"],
)
def test_no_active_coverage(coverages: list[dict[str, Any]]) -> None:
    assert match(coverages).reason == "no-active-coverage"


def test_two_equally_ranked_coverages_are_not_a_single_coverage() -> None:
    assert match([coverage("a"), coverage("b")]).reason == "coverage-not-found"


def test_coverage_order_picks_the_primary() -> None:
    result = match([coverage("second", order=2), coverage("first", order=1)])
    assert result.reference == "Coverage/first"
    assert result.payer is ACME


def test_order_insurance_wins_over_patient_coverages() -> None:
    listed = coverage("listed")
    order = {"insurance": [{"reference": "Coverage/listed"}]}
    result = match_coverage(
        order,
        member_found=True,
        coverages=[coverage("a"), coverage("b")],
        payers=[ACME],
        resolve={"Coverage/listed": listed}.get,
        today=TODAY,
    )
    assert result.reference == "Coverage/listed"


def test_payer_not_served_is_an_error_naming_the_payer() -> None:
    with pytest.raises(PayerNotServed) as raised:
        match([coverage(payor={"identifier": {"system": "urn:payer", "value": "OTHER"}})])
    assert "urn:payer|OTHER" in raised.value.details["problems"][0]
