"""DTR records on SQLite and PostgreSQL: responses found by order and by coverage-assertion-id.

DTR 2.2 §QuestionnaireResponse: what the DTR client returns is kept with the order it
documents and the CRD ``coverage-assertion-id`` it answers, for the PAS request builder. The
last test runs the whole chain through one :class:`~davinci_pa.payer.Payer`: a CRD order-sign
call, ``$questionnaire-package`` with its assertion id as ``context``, then intake.
"""

from __future__ import annotations

import uuid
from typing import Any

from davinci_pa.config import PayerOptions, SecurityOptions
from davinci_pa.crd.coverage_info import COVERAGE_INFO_URL
from davinci_pa.payer import Caller, Payer
from davinci_pa.store import Database
from davinci_pa.store.dtr_records import DtrRecords, ResponseRecord
from tests._shared import REPO
from tests.dtr.helpers import bundles, complete, coverage, device_order, package_request

FORM = "http://davinci-pa.org/fhir/Questionnaire/power-mobility|1.0.0"


def _record(response_id: str, kind: str, order: str, assertion: str | None) -> ResponseRecord:
    resource = {"resourceType": "QuestionnaireResponse", "id": response_id, "status": "completed"}
    return ResponseRecord(
        response_id, FORM, "completed", kind, resource, "Patient/p1", order, "Coverage/c", assertion
    )


def test_received_responses_are_found_by_order_and_assertion_newest_first(
    database: Database,
) -> None:
    records = DtrRecords(database)
    records.save([_record("r1", "draft", "DeviceRequest/o1", "a-1")])
    records.save([_record("r1", "received", "DeviceRequest/o1", "a-1")])
    records.save([_record("r2", "received", "DeviceRequest/o1", None)])
    records.save([_record("r3", "received", "ServiceRequest/s9", "a-2")])
    assert [r.response_id for r in records.for_order("DeviceRequest/o1")] == ["r2", "r1"]
    assert [r.response_id for r in records.for_assertion("a-1")] == ["r1"]
    assert [r.response_id for r in records.for_assertion("a-2")] == ["r3"]
    assert records.for_order("DeviceRequest/none") == []
    latest_draft = records.latest("r1", kind="draft")
    assert latest_draft is not None
    assert latest_draft.kind == "draft"
    assert dict(latest_draft.resource)["id"] == "r1"


def test_error_logs_are_kept(database: Database) -> None:
    records = DtrRecords(database)
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error"}]}
    records.log_errors([FORM], [outcome], "client-1")
    records.log_errors([], [outcome, outcome], None)
    assert records.error_log_count() == 2


def _order_sign(payer: Payer, order: dict[str, Any]) -> str:
    """Run a CRD order-sign call; return the coverage-assertion-id the payer issued."""
    medicare = {"system": "http://davinci-pa.org/fhir/sid/payer-id", "value": "DEMO-MEDICARE"}
    body = {
        "hook": "order-sign",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/dr1",
            "patientId": "p1",
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": order}],
            },
        },
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": "p1", "birthDate": "1950-05-01"},
            "coverage": {**coverage(), "payor": [{"identifier": medicare}]},
        },
        "extension": {"davinci-crd.requestedVersion": "2.2"},
    }
    answer = payer.handle_hook("order-sign-crd", body, caller=Caller(None))
    resource = answer["systemActions"][0]["resource"]
    info = next(e for e in resource["extension"] if e["url"] == COVERAGE_INFO_URL)
    parts = {p["url"]: p for p in info["extension"]}
    assert parts["questionnaire"]["valueCanonical"] == FORM
    return str(parts["coverage-assertion-id"]["valueString"])


def test_a_crd_assertion_links_the_package_draft_and_the_received_response(
    database: Database,
) -> None:
    options = PayerOptions(security=SecurityOptions(verify_jwt=False))
    payer = Payer.from_rule_pack(REPO / "cql_rules", database=database, options=options)
    order = device_order("K0823")
    assertion_id = _order_sign(payer, order)

    output = payer.dtr.questionnaire_package(
        package_request(order, context={"valueString": assertion_id})
    )
    draft = bundles(output)[0]["entry"][-1]["resource"]
    assert draft["questionnaire"] == FORM
    form = payer.dtr.content.definition(FORM)
    assert form is not None
    stored = payer.dtr.receive_response(complete(draft, form), client="dtr-app")

    for found in (
        payer.dtr.responses(assertion_id=assertion_id),
        payer.dtr.responses(order_ref="DeviceRequest/o1"),
    ):
        assert [r["id"] for r in found] == [draft["id"]]
        assert found[0] == stored
        assert found[0]["status"] == "completed"
    assert payer.dtr.responses(assertion_id=str(uuid.uuid4())) == []
    records = payer.dtr.records
    assert records is not None
    received = records.latest(draft["id"], kind="received")
    assert received is not None
    assert (received.order_ref, received.coverage_ref, received.client) == (
        "DeviceRequest/o1",
        "Coverage/cov1",
        "dtr-app",
    )
