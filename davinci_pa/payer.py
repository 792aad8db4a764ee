"""The framework-free façade: one object that answers every exchange a payer runs.

``Payer`` wires the rule book and the store to CRD (JWT verification, prefetch gathering, the
responder), DTR (``payer.dtr``), PAS (``payer.pas``), utilization review
(``payer.review``), the CMS-0057-F metrics (``payer.metrics``), Patient Access
(``payer.patient_access``) and SMART Backend Services
(``payer.auth``). The Flask server only translates HTTP to these calls and back; a payer's
own code (or a test) can call them directly.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from davinci_pa.access.disclosure import DisclosureLog
from davinci_pa.access.member_match import MemberMatch
from davinci_pa.access.patient import PatientAccess, PriorAuthorizationRenderer
from davinci_pa.access.provider import ProviderAccess
from davinci_pa.auth import AuthService
from davinci_pa.cdshooks.context import ORDER_TYPES
from davinci_pa.cdshooks.discovery import ServiceDefinition
from davinci_pa.cdshooks.feedback import Feedback, parse_feedback
from davinci_pa.cdshooks.hooks import HookRequest, parse_hook_request
from davinci_pa.cdshooks.jwt import JwtVerifier, TrustedIssuer, VerifiedToken
from davinci_pa.cdshooks.response import prepare_resource_models
from davinci_pa.config import PayerOptions
from davinci_pa.crd.gathering import DataGatherer
from davinci_pa.crd.responder import CrdAnswer, CrdResponder, hook_input
from davinci_pa.crd.services import ServiceCatalog
from davinci_pa.crd.versions import SUPPORTED, select_version
from davinci_pa.dtr.service import payer_dtr
from davinci_pa.errors import AuthenticationError, DavinciError
from davinci_pa.metrics.report import MetricsReporter
from davinci_pa.pas.options import PasOptions
from davinci_pa.pas.service import PasService
from davinci_pa.review.service import ReviewOptions, ReviewService
from davinci_pa.rules.cql_evaluator import CqlTopicEvaluator
from davinci_pa.rules.evaluation import RuleBook
from davinci_pa.rules.loader import load_rule_pack
from davinci_pa.store import Database
from davinci_pa.store.access_records import AccessRecords, Disclosures
from davinci_pa.store.audit import AuditEvent, AuditLog
from davinci_pa.store.clock import utc_now
from davinci_pa.store.crd_records import AssertionRecord, CrdRecords, HookCall
from davinci_pa.store.pa_access import PaAccessStore, exchange_of
from davinci_pa.store.pa_metrics import PaMetricsStore
from davinci_pa.store.pas_records import StateChange
from davinci_pa.store.replay import DatabaseReplayCache
from davinci_pa.types import JsonObject


@dataclass(frozen=True, slots=True)
class Caller:
    """Who made a call: the verified JWT issuer, or ``None`` when checks are disabled."""

    issuer: str | None


class Payer:
    """Answers CRD hook calls, DTR and PAS operations for one payer.

    Args:
        rules: the payer's rule book.
        database: where calls, decisions and audit events are kept.
        trusted_issuers: EHRs whose signed calls are accepted; none means every call is
            refused with 401 unless ``options.security.verify_jwt`` is off.
        options: behaviour switches (see :mod:`davinci_pa.config`).
        clock: current time, for decisions and records.
        new_id: identifier factory for assertion ids, card and suggestion uuids.
        gatherer: fetches data the EHR did not prefetch; built from ``options`` by default.
        dtr_version: the DTR package shape for clients that declare none (``2.2``, ``2.0.1``).
        review_options: utilization-review rules (``payer.review``, docs/review.md).
        export_folder: where bulk exports write their files (``payer.provider_access``).
    """

    def __init__(
        self,
        *,
        rules: RuleBook,
        database: Database,
        trusted_issuers: Sequence[TrustedIssuer] = (),
        options: PayerOptions | None = None,
        clock: Callable[[], datetime] = utc_now,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        gatherer: DataGatherer | None = None,
        pas_options: PasOptions | None = None,
        auth: AuthService | None = None,
        dtr_version: str = "2.2",
        review_options: ReviewOptions | None = None,
        export_folder: Path = Path("davinci-pa-exports"),
    ) -> None:
        self.options = options or PayerOptions()
        self.rules = rules
        self.database = database
        self.services = ServiceCatalog.default()
        self.crd_records = CrdRecords(database, clock=clock)
        self._audit = AuditLog(database, clock=clock)
        self._verifier = JwtVerifier(
            {i.iss: i for i in trusted_issuers},
            replay_cache=DatabaseReplayCache(database),
        )
        self._responder = CrdResponder(rules, clock=clock, new_id=new_id)
        self._gatherer = gatherer or DataGatherer(
            allowed_fhir_servers=self.options.crd.allowed_fhir_servers,
            timeout=self.options.crd.fhir_timeout_seconds,
        )
        self._default_version = SUPPORTED[self.options.crd.default_version]
        self._new_id = new_id
        # -- PAS and SMART Backend Services (issue 3) --
        self.pas = PasService(
            rules=rules, database=database, options=pas_options, clock=clock, new_id=new_id
        )
        self.auth = auth
        self.review = ReviewService(
            self.pas,
            database,
            assertions=self.crd_records,
            options=review_options,
            clock=clock,
            new_id=new_id,
        )
        self.metrics = MetricsReporter(PaMetricsStore(database), rules.pack)
        access_store = PaAccessStore(database)
        self.prior_authorizations = PriorAuthorizationRenderer(access_store, rules.pack)
        self.disclosures = DisclosureLog(
            Disclosures(database),
            self.options.security.public_base_url,
            clock=clock,
            new_id=new_id,
        )
        self.patient_access = PatientAccess(
            access_store, self.prior_authorizations, clock=clock, disclosures=self.disclosures
        )
        self.provider_access = ProviderAccess(
            AccessRecords(database),
            access_store,
            self.prior_authorizations,
            folder=export_folder,
            clock=clock,
            new_id=new_id,
            disclosures=self.disclosures,
        )
        self.member_match = MemberMatch(
            database, self.provider_access.records, clock=clock, disclosures=self.disclosures
        )
        self.pas.records.add_listener(self._keep_access_data)
        # -- DTR (issue 4) --
        self.dtr = payer_dtr(
            rules=rules.pack,
            database=database,
            assertions=self.crd_records,
            default_version=dtr_version,
            clock=clock,
            new_id=new_id,
        )

    @classmethod
    def from_rule_pack(cls, folder: Path, *, database: Database, **kwargs: Any) -> Payer:
        """Build a payer whose rules come from the rule pack in ``folder``, CQL included."""
        pack = load_rule_pack(folder)
        rules = RuleBook(pack, evaluator=CqlTopicEvaluator.for_pack(folder, pack))
        return cls(rules=rules, database=database, **kwargs)

    def discovery(self) -> JsonObject:
        """Return the CDS Hooks discovery document."""
        return self.services.discovery()

    def authenticate(self, authorization: str | None, *, audience: str | Sequence[str]) -> Caller:
        """Verify the EHR's ``Authorization: Bearer <JWT>`` header for ``audience``.

        Raises:
            AuthenticationError: missing, malformed or invalid token (HTTP 401).
        """
        if not self.options.security.verify_jwt:
            return Caller(issuer=None)
        token = _bearer(authorization)
        verified: VerifiedToken = self._verifier.verify(token, audience=audience)
        return Caller(issuer=verified.iss)

    def service_url(self, service_id: str) -> str:
        """The URL a JWT's ``aud`` must name for this service."""
        return f"{self.options.security.public_base_url.rstrip('/')}/cds-services/{service_id}"

    def _keep_access_data(self, conn: Connection, change: StateChange) -> None:
        """After each PAS change, in its transaction: the PDex resource and member index."""
        exchange = exchange_of(conn, change)
        if exchange is not None:
            self.prior_authorizations.keep(conn, exchange)
            self.member_match.keep(conn, exchange)

    def prepare(self) -> None:
        """Do the one-time work of the first CDS Hooks call now (a server's start).

        Compiles every service's prefetch templates (FHIRPath) and loads the FHIR models
        that order resources are checked with, which would otherwise cost the first call
        each worker answers a few hundred milliseconds.
        """
        self._gatherer.prepare(self.services)
        prepare_resource_models(ORDER_TYPES)

    def handle_hook(
        self, service_id: str, body: object, *, caller: Caller, request_id: str | None = None
    ) -> JsonObject:
        """Answer one hook call and record it (CRD ``found-37``)."""
        request_id = request_id or self._new_id()
        started = time.perf_counter()
        service = self.services.get(service_id)
        try:
            request = parse_hook_request(body, service_hook=service.hook)
            answer = self._answer(service, request)
        except DavinciError as error:
            self._audit_event("crd.hook", service_id, caller, request_id, error)
            raise
        self._record(service, request, answer, caller, request_id, started)
        return answer.body

    def record_feedback(self, service_id: str, body: object, *, caller: Caller) -> int:
        """Validate and store a feedback body (CDS Hooks §Feedback); return how many items."""
        self.services.get(service_id)
        items = [_feedback_row(item) for item in parse_feedback(body)]
        return self.crd_records.record_feedback(service_id, items, client=caller.issuer)

    def _answer(self, service: ServiceDefinition, request: HookRequest) -> CrdAnswer:
        version = select_version(request.requested_version, self._default_version)
        gathered = self._gatherer.gather(service, request)
        return self._responder.answer(hook_input(service, request, gathered, version))

    def _record(
        self,
        service: ServiceDefinition,
        request: HookRequest,
        answer: CrdAnswer,
        caller: Caller,
        request_id: str,
        started: float,
    ) -> None:
        elapsed = (time.perf_counter() - started) * 1000
        call = HookCall(
            request_id,
            service.id,
            service.hook,
            request.hook_instance,
            caller.issuer,
            elapsed,
            200,
            answer.body,
        )
        event = AuditEvent("crd.hook", "ok", 200, caller.issuer, service.id, request_id)
        assertions = [_assertion(a, request_id) for a in answer.assessments]
        self.crd_records.record_call(call, assertions, audit=event)

    def _audit_event(
        self, action: str, target: str, caller: Caller, request_id: str, error: DavinciError
    ) -> None:
        event = AuditEvent(action, error.code, error.http_status, caller.issuer, target, request_id)
        self._audit.record(event)


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("missing 'Authorization: Bearer <JWT>' header")
    return token.strip()


def _feedback_row(item: Feedback) -> dict[str, Any]:
    row: dict[str, Any] = {
        "card": item.card,
        "outcome": item.outcome,
        "outcomeTimestamp": item.outcome_timestamp.isoformat(),
        "acceptedSuggestions": [{"id": s} for s in item.accepted_suggestions] or None,
    }
    if item.override_reason or item.override_comment:
        row["overrideReason"] = {
            "reason": item.override_reason,
            "userComment": item.override_comment,
        }
    return row


def _assertion(assessment: Any, request_id: str) -> AssertionRecord:
    decision = assessment.decision
    return AssertionRecord(
        assertion_id=assessment.assertion_id,
        request_id=request_id,
        order_ref=f"{assessment.target.get('resourceType')}/{assessment.target.get('id')}",
        coverage_ref=assessment.match.reference,
        payer_id=assessment.match.payer.id if assessment.match.payer else None,
        topic_id=assessment.outcome.topic.id if assessment.outcome.topic else None,
        rule_source=assessment.outcome.source,
        decision={
            "covered": decision.covered,
            "pa-needed": decision.pa_needed,
            "doc-needed": list(decision.doc_needed),
            "doc-purpose": list(decision.doc_purpose),
            "info-needed": list(decision.info_needed),
            "questionnaires": list(decision.questionnaires),
            "reasons": [r.text for r in decision.reasons],
        },
        satisfied_pa_id=decision.satisfied_pa_id,
    )
