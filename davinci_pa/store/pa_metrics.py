"""The CMS-0057-F prior-authorization figures as SQL aggregates over the PAS store.

Every figure is a ``GROUP BY`` over the authorizations of one cohort (the requests a report
counts, :class:`Cohort`), so a report costs a few index-served queries whatever the number
of rows; nothing loads the records into Python. Medians use ``percentile_cont`` on
PostgreSQL and an ordered window over the cohort on SQLite, which has no percentile function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from davinci_pa.store.database import Database
from davinci_pa.store.schema import pas_appeals, pas_authorizations, pas_review_queue

AUTHS = pas_authorizations.c

HOUR_BUCKETS: tuple[tuple[str, float | None], ...] = (
    ("under 1 hour", 1),
    ("1-24 hours", 24),
    ("1-3 days", 72),
    ("3-7 days", 168),
    ("7-14 days", 336),
    ("over 14 days", None),
)
"""Decision-time distribution buckets: label and upper bound in hours (``None``: open)."""


@dataclass(frozen=True, slots=True)
class Cohort:
    """Which authorizations a report counts.

    Args:
        start, end: the period, half-open ``[start, end)``.
        by_received: count requests received in the period (else: determined in it).
        payer_id: one plan (rule-pack payer id); ``None`` for all.
        include_cancelled: also count requests cancelled after their determination.
    """

    start: datetime
    end: datetime
    by_received: bool = False
    payer_id: str | None = None
    include_cancelled: bool = False


@dataclass(frozen=True, slots=True)
class UrgencyFigures:
    """Raw counts and times for one urgency (expedited or standard)."""

    determinations: dict[str, int] = field(default_factory=dict)
    """``approved`` / ``partial`` / ``denied`` → requests."""
    extended: dict[str, int] = field(default_factory=dict)
    """The same, for requests whose review time was extended."""
    appealed: dict[str, int] = field(default_factory=dict)
    """By determination: requests with an appeal recorded."""
    approved_after_appeal: dict[str, int] = field(default_factory=dict)
    """By determination: requests with an appeal that approved an item."""
    hours_mean: float | None = None
    hours_median: float | None = None
    hours_distribution: dict[str, int] = field(default_factory=dict)
    per_month: dict[int, int] = field(default_factory=dict)


class PaMetricsStore:
    """Reads the aggregates a prior-authorization metrics report is made of."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def figures(self, cohort: Cohort) -> dict[bool, UrgencyFigures]:
        """The figures of a cohort by urgency (``True``: expedited)."""
        hours = _hours(self._db.dialect)
        where = _where(cohort)
        with self._db.transaction() as conn:
            rows = {
                "determinations": _by_determination(conn, where),
                "extended": _by_determination(conn, [*where, _extended()]),
                "appealed": _by_determination(conn, [*where, _appealed()]),
                "approved_after_appeal": _by_determination(conn, [*where, _appealed(True)]),
            }
            means = _means(conn, where, hours)
            medians = _medians(conn, where, hours, self._db.dialect)
            buckets = _distribution(conn, where, hours)
            months = _per_month(conn, where, cohort)
        return {
            urgent: UrgencyFigures(
                **{name: found.get(urgent, {}) for name, found in rows.items()},
                hours_mean=means.get(urgent),
                hours_median=medians.get(urgent),
                hours_distribution=buckets.get(urgent, {}),
                per_month=months.get(urgent, {}),
            )
            for urgent in (False, True)
        }

    def payer_ids(self) -> list[str]:
        """Every plan that has requests on record."""
        query = sa.select(AUTHS.payer_id).where(AUTHS.payer_id.is_not(None)).distinct()
        with self._db.transaction() as conn:
            return sorted(str(r[0]) for r in conn.execute(query))


def _where(cohort: Cohort) -> list[sa.ColumnElement[bool]]:
    moment = AUTHS.created_at if cohort.by_received else AUTHS.determined_at
    where = [
        AUTHS.determined_at.is_not(None),
        moment >= cohort.start,
        moment < cohort.end,
    ]
    if cohort.payer_id is not None:
        where.append(AUTHS.payer_id == cohort.payer_id)
    if not cohort.include_cancelled:
        where.append(AUTHS.status != "cancelled")
    return where


def _extended() -> sa.ColumnElement[bool]:
    queue = pas_review_queue.c
    return (
        sa.exists()
        .where(queue.pa_id == AUTHS.pa_id, queue.extended_due_at.is_not(None))
        .correlate(pas_authorizations)
    )


def _appealed(approved: bool = False) -> sa.ColumnElement[bool]:
    appeals = pas_appeals.c
    condition = sa.exists().where(appeals.pa_id == AUTHS.pa_id)
    if approved:
        condition = condition.where(appeals.approved.is_(True))
    return condition.correlate(pas_authorizations)


def _by_determination(
    conn: sa.Connection, where: Sequence[sa.ColumnElement[bool]]
) -> dict[bool, dict[str, int]]:
    query = (
        sa.select(AUTHS.urgent, AUTHS.determination, sa.func.count())
        .where(*where)
        .group_by(AUTHS.urgent, AUTHS.determination)
    )
    found: dict[bool, dict[str, int]] = {}
    for urgent, determination, count in conn.execute(query):
        found.setdefault(bool(urgent), {})[str(determination)] = int(count)
    return found


def _hours(dialect: str) -> sa.ColumnElement[float]:
    """Receipt to determination, in hours, in the database's own date arithmetic."""
    if dialect == "postgresql":
        seconds = sa.extract("epoch", AUTHS.determined_at - AUTHS.created_at)
        return sa.cast(seconds / 3600.0, sa.Float)
    days = sa.func.julianday(AUTHS.determined_at) - sa.func.julianday(AUTHS.created_at)
    whole_seconds = sa.func.round(days * 86400.0)  # julianday is a float: not 0.9999 h
    return sa.cast(whole_seconds / 3600.0, sa.Float)


def _means(
    conn: sa.Connection, where: Sequence[sa.ColumnElement[bool]], hours: sa.ColumnElement[float]
) -> dict[bool, float]:
    query = sa.select(AUTHS.urgent, sa.func.avg(hours)).where(*where).group_by(AUTHS.urgent)
    return {bool(u): float(m) for u, m in conn.execute(query) if m is not None}


def _medians(
    conn: sa.Connection,
    where: Sequence[sa.ColumnElement[bool]],
    hours: sa.ColumnElement[float],
    dialect: str,
) -> dict[bool, float]:
    if dialect == "postgresql":
        median = sa.func.percentile_cont(0.5).within_group(hours)
        query = sa.select(AUTHS.urgent, median).where(*where).group_by(AUTHS.urgent)
        return {bool(u): float(m) for u, m in conn.execute(query) if m is not None}
    ranked = (
        sa.select(
            AUTHS.urgent.label("urgent"),
            hours.label("hours"),
            sa.func.row_number().over(partition_by=AUTHS.urgent, order_by=hours).label("rank"),
            sa.func.count().over(partition_by=AUTHS.urgent).label("n"),
        )
        .where(*where)
        .subquery()
    )
    middle = sa.or_(ranked.c.rank == (ranked.c.n + 1) / 2, ranked.c.rank == (ranked.c.n + 2) / 2)
    query = (
        sa.select(ranked.c.urgent, sa.func.avg(ranked.c.hours))
        .where(middle)
        .group_by(ranked.c.urgent)
    )
    return {bool(u): float(m) for u, m in conn.execute(query) if m is not None}


def _distribution(
    conn: sa.Connection, where: Sequence[sa.ColumnElement[bool]], hours: sa.ColumnElement[float]
) -> dict[bool, dict[str, int]]:
    bounded = [(hours < bound, label) for label, bound in HOUR_BUCKETS if bound is not None]
    bucket = sa.case(*bounded, else_=HOUR_BUCKETS[-1][0]).label("bucket")
    query = (
        sa.select(AUTHS.urgent, bucket, sa.func.count())
        .where(*where)
        .group_by(AUTHS.urgent, bucket)
    )
    found: dict[bool, dict[str, int]] = {}
    for urgent, label, count in conn.execute(query):
        found.setdefault(bool(urgent), {})[str(label)] = int(count)
    return found


def _per_month(
    conn: sa.Connection, where: Sequence[sa.ColumnElement[bool]], cohort: Cohort
) -> dict[bool, dict[int, int]]:
    moment = AUTHS.created_at if cohort.by_received else AUTHS.determined_at
    month = sa.extract("month", moment).label("month")
    query = (
        sa.select(AUTHS.urgent, month, sa.func.count()).where(*where).group_by(AUTHS.urgent, month)
    )
    found: dict[bool, dict[int, int]] = {}
    for urgent, number, count in conn.execute(query):
        found.setdefault(bool(urgent), {})[int(number)] = int(count)
    return found
