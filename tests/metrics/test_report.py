"""The nine CMS-0057-F metrics over hand-counted requests (45 CFR 156.223(b)).

Counted by hand from ``tests/metrics/seed.py``: in 2026, by determination date, nine standard
requests count (S1-S7, S10, S13: S8 was cancelled, S9 cancelled undetermined, S11 decided in
2027, S12 still pended) and three expedited ones (E1-E3).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from davinci_pa.metrics.report import BadReportYear, MetricsReporter, UnknownPlan
from davinci_pa.metrics.rules import BadCountingRules, CountingRules
from davinci_pa.store import Database
from davinci_pa.store.pa_metrics import PaMetricsStore
from tests.metrics.seed import Request, seed

CONTRACT_STANDARD = [
    "requests", "approved", "approved_pct", "denied", "denied_pct", "approved_after_appeal",
    "approved_after_appeal_pct", "extended_then_approved", "extended_then_approved_pct",
    "decision_hours_mean", "decision_hours_median",
]  # fmt: skip
CONTRACT_EXPEDITED = [
    "requests", "approved", "approved_pct", "denied", "denied_pct",
    "decision_hours_mean", "decision_hours_median",
]  # fmt: skip


def test_the_nine_metrics_with_the_default_counting_rules(reporter: MetricsReporter) -> None:
    report = reporter.report(2026, now=datetime(2027, 3, 1, tzinfo=UTC))
    assert list(report)[:7] == [
        "year", "plan", "generated", "counting_rules", "items_requiring_prior_authorization",
        "standard", "expedited",
    ]  # fmt: skip
    assert (report["year"], report["plan"], report["generated"]) == (
        2026, None, "2027-03-01T00:00:00Z",
    )  # fmt: skip
    standard = report["standard"]
    assert list(standard)[: len(CONTRACT_STANDARD)] == CONTRACT_STANDARD
    assert {k: standard[k] for k in CONTRACT_STANDARD} == {
        "requests": 9,
        "approved": 6,  # S1 S2 S6 (partial) S7 S10 S13
        "approved_pct": 66.67,
        "denied": 3,  # S3 S4 S5
        "denied_pct": 33.33,
        "approved_after_appeal": 1,  # S3, of the appealed denials S3 and S4
        "approved_after_appeal_pct": 50.0,
        "extended_then_approved": 1,  # S7, of all nine requests
        "extended_then_approved_pct": 11.11,
        "decision_hours_mean": 52.11,  # (0+24+48+24+12+24+264+72+1) / 9
        "decision_hours_median": 24.0,
    }
    assert standard["partially_approved"] == 1
    assert standard["appealed_denials"] == 2
    expedited = report["expedited"]
    assert list(expedited)[: len(CONTRACT_EXPEDITED)] == CONTRACT_EXPEDITED
    assert {k: expedited[k] for k in CONTRACT_EXPEDITED} == {
        "requests": 3,
        "approved": 2,
        "approved_pct": 66.67,
        "denied": 1,
        "denied_pct": 33.33,
        "decision_hours_mean": 10.67,  # (2+24+6) / 3
        "decision_hours_median": 6.0,
    }
    assert report["suppressed"] == []
    assert "message" not in report


def test_distribution_and_volume_per_month(reporter: MetricsReporter) -> None:
    standard = reporter.report(2026)["standard"]
    assert standard["decision_hours_distribution"] == {
        "under 1 hour": 1,  # S1
        "1-24 hours": 2,  # S5 S13
        "1-3 days": 4,  # S2 S3 S4 S6
        "3-7 days": 1,  # S10
        "7-14 days": 1,  # S7
        "over 14 days": 0,
    }
    months = {m: n for m, n in standard["per_month"].items() if n}
    assert months == {"01": 1, "03": 2, "04": 2, "05": 1, "06": 1, "07": 1, "09": 1}
    assert len(standard["per_month"]) == 12


def test_december_requests_decided_in_january_count_in_the_year_decided(
    reporter: MetricsReporter,
) -> None:
    """S10 (received 2025-12-30, decided 2026-01-02) and S11 (2026-12-30 → 2027-01-03)."""
    assert reporter.report(2025)["standard"]["requests"] == 0
    in_2027 = reporter.report(2027)["standard"]
    assert (in_2027["requests"], in_2027["denied"], in_2027["decision_hours_mean"]) == (1, 1, 96)
    by_receipt = CountingRules(count_by="received")
    assert reporter.report(2025, rules=by_receipt)["standard"]["approved"] == 1  # S10
    received_2026 = reporter.report(2026, rules=by_receipt)["standard"]
    assert (received_2026["requests"], received_2026["denied"]) == (9, 4)  # S11 in, S10 out


def test_partial_approvals_can_count_as_denials(reporter: MetricsReporter) -> None:
    standard = reporter.report(2026, rules=CountingRules(partial_approval="denied"))["standard"]
    assert (standard["approved"], standard["approved_pct"]) == (5, 55.56)
    assert (standard["denied"], standard["denied_pct"]) == (4, 44.44)
    assert standard["approved_after_appeal_pct"] == 50.0  # S6 was not appealed


def test_appeal_and_extension_denominators(reporter: MetricsReporter) -> None:
    rules = CountingRules(appeal_denominator="denials", extension_denominator="extended")
    standard = reporter.report(2026, rules=rules)["standard"]
    assert standard["approved_after_appeal_pct"] == 33.33  # 1 of the 3 denials
    assert standard["extended_then_approved_pct"] == 100.0  # 1 of the 1 extended
    assert standard["extended"] == 1


def test_cancelled_requests_are_excluded_unless_asked(reporter: MetricsReporter) -> None:
    assert reporter.report(2026)["standard"]["requests"] == 9
    included = reporter.report(2026, rules=CountingRules(include_cancelled=True))
    assert included["standard"]["requests"] == 10  # S8; S9 was never determined


def test_one_plan(reporter: MetricsReporter) -> None:
    report = reporter.report(2026, plan="acme-health-plan")
    assert report["plan"] == "acme-health-plan"
    assert report["standard"]["requests"] == 8  # S13 is Medicare's
    assert report["expedited"]["requests"] == 3


def test_small_cells_are_suppressed_with_what_derives_from_them(
    reporter: MetricsReporter,
) -> None:
    report = reporter.report(2026, rules=CountingRules(suppress_below=2))
    expedited = report["expedited"]
    assert (expedited["denied"], expedited["denied_pct"]) == (None, None)
    assert (expedited["approved"], expedited["approved_pct"]) == (2, 66.67)
    assert report["standard"]["approved_after_appeal"] is None
    assert report["standard"]["approved_after_appeal_pct"] is None
    assert "expedited.denied" in report["suppressed"]


def test_an_empty_year_has_no_percentages_and_says_why(reporter: MetricsReporter) -> None:
    report = reporter.report(2019)
    assert report["message"] == "no prior-authorization determinations on record for 2019"
    for urgency in ("standard", "expedited"):
        figures = report[urgency]
        assert figures["requests"] == 0
        assert figures["approved_pct"] is None  # never 0 or NaN
        assert figures["decision_hours_median"] is None
    assert report["standard"]["extended_then_approved_pct"] is None
    assert report["items_requiring_prior_authorization"]  # the list does not depend on data


def test_all_denied(database: Database, reporter: MetricsReporter) -> None:
    seed(
        database,
        {f"D{n}": Request("2030-05-01T00:00", "2030-05-02T00:00", "denied") for n in range(3)},
    )
    standard = reporter.report(2030)["standard"]
    assert (standard["approved"], standard["approved_pct"]) == (0, 0.0)
    assert (standard["denied"], standard["denied_pct"]) == (3, 100.0)
    assert standard["approved_after_appeal_pct"] is None  # no appealed denials


def test_items_come_from_the_loaded_pack_without_drugs(reporter: MetricsReporter) -> None:
    items = reporter.report(2026)["items_requiring_prior_authorization"]
    topics = {i["topic"] for i in items}
    assert {"power-mobility", "knee-arthroplasty", "non-emergency-ambulance"} <= topics
    assert "home-oxygen" not in topics  # no-auth
    assert not any("rxnorm" in i["system"] for i in items)
    assert {"system", "code", "display", "topic"} <= set(items[0])
    medicare = reporter.report(2026, plan="medicare-demo")["items_requiring_prior_authorization"]
    assert "knee-arthroplasty" not in {i["topic"] for i in medicare}  # Acme's only


def test_bad_year_and_unknown_plan(reporter: MetricsReporter) -> None:
    with pytest.raises(BadReportYear, match="calendar year"):
        reporter.report(99999)
    with pytest.raises(UnknownPlan, match="acme-health-plan"):
        reporter.report(2026, plan="nobody")


@pytest.mark.parametrize(
    "data",
    [{"count_by": "month"}, {"suppress_below": -1}, {"include_cancelled": "yes"}, {"x": 1}, []],
)
def test_bad_counting_rules_name_the_option(data: object) -> None:
    with pytest.raises(BadCountingRules, match="counting rule"):
        CountingRules.from_json(data)


def test_counting_rules_are_printed_with_the_report(reporter: MetricsReporter) -> None:
    rules = reporter.report(2026)["counting_rules"]
    assert rules["count_by"] == "decided"
    assert rules["partial_approval"] == "approved"
    assert "urgent" in rules["expedited"]
    assert "first determination" in rules["decision_time"]


def test_the_store_reports_plans_on_record(database: Database, reporter: MetricsReporter) -> None:
    assert PaMetricsStore(database).payer_ids() == ["acme-health-plan", "medicare-demo"]
