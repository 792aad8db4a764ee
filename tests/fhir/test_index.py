"""ResourceIndex: every reference form found in hook requests."""

from __future__ import annotations

import pytest

from davinci_pa.fhir.index import ResourceIndex, reference_key
from tests._shared import load_shared_json

ORDER = {
    "resourceType": "ServiceRequest",
    "id": "sr1",
    "contained": [{"resourceType": "Medication", "id": "c1"}],
}
BUNDLE = {
    "resourceType": "Bundle",
    "id": "b1",
    "type": "collection",
    "entry": [
        {"fullUrl": "https://ehr.example/fhir/ServiceRequest/sr1", "resource": ORDER},
        {"fullUrl": "urn:uuid:6f1b", "resource": {"resourceType": "Patient", "id": "p1"}},
        {
            "resource": {
                "resourceType": "Bundle",
                "entry": [{"resource": {"resourceType": "Device", "id": "d1"}}],
            }
        },
        {"resource": {"resourceType": "Patient", "id": "p1", "gender": "later copy"}},
        {"fullUrl": "urn:uuid:no-id", "resource": {"resourceType": "Location"}},
    ],
}


def _index(**kwargs: object) -> ResourceIndex:
    index = ResourceIndex(base_url="https://ehr.example/fhir/", **kwargs)  # type: ignore[arg-type]
    index.add(BUNDLE)
    return index


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("ServiceRequest/sr1", "ServiceRequest/sr1"),
        ({"reference": "ServiceRequest/sr1"}, "ServiceRequest/sr1"),
        ("ServiceRequest/sr1/_history/3", "ServiceRequest/sr1"),
        ("https://ehr.example/fhir/ServiceRequest/sr1", "ServiceRequest/sr1"),
        ("https://ehr.example/fhir/Patient/p1", "Patient/p1"),
        ("https://other.example/r4/Device/d1", "Device/d1"),
        ("urn:uuid:6f1b", "Patient/p1"),
        ("urn:uuid:no-id", "Location/None"),
        ("Device/d1", "Device/d1"),
        ("Bundle/b1", "Bundle/b1"),
        ("Device/none", None),
        ("urn:uuid:unknown", None),
        ("#c1", None),
        ("", None),
        (None, None),
        ({"display": "no reference"}, None),
        ("not a reference", None),
    ],
)
def test_resolve(reference: object, expected: str | None) -> None:
    found = _index().resolve(reference)
    key = None if found is None else f"{found['resourceType']}/{found.get('id')}"
    assert key == expected


def test_first_added_wins() -> None:
    found = _index().resolve("Patient/p1")
    assert found is not None
    assert "gender" not in found


def test_contained_references_need_their_container() -> None:
    index = _index()
    assert index.resolve("#c1", container=ORDER) == {"resourceType": "Medication", "id": "c1"}
    assert index.resolve("#", container=ORDER) is ORDER
    assert index.resolve("#zz", container=ORDER) is None


def test_foreign_bases_can_be_refused() -> None:
    index = _index(match_foreign_bases=False)
    assert index.resolve("https://other.example/r4/Device/d1") is None
    assert index.resolve("https://ehr.example/fhir/Device/d1") is not None


@pytest.mark.parametrize(
    ("reference", "key"),
    [
        ("Patient/1", "Patient/1"),
        ("https://x/fhir/Patient/1/_history/2", "Patient/1"),
        ("Patient/1?x=y", "Patient/1"),
        ("patient/1", None),
        ("#x", None),
        ("urn:uuid:1", None),
        ("Patient", None),
    ],
)
def test_reference_key(reference: str, key: str | None) -> None:
    assert reference_key(reference) == key


def test_transaction_bundle_is_indexed() -> None:
    bundle = load_shared_json("fixtures", "crd", "inferno", "crd_transaction_bundle.json")
    index = ResourceIndex()
    index.add(bundle)
    assert len(index) == len(
        {(e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle["entry"]}
    )
    assert index.resolve("Coverage/cov015") is not None
    assert index.get("Patient", "pat015") is not None
