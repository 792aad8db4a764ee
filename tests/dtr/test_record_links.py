"""Links from a QuestionnaireResponse to its order and coverage (regression: a
``valueReference`` without ``reference`` once crashed intake with a 500)."""

from __future__ import annotations

from davinci_pa.dtr.service import QR_CONTEXT, _record


def _context(value: dict[str, str]) -> dict[str, object]:
    return {"url": QR_CONTEXT, "valueReference": value}


def test_order_and_coverage_are_read_from_context_references() -> None:
    response = {
        "resourceType": "QuestionnaireResponse",
        "id": "qr1",
        "extension": [
            _context({"display": "an order known only by name"}),
            _context({"reference": "Coverage/c1"}),
            _context({"reference": "DeviceRequest/d1"}),
        ],
    }
    record = _record(response, "final", None, None)
    assert (record.order_ref, record.coverage_ref) == ("DeviceRequest/d1", "Coverage/c1")


def test_display_only_references_link_nothing() -> None:
    response = {
        "resourceType": "QuestionnaireResponse",
        "id": "qr2",
        "extension": [_context({"display": "x"})],
    }
    record = _record(response, "final", None, None)
    assert (record.order_ref, record.coverage_ref) == (None, None)
