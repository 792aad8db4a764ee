"""CRD 2.0.1 and 2.2 shapes of the same decision (CRD 2.2 §Changes)."""

from __future__ import annotations

import pytest

from davinci_pa.crd.versions import CRD_2_0, CRD_2_2, in_version, select_version
from davinci_pa.errors import InvalidHookRequest
from davinci_pa.rules.model import Decision, Reason
from davinci_pa.rules.vocabulary import check_decision


def test_2_2_decisions_pass_through_unchanged() -> None:
    decision = Decision("indeterminate", "indeterminate", reasons=(Reason("down", "technical"),))
    assert in_version(decision, CRD_2_2) is decision


@pytest.mark.parametrize(
    ("decision", "covered", "pa", "docs", "info"),
    [
        (
            Decision("indeterminate", "indeterminate", reasons=(Reason("x", "technical"),)),
            "conditional",
            "conditional",
            (),
            ("OTH",),
        ),
        (
            Decision(
                "covered", "auth-needed", doc_needed=("clinical", "admin"), doc_purpose=("withpa",)
            ),
            "covered",
            "auth-needed",
            ("both",),
            (),
        ),
        (
            Decision("covered", "no-auth", doc_needed=("patient",), doc_purpose=("withorder",)),
            "covered",
            "no-auth",
            (),
            (),
        ),
        (
            Decision("conditional", "no-auth", info_needed=("detail-code",)),
            "conditional",
            "no-auth",
            (),
            ("OTH",),
        ),
    ],
    ids=["indeterminate", "both", "patient", "detail-code"],
)
def test_2_0_codes(
    decision: Decision, covered: str, pa: str, docs: tuple[str, ...], info: tuple[str, ...]
) -> None:
    shaped = in_version(decision, CRD_2_0)
    assert (shaped.covered, shaped.pa_needed, shaped.doc_needed, shaped.info_needed) == (
        covered,
        pa,
        docs,
        info,
    )
    if "OTH" in info:
        assert shaped.reasons, "info-needed OTH carries a reason (crd-ci-q6)"


@pytest.mark.parametrize(
    ("requested", "label"), [(None, "2.0"), ("2.2", "2.2"), ("2.2.1", "2.2"), ("2.0", "2.0")]
)
def test_requested_version(requested: str | None, label: str) -> None:
    assert select_version(requested, CRD_2_0).label == label


@pytest.mark.parametrize("requested", ["3.0", "", 2.2, "x"])
def test_unsupported_requested_version_is_refused(requested: object) -> None:
    with pytest.raises(InvalidHookRequest, match="requestedVersion"):
        select_version(requested, CRD_2_0)


@pytest.mark.parametrize(
    ("decision", "key"),
    [
        (Decision("covered"), "crd-ci-q2"),
        (Decision("not-covered", "no-auth"), "crd-ci-q2"),
        (Decision("conditional", "no-auth"), "crd-ci-q3"),
        (Decision("covered", "no-auth", info_needed=("performer",)), "crd-ci-q3"),
        (Decision("covered", "no-auth", questionnaires=("q",)), "crd-ci-q1"),
        (
            Decision("covered", "no-auth", doc_needed=("clinical",), doc_purpose=("withpa",)),
            "crd-ci-q4",
        ),
        (Decision("covered", "satisfied"), "crd-ci-q5"),
        (Decision("covered", "no-auth", satisfied_pa_id="x"), "crd-ci-q5"),
        (Decision("indeterminate", "indeterminate"), "crd-ci-q9"),
        (Decision("maybe", "no-auth"), "covered 'maybe'"),
    ],
)
def test_invariants_are_enforced(decision: Decision, key: str) -> None:
    """crd-ci-q1..q9 (CRD 2.2 ext-coverage-information invariants)."""
    assert any(key in problem for problem in check_decision(decision))
