"""Rule evaluation: topic lookup by code and payer, static answers, CDS-Library CQL mapping."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from davinci_pa.cql import BundleDataProvider
from davinci_pa.errors import ConfigurationError
from davinci_pa.fhir.codes import HCPCS, Code
from davinci_pa.rules.cql_evaluator import CqlTopicEvaluator, decision_from
from davinci_pa.rules.evaluation import RuleBook, RuleContext
from davinci_pa.rules.loader import load_rule_pack
from davinci_pa.rules.model import Decision, Topic
from tests._shared import REPO

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
TOPIC = Topic(
    "t",
    "T",
    "T",
    Decision("covered", "auth-needed", doc_needed=("clinical",), doc_purpose=("withpa",)),
    questionnaires=("http://q|1",),
)


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ({}, ("covered", "auth-needed", ("clinical",), ("withpa",))),
        (
            {"PRIORAUTH_REQUIRED": False, "DOCUMENTATION_REQUIRED": False},
            ("covered", "no-auth", (), ()),
        ),
        (
            {"PRIORAUTH_REQUIRED": False, "DOCUMENTATION_REQUIRED": True},
            ("covered", "no-auth", ("clinical",), ()),
        ),
        ({"APPROVE_PRIORAUTH": True}, ("covered", "satisfied", ("clinical",), ())),
        (
            {"COVERED": "not-covered", "REASON": "Not a covered benefit."},
            ("not-covered", None, (), ()),
        ),
        (
            {"COVERED": "conditional", "INFO_NEEDED": ["performer"], "PRIORAUTH_REQUIRED": True},
            ("conditional", "auth-needed", ("clinical",), ("withpa",)),
        ),
    ],
    ids=["all-null", "no-pa-no-doc", "doc-only", "approve", "not-covered", "conditional"],
)
def test_contract_defines_map_to_a_decision(
    results: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    d = decision_from(results, TOPIC)
    assert (d.covered, d.pa_needed, d.doc_needed, d.doc_purpose) == expected


def test_questionnaire_url_from_cql_replaces_the_topic_list() -> None:
    d = decision_from(
        {"DOCUMENTATION_REQUIRED": True, "RESULT_QuestionnaireOrderUrl": "http://x|2"}, TOPIC
    )
    assert d.questionnaires == ("http://x|2",)
    assert decision_from({"DOCUMENTATION_REQUIRED": False}, TOPIC).questionnaires == ()


def test_shipped_pack_runs_its_cql() -> None:
    """An E0250 hospital bed for a member of the demo Medicare payer goes through CQL."""
    folder = REPO / "cql_rules"
    pack = load_rule_pack(folder)
    book = RuleBook(pack, evaluator=CqlTopicEvaluator.for_pack(folder, pack))
    order = {
        "resourceType": "DeviceRequest",
        "id": "d1",
        "status": "draft",
        "intent": "order",
        "codeCodeableConcept": {"coding": [{"system": HCPCS, "code": "E0250"}]},
        "subject": {"reference": "Patient/p1"},
    }
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "1950-01-01"}
    records = BundleDataProvider([patient, order], patient_id="p1")
    context = RuleContext("order-sign", order, NOW, patient=patient, data=records)
    payer = pack.payer("medicare-demo")
    assert payer is not None
    outcome = book.decide([Code(HCPCS, "E0250")], payer, context)
    assert outcome.topic is not None
    assert outcome.topic.id == "hospital-beds"
    assert outcome.source.startswith("cql:HospitalBedsRule")


def test_codes_no_topic_governs_get_the_default_answer() -> None:
    pack = load_rule_pack(REPO / "cql_rules")
    payer = pack.payers[0]
    context = RuleContext("order-sign", {"resourceType": "ServiceRequest"}, NOW)
    outcome = RuleBook(pack).decide([Code(HCPCS, "ZZZZZ")], payer, context)
    assert (outcome.source, outcome.decision.covered, outcome.decision.pa_needed) == (
        "default",
        "covered",
        "no-auth",
    )


def test_loader_reports_every_problem_with_its_file(tmp_path: Path) -> None:
    (tmp_path / "payers.json").write_text(json.dumps({"payers": [{"id": "p", "name": "P"}]}))
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "topic.json").write_text(
        json.dumps(
            {
                "id": "bad",
                "title": "Bad",
                "codes": [{"system": "hcpcs", "codes": ["E1"]}],
                "decision": {"covered": "conditional", "pa-needed": "no-auth"},
                "policies": [{"title": "x", "url": "not a url"}],
            }
        )
    )
    with pytest.raises(ConfigurationError) as raised:
        load_rule_pack(tmp_path)
    problems = "\n".join(raised.value.details["problems"])
    assert "bad/topic.json: decision: crd-ci-q3" in problems
    assert "bad/topic.json: policies[0]" in problems
