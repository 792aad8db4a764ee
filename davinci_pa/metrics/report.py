"""The CMS-0057-F public prior-authorization metrics of one calendar year (and plan).

The nine metrics of 45 CFR 156.223(b) / 42 CFR 422.122(c): the items requiring prior
authorization; for standard requests the share approved, denied, approved after appeal and
extended then approved, and the mean and median decision time; for expedited requests the
share approved and denied and the decision times. Counts come from SQL aggregates
(:mod:`davinci_pa.store.pa_metrics`); the choices in between are :class:`CountingRules`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from davinci_pa.errors import RequestError
from davinci_pa.metrics.items import items_requiring_prior_authorization
from davinci_pa.metrics.rules import CountingRules
from davinci_pa.rules.model import RulePack
from davinci_pa.store.pa_metrics import HOUR_BUCKETS, Cohort, PaMetricsStore, UrgencyFigures

FIRST_YEAR, LAST_YEAR = 2000, 9998


class UnknownPlan(RequestError):
    """The plan asked about is not a payer of the loaded rule pack."""

    code = "unknown-plan"
    http_status = 404
    issue_type = "not-found"


class BadReportYear(RequestError):
    """The report year is not a calendar year the report can cover."""

    code = "bad-report-year"


@dataclass(frozen=True, slots=True)
class MetricsReporter:
    """Makes metrics reports from the store and the loaded rule pack."""

    store: PaMetricsStore
    pack: RulePack

    def report(
        self,
        year: int,
        *,
        plan: str | None = None,
        rules: CountingRules | None = None,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """The report of ``year``: JSON-ready, keys as documented in docs/metrics.md.

        Raises:
            BadReportYear: ``year`` is outside 2000-9998.
            UnknownPlan: ``plan`` is not a payer of the rule pack.
        """
        rules = rules or CountingRules()
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise BadReportYear(f"year must be a calendar year from {FIRST_YEAR} to {LAST_YEAR}")
        if plan is not None and self.pack.payer(plan) is None:
            known = ", ".join(p.id for p in self.pack.payers)
            raise UnknownPlan(f"no plan '{plan}' in the rule pack; the plans are: {known}")
        cohort = Cohort(
            datetime(year, 1, 1, tzinfo=UTC),
            datetime(year + 1, 1, 1, tzinfo=UTC),
            by_received=rules.count_by == "received",
            payer_id=plan,
            include_cancelled=rules.include_cancelled,
        )
        figures = self.store.figures(cohort)
        shape = _Shape(rules)
        standard, expedited = shape.standard(figures[False]), shape.expedited(figures[True])
        report: dict[str, Any] = {
            "year": year,
            "plan": plan,
            "generated": _iso(now or datetime.now(UTC)),
            "counting_rules": rules.to_json(),
            "items_requiring_prior_authorization": items_requiring_prior_authorization(
                self.pack, plan
            ),
            "standard": standard,
            "expedited": expedited,
            "suppressed": shape.suppressed,
        }
        if not any(f.determinations for f in figures.values()):
            report["message"] = f"no prior-authorization determinations on record for {year}"
        return report


class _Shape:
    """Turns raw figures into the report's counts and percentages under the counting rules."""

    def __init__(self, rules: CountingRules) -> None:
        self.rules = rules
        self.suppressed: list[str] = []
        self._approvals = {"approved"} | ({"partial"} if self._partial_approves else set())
        self._denials = {"denied"} | (set() if self._partial_approves else {"partial"})

    @property
    def _partial_approves(self) -> bool:
        return self.rules.partial_approval == "approved"

    def standard(self, raw: UrgencyFigures) -> dict[str, Any]:
        """Metrics 2-5 and 8."""
        shown = self._outcomes("standard", raw)
        appealed = _total(raw.appealed, self._denials)
        after_appeal = _total(raw.approved_after_appeal, self._denials)
        extended = sum(raw.extended.values())
        extended_approved = _total(raw.extended, self._approvals)
        denials = _total(raw.determinations, self._denials)
        appeal_base = appealed if self.rules.appeal_denominator == "appealed_denials" else denials
        extension_base = extended if self.rules.extension_denominator == "extended" else None
        shown.update(
            **self._share("standard", "approved_after_appeal", after_appeal, appeal_base, shown),
            **self._share(
                "standard", "extended_then_approved", extended_approved, extension_base, shown
            ),
            appealed_denials=self._count("standard.appealed_denials", appealed),
            extended=self._count("standard.extended", extended),
        )
        return _ordered(shown)

    def expedited(self, raw: UrgencyFigures) -> dict[str, Any]:
        """Metrics 6, 7 and 9."""
        return _ordered(self._outcomes("expedited", raw))

    def _outcomes(self, name: str, raw: UrgencyFigures) -> dict[str, Any]:
        determinations = raw.determinations
        requests = sum(determinations.values())
        approved = _total(determinations, self._approvals)
        denied = _total(determinations, self._denials)
        shown: dict[str, Any] = {"requests": self._count(f"{name}.requests", requests)}
        shown.update(
            **self._share(name, "approved", approved, None, shown),
            **self._share(name, "denied", denied, None, shown),
            partially_approved=self._count(
                f"{name}.partially_approved", determinations.get("partial", 0)
            ),
            decision_hours_mean=_hours(raw.hours_mean) if shown["requests"] else None,
            decision_hours_median=_hours(raw.hours_median) if shown["requests"] else None,
            decision_hours_distribution={
                label: self._count(
                    f"{name}.decision_hours_distribution.{label}",
                    raw.hours_distribution.get(label, 0),
                )
                for label, _ in HOUR_BUCKETS
            },
            per_month={
                f"{month:02d}": self._count(
                    f"{name}.per_month.{month:02d}", raw.per_month.get(month, 0)
                )
                for month in range(1, 13)
            },
        )
        return shown

    def _share(
        self, name: str, key: str, count: int, base: int | None, shown: dict[str, Any]
    ) -> dict[str, Any]:
        """``key`` and ``key_pct``; the base is the requests unless given."""
        shown_count = self._count(f"{name}.{key}", count)
        denominator = shown["requests"] if base is None else base
        hidden = shown_count is None or denominator is None or self._small(denominator)
        return {key: shown_count, f"{key}_pct": None if hidden else _pct(count, denominator)}

    def _count(self, path: str, count: int) -> int | None:
        """``count``, or ``None`` (recorded in ``suppressed``) when it is a small cell."""
        if self._small(count):
            self.suppressed.append(path)
            return None
        return count

    def _small(self, count: int) -> bool:
        return 0 < count < self.rules.suppress_below


_ORDER = (
    "requests",
    "approved",
    "approved_pct",
    "denied",
    "denied_pct",
    "approved_after_appeal",
    "approved_after_appeal_pct",
    "extended_then_approved",
    "extended_then_approved_pct",
    "decision_hours_mean",
    "decision_hours_median",
)


def _ordered(shown: dict[str, Any]) -> dict[str, Any]:
    """The contract's keys first, in its order, then the extra ones."""
    first = {k: shown[k] for k in _ORDER if k in shown}
    return {**first, **{k: v for k, v in shown.items() if k not in first}}


def _total(counts: dict[str, int], keys: set[str]) -> int:
    return sum(counts.get(k, 0) for k in keys)


def _pct(count: int, denominator: int) -> float | None:
    """0-100 with two decimals; an empty denominator has no percentage (never 0 or NaN)."""
    return round(100 * count / denominator, 2) if denominator else None


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
