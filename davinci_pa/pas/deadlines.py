"""Decision deadlines and retention (CMS-0057-F; PAS spec-73).

Expedited requests are due 72 hours after receipt, standard ones 7 calendar days, with an
extension to 14 days recorded with its reason. Pended authorizations stay queryable at
least 6 months after the services end, every authorization at least a year after its last
status change.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time

from davinci_pa.fhir.json import obj
from davinci_pa.pas.options import PasOptions
from davinci_pa.types import Resource


def due_at(received: datetime, *, urgent: bool, options: PasOptions) -> datetime:
    """When a decision on a request received at ``received`` is due."""
    return received + (options.urgent_due if urgent else options.standard_due)


def extended_due_at(queued: datetime, options: PasOptions) -> datetime:
    """The due time of a standard request whose review was extended."""
    return queued + options.extended_due


def retain_until(
    changed: datetime, items: Iterable[Resource], *, pended: bool, options: PasOptions
) -> datetime:
    """How long an authorization must stay queryable."""
    keep = changed + options.retain_after_change
    end = service_end(items)
    if pended and end is not None:
        keep = max(keep, end + options.retain_pended_after_service)
    return keep


def service_end(items: Iterable[Resource]) -> datetime | None:
    """The latest service date or period end of the Claim items."""
    ends = []
    for item in items:
        text = item.get("servicedDate") or obj(item.get("servicedPeriod")).get("end")
        if isinstance(text, str):
            parsed = _parse_date(text)
            if parsed is not None:
                ends.append(datetime.combine(parsed, time.max, tzinfo=UTC))
    return max(ends) if ends else None


def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def is_late(decided: datetime, due: datetime, extended: datetime | None) -> bool:
    """Whether a decision came after its (possibly extended) due time."""
    return decided > (extended or due)


__all__ = ["due_at", "extended_due_at", "is_late", "retain_until", "service_end"]
