"""Every rendered PDex Prior Authorization validates against PDex 2.1.0 (pdex-priorauthorization).

Rendered for each state a request goes through: pended, approved, denied with reasons,
modified (fewer units), extended, cancelled; and the PDex package's own examples replayed
through the same validator.
"""

from __future__ import annotations

import json
import tarfile
from typing import Any

import pytest

from davinci_pa.access.eob import PRIOR_AUTHORIZATION
from davinci_pa.fhir.validation.validator import Validator
from tests._shared import shared_path
from tests.access.conftest import submit_for
from tests.security.conftest import Tenants


@pytest.fixture(scope="module")
def pdex() -> Validator:
    return Validator.from_packages(
        [shared_path("igs", "davinci-pdex-2.1.0.tgz"), shared_path("igs", "davinci-hrex-1.0.0.tgz")]
    )


def _problems(validator: Validator, resource: dict[str, Any]) -> list[str]:
    return [str(i) for i in validator.validate(resource, PRIOR_AUTHORIZATION)
            if i.severity == "error"]  # fmt: skip


def _rendered(members: Tenants, pa_id: str) -> dict[str, Any]:
    payer = members.payer
    return payer.prior_authorizations.resource(payer.pas.authorization(pa_id))


def test_every_state_renders_a_valid_pdex_prior_authorization(
    members: Tenants, pdex: Validator
) -> None:
    deny = {"action": "A3", "reason": "Not medically necessary.", "reasonCodes": ["T1"]}
    modify = {
        "action": "A6", "reason": "Fewer units.", "reasonCodes": ["T1"],
        "authorized": {"productOrService": {"coding": [
            {"system": "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "code": "K0800"}
        ]}, "quantity": {"value": 1}},
    }  # fmt: skip
    states: dict[str, str] = {}
    states["pended"] = submit_for(members, "pdex-pended")
    states["approved"] = submit_for(members, "pdex-approved", code="E0250")
    denied = submit_for(members, "pdex-denied")
    decision = {"items": [{"sequence": 1, **deny}, {"sequence": 2, **modify}]}
    assert members.post("reviewer", f"/admin/pas/{denied}/decision", decision).ok
    states["denied and modified"] = denied
    extended = submit_for(members, "pdex-extended", urgent=False)
    assert members.post("reviewer", f"/admin/pas/{extended}/extension", {"reason": "Records."}).ok
    states["extended"] = extended
    cancelled = submit_for(members, "pdex-cancelled")
    submit_for(members, "pdex-cancel", related="pdex-cancelled")
    states["cancelled"] = cancelled
    for state, pa_id in states.items():
        eob = _rendered(members, pa_id)
        assert _problems(pdex, eob) == [], state
    eob = _rendered(members, denied)
    assert eob["processNote"][0]["text"] == "Not medically necessary."
    units = [i["adjudication"][0]["value"] for i in eob["item"]]
    assert units == [0.0, 1.0]
    assert _rendered(members, cancelled)["status"] == "cancelled"


def test_the_pdex_examples_replay_through_the_validator(pdex: Validator) -> None:
    """The package's ExplanationOfBenefit and Group examples (the Parameters examples are
    checked with $member-match)."""
    package = shared_path("igs", "davinci-pdex-2.1.0.tgz")
    with tarfile.open(package) as archive:
        examples = [
            json.load(archive.extractfile(m))  # type: ignore[arg-type]
            for m in archive.getmembers()
            if m.name.startswith("package/example/") and m.name.endswith(".json")
        ]
    checked = [r for r in examples if r.get("resourceType") in {"ExplanationOfBenefit", "Group"}]
    assert len(checked) >= 5
    for resource in checked:
        problems = [str(i) for i in pdex.validate(resource) if i.severity == "error"]
        assert problems == [], resource["id"]
