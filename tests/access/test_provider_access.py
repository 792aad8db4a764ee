"""Provider Access over HTTP (CMS-0057-F 45 CFR 156.222): attribution Groups, opt-out, and the
Bulk Data export of the members' PDex Prior Authorizations (denied ones included)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from davinci_pa.fhir.validation.validator import Validator
from tests._shared import shared_path
from tests.access.conftest import submit_for
from tests.security.conftest import Tenants


def _group(*members: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Group",
        "type": "person",
        "actual": True,
        "name": "Members attributed to Clinic A",
        "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "8189991234"}],
        "member": [{"entity": {"reference": f"Patient/{m}"}} for m in members],
        **extra,
    }


def _get(tenants: Tenants, client: str, url: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {tenants.token(client)}", "Prefer": "respond-async"}
    target = url if url.startswith("http") else tenants.base + url
    return requests.get(target, headers=headers, timeout=30)


def _put(tenants: Tenants, path: str, body: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {tenants.token('attribution')}",
               "Content-Type": "application/fhir+json"}  # fmt: skip
    return requests.put(tenants.base + path, data=json.dumps(body), headers=headers, timeout=30)


def _finished(tenants: Tenants, client: str, status_url: str) -> requests.Response:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        answer = _get(tenants, client, status_url)
        if answer.status_code != 202:
            return answer
        assert answer.headers["X-Progress"] in {"accepted", "running"}
        time.sleep(0.2)
    raise AssertionError("the export did not finish in 30 s")


def test_group_export_with_opt_out_and_denials(members: Tenants) -> None:
    approved = submit_for(members, "prov-approved", member="MEM-P1", code="E0250")
    denied = submit_for(members, "prov-denied", member="MEM-P2")
    deny = [{"sequence": s, "action": "A3", "reason": "Not necessary.", "reasonCodes": ["T1"]}
            for s in (1, 2)]  # fmt: skip
    assert members.post("reviewer", f"/admin/pas/{denied}/decision", {"items": deny}).ok
    opted_out = submit_for(members, "prov-opted-out", member="MEM-P3")
    submit_for(members, "prov-not-attributed", member="MEM-P4")
    members.payer.provider_access.records.choose(
        "MEM-P3", datetime.now(UTC), provider_access_opt_out=True
    )
    created = members.post("attribution", "/fhir/Group", _group("MEM-P1", "MEM-P2", "MEM-P3"))
    assert created.status_code == 201, created.text
    group_id = created.json()["id"]
    assert created.headers["Location"].endswith(f"/fhir/Group/{group_id}")
    read = _get(members, "attribution", f"/fhir/Group/{group_id}").json()
    counted = [e for e in read["extension"] if e["url"].endswith("base-ext-members-opted-out")]
    assert counted[0]["valueQuantity"]["value"] == 1

    kick = _get(members, "provider-a", f"/fhir/Group/{group_id}/$davinci-data-export")
    assert kick.status_code == 202, kick.text
    manifest = _finished(members, "provider-a", kick.headers["Content-Location"])
    assert manifest.status_code == 200, manifest.text
    body = manifest.json()
    assert body["requiresAccessToken"] is True
    (output,) = body["output"]
    assert (output["type"], output["count"]) == ("ExplanationOfBenefit", 2)
    lines = _get(members, "provider-a", output["url"]).text.splitlines()
    exported = {json.loads(line)["id"] for line in lines}
    assert exported == {approved, denied}  # denied included, the opted-out member left out
    assert opted_out not in exported
    assert members.newest_audit().action == "provider-access.disclosure"
    (event,) = members.payer.disclosures.of_member("MEM-P2")  # BALP PrivacyDisclosure
    assert event["purposeOfEvent"][0]["coding"][0]["code"] == "TREAT"
    assert event["agent"][1]["who"]["display"] == "provider-a"
    assert members.payer.disclosures.of_member("MEM-P3") == []  # opted out: nothing disclosed

    validator = Validator.from_packages([shared_path("igs", "davinci-pdex-2.1.0.tgz"),
                                         shared_path("igs", "davinci-hrex-1.0.0.tgz")])  # fmt: skip
    for line in lines:
        problems = [i for i in validator.validate(json.loads(line)) if i.severity == "error"]
        assert problems == []

    other = _get(members, "provider-b", kick.headers["Content-Location"])
    assert other.status_code == 404  # another system's export is not there for it


def test_since_and_put_replaces_members(members: Tenants) -> None:
    submit_for(members, "prov-since", member="MEM-S1")
    assert _put(members, "/fhir/Group/clinic-s", _group("MEM-S1")).status_code == 201
    assert _put(members, "/fhir/Group/clinic-s", _group("MEM-S1")).status_code == 200
    kick = _get(members, "provider-a", "/fhir/Group/clinic-s/$export?_since=2999-01-01T00:00:00Z")
    manifest = _finished(members, "provider-a", kick.headers["Content-Location"]).json()
    assert manifest["output"][0]["count"] == 0
    assert _put(members, "/fhir/Group/clinic-s", _group()).status_code == 200
    kick = _get(members, "provider-a", "/fhir/Group/clinic-s/$export")
    assert _finished(members, "provider-a", kick.headers["Content-Location"]).json()[
        "output"][0]["count"] == 0  # fmt: skip


def test_cancel_deletes_the_export(members: Tenants) -> None:
    assert _put(members, "/fhir/Group/clinic-c", _group("MEM-C1")).status_code == 201
    kick = _get(members, "provider-a", "/fhir/Group/clinic-c/$export")
    status_url = kick.headers["Content-Location"]
    headers = {"Authorization": f"Bearer {members.token('provider-a')}"}
    assert requests.delete(status_url, headers=headers, timeout=30).status_code == 202
    assert _get(members, "provider-a", status_url).status_code == 404


@pytest.mark.parametrize(
    ("client", "path", "status"),
    [
        ("provider-a", "/fhir/Group/no-such-group/$davinci-data-export", 404),
        ("provider-a", "/fhir/Group/clinic-s/$export?_type=Patient", 400),
        ("provider-a", "/fhir/Group/clinic-s/$export?_since=yesterday", 400),
        ("provider-a", "/fhir/Group/clinic-s/$export?_outputFormat=text/csv", 400),
        ("no-role", "/fhir/Group/clinic-s/$export", 403),
        ("clinic-a", "/fhir/Group/clinic-s/$export", 403),
        ("provider-a", "/bulk/status/no-such-job", 404),
        ("provider-a", "/bulk/files/no-such-job/ExplanationOfBenefit.ndjson", 404),
    ],
)
def test_bad_exports(members: Tenants, client: str, path: str, status: int) -> None:
    _put(members, "/fhir/Group/clinic-s", _group("MEM-S1"))
    answer = _get(members, client, path)
    assert answer.status_code == status, answer.text
    assert answer.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"resourceType": "Patient"}, "FHIR Group"),
        ({**_group("A"), "actual": False}, "actual true"),
        ({**_group(), "member": [{"entity": {"reference": "Practitioner/1"}}]}, "member[0]"),
        ({**_group("A"), "id": "other"}, "differs"),
    ],
)
def test_bad_groups_are_400(members: Tenants, body: dict[str, Any], words: str) -> None:
    answer = _put(members, "/fhir/Group/clinic-bad", body)
    assert answer.status_code == 400, answer.text
    assert words in answer.json()["issue"][0]["diagnostics"]


def test_groups_need_the_group_scope(members: Tenants) -> None:
    answer = members.post("clinic-a", "/fhir/Group", _group("MEM-X"))
    assert answer.status_code == 403


def test_members_choose_records_and_prints_the_choice(
    members: Tenants, capsys: pytest.CaptureFixture[str]
) -> None:
    from davinci_pa.cli import main

    url = str(members.payer.database.engine.url)
    assert main(["members", "choose", "MEM-CLI", "--provider-access", "opt-out",
                 "--database-url", url]) == 0  # fmt: skip
    assert (
        "MEM-CLI: Provider Access opted out; Payer-to-Payer not opted in" in capsys.readouterr().out
    )
    assert main(["members", "choose", "MEM-CLI", "--payer-to-payer", "opt-in",
                 "--database-url", url]) == 0  # fmt: skip
    assert "opted out; Payer-to-Payer opted in" in capsys.readouterr().out
    assert members.payer.provider_access.records.choices("MEM-CLI") == (True, True)


def test_post_kick_off_takes_parameters(members: Tenants) -> None:
    """Bulk Data kick-off by POST with a Parameters body (``_since``, ``_type``)."""
    _put(members, "/fhir/Group/clinic-post", _group("MEM-S1"))
    path = "/fhir/Group/clinic-post/$davinci-data-export"
    good = {"resourceType": "Parameters",
            "parameter": [{"name": "_type", "valueString": "ExplanationOfBenefit"}]}  # fmt: skip
    assert members.post("provider-a", path, good).status_code == 202
    bad_type = {"resourceType": "Parameters",
                "parameter": [{"name": "_type", "valueString": "Patient"}]}  # fmt: skip
    assert members.post("provider-a", path, bad_type).status_code == 400
    not_parameters = members.post("provider-a", path, {"resourceType": "Bundle"})
    assert not_parameters.status_code == 400
