"""DTR records: QuestionnaireResponses linked to orders and coverage assertions, error logs.

DTR 2.2 §QuestionnaireResponse: the payer keeps the drafts it hands out and every response
it receives, findable by order and CRD ``coverage-assertion-id`` so the PAS request builder
can attach the documentation; ``$log-questionnaire-errors`` (``oper-1``) entries are kept
as sent (they carry no PHI, ``oper-2``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from davinci_pa.store.clock import Clock, utc_now
from davinci_pa.store.database import Database
from davinci_pa.store.schema import dtr_error_logs, dtr_questionnaire_responses


@dataclass(frozen=True, slots=True)
class ResponseRecord:
    """One stored version of a QuestionnaireResponse and what it is linked to.

    ``kind`` is ``draft`` for the prepopulated drafts of a package, ``received`` for a
    response a DTR client sent.
    """

    response_id: str
    questionnaire: str
    status: str
    kind: str
    resource: Mapping[str, Any]
    subject_ref: str | None = None
    order_ref: str | None = None
    coverage_ref: str | None = None
    assertion_id: str | None = None
    client: str | None = None


class DtrRecords:
    """Repository for DTR QuestionnaireResponses and client error logs."""

    def __init__(self, db: Database, *, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock

    def save(self, records: Sequence[ResponseRecord]) -> None:
        """Store response versions in one transaction."""
        if not records:
            return
        now = self._clock()
        rows = [{**_row(r), "recorded_at": now} for r in records]
        with self._db.transaction() as conn:
            conn.execute(sa.insert(dtr_questionnaire_responses), rows)

    def latest(self, response_id: str, *, kind: str | None = None) -> ResponseRecord | None:
        """Return the newest stored version of a response (optionally of one kind)."""
        table = dtr_questionnaire_responses
        query = sa.select(table).where(table.c.response_id == response_id)
        if kind is not None:
            query = query.where(table.c.kind == kind)
        return next(iter(self._select(query.order_by(table.c.id.desc()).limit(1))), None)

    def for_order(self, order_ref: str) -> list[ResponseRecord]:
        """Received responses documenting an order (``Type/id``), newest first."""
        table = dtr_questionnaire_responses
        query = sa.select(table).where(table.c.order_ref == order_ref, table.c.kind == "received")
        return self._select(query.order_by(table.c.id.desc()))

    def for_assertion(self, assertion_id: str) -> list[ResponseRecord]:
        """Received responses linked to a CRD coverage-assertion-id, newest first."""
        table = dtr_questionnaire_responses
        query = sa.select(table).where(
            table.c.assertion_id == assertion_id, table.c.kind == "received"
        )
        return self._select(query.order_by(table.c.id.desc()))

    def log_errors(
        self,
        questionnaires: Sequence[str],
        outcomes: Sequence[Mapping[str, Any]],
        client: str | None,
    ) -> None:
        """Store one ``$log-questionnaire-errors`` call."""
        row = {
            "questionnaires": list(questionnaires),
            "outcomes": [dict(o) for o in outcomes],
            "client": client,
            "recorded_at": self._clock(),
        }
        with self._db.transaction() as conn:
            conn.execute(sa.insert(dtr_error_logs).values(**row))

    def error_log_count(self) -> int:
        """How many error logs were received."""
        with self._db.transaction() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(dtr_error_logs)).scalar_one()
            )

    def _select(self, query: Any) -> list[ResponseRecord]:
        with self._db.transaction() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            ResponseRecord(**{k: v for k, v in r.items() if k not in ("id", "recorded_at")})
            for r in rows
        ]


def _row(record: ResponseRecord) -> dict[str, Any]:
    return {
        "response_id": record.response_id,
        "questionnaire": record.questionnaire,
        "status": record.status,
        "kind": record.kind,
        "subject_ref": record.subject_ref,
        "order_ref": record.order_ref,
        "coverage_ref": record.coverage_ref,
        "assertion_id": record.assertion_id,
        "client": record.client,
        "resource": dict(record.resource),
    }
