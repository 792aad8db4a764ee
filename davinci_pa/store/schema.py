"""Table definitions (SQLAlchemy Core). Alembic migrations in ``migrations/`` create them."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "pk": "pk_%(table_name)s",
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
    }
)

hook_calls = sa.Table(
    "hook_calls",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("service_id", sa.String(128), nullable=False),
    sa.Column("hook", sa.String(64), nullable=False),
    sa.Column("hook_instance", sa.String(64), nullable=False),
    sa.Column("client", sa.String(512), nullable=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("duration_ms", sa.Float, nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("response", sa.JSON, nullable=True),
    sa.Index("ix_hook_calls_received_at", "received_at"),
)
"""CRD found-37: every hook invocation and the answer given."""

coverage_assertions = sa.Table(
    "coverage_assertions",
    metadata,
    sa.Column("assertion_id", sa.String(64), primary_key=True),
    sa.Column("request_id", sa.String(64), nullable=False, index=True),
    sa.Column("order_ref", sa.String(256), nullable=False),
    sa.Column("coverage_ref", sa.String(512), nullable=True),
    sa.Column("payer_id", sa.String(128), nullable=True),
    sa.Column("topic_id", sa.String(128), nullable=True),
    sa.Column("rule_source", sa.String(256), nullable=False),
    sa.Column("decision", sa.JSON, nullable=False),
    sa.Column("satisfied_pa_id", sa.String(64), nullable=True, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
"""CRD found-11: retained guidance; DTR and PAS look decisions up by assertion id."""

hook_feedback = sa.Table(
    "hook_feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("service_id", sa.String(128), nullable=False),
    sa.Column("card_uuid", sa.String(64), nullable=False, index=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("accepted_suggestions", sa.JSON, nullable=True),
    sa.Column("override_reason", sa.JSON, nullable=True),
    sa.Column("outcome_timestamp", sa.String(64), nullable=False),
    sa.Column("client", sa.String(512), nullable=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)
"""CDS Hooks §Feedback: kept as received; duplicates are expected and kept."""

jwt_replay = sa.Table(
    "jwt_replay",
    metadata,
    sa.Column("issuer", sa.String(512), primary_key=True),
    sa.Column("jti", sa.String(256), primary_key=True),
    sa.Column("expires_at", sa.Float, nullable=False, index=True),
)
"""CDS Hooks §Trusting CDS Clients: ``jti`` seen before its token expired is a replay."""

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("request_id", sa.String(64), nullable=True),
    sa.Column("actor", sa.String(512), nullable=True),
    sa.Column("action", sa.String(128), nullable=False),
    sa.Column("target", sa.String(512), nullable=True),
    sa.Column("outcome", sa.String(64), nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
)
"""Who did what, with which outcome: one row per call (no PHI)."""


# ---------------------------------------------------------------------------------------
# PAS (Da Vinci Prior Authorization Support 2.2.1) and SMART Backend Services auth.
# Created by migration 0002_pas.
# ---------------------------------------------------------------------------------------

pas_authorizations = sa.Table(
    "pas_authorizations",
    metadata,
    sa.Column("pa_id", sa.String(64), primary_key=True),
    sa.Column("pre_auth_ref", sa.String(64), nullable=False, unique=True),
    sa.Column("claim_identifier", sa.String(512), nullable=False, index=True),
    sa.Column("member_id", sa.String(128), nullable=True, index=True),
    sa.Column("provider_ids", sa.String(512), nullable=False),
    sa.Column("sender_org", sa.String(256), nullable=True),
    sa.Column("submitter", sa.String(256), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("urgent", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("retain_until", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("payer_id", sa.String(128), nullable=True, index=True),
    sa.Column("determined_at", sa.DateTime(timezone=True), nullable=True, index=True),
    sa.Column("determination", sa.String(16), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True, index=True),
)
"""One prior authorization: its identifiers for $inquire and its current state. Migration
0007 added the rule-pack payer (the plan), the first determination (when and what:
``approved``, ``partial``, ``denied``), which the CMS-0057-F metrics count, and the time of
the last change of any kind (``_lastUpdated`` of its PDex ExplanationOfBenefit)."""

sa.Index(
    "ux_pas_authorizations_claim_submitter",
    pas_authorizations.c.claim_identifier,
    pas_authorizations.c.submitter,
    unique=True,
)
"""A Claim identifier names one authorization per submitting system (migration 0004)."""

pas_submissions = sa.Table(
    "pas_submissions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("pa_id", sa.String(64), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("dedupe_key", sa.String(128), nullable=False, unique=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("request", sa.JSON, nullable=False),
    sa.Column("submitter", sa.String(256), nullable=True),
)
"""Every request Bundle received for an authorization (initial, updates, cancellation)."""

pas_responses = sa.Table(
    "pas_responses",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("pa_id", sa.String(64), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("submission_id", sa.String(64), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("bundle", sa.JSON, nullable=False),
)
"""Every ClaimResponse version, as the full PAS Response Bundle sent."""

pas_items = sa.Table(
    "pas_items",
    metadata,
    sa.Column("pa_id", sa.String(64), primary_key=True),
    sa.Column("sequence", sa.Integer, primary_key=True),
    sa.Column("item", sa.JSON, nullable=False),
    sa.Column("action", sa.String(8), nullable=False),
    sa.Column("decision", sa.JSON, nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
)
"""Each submitted item (by sequence) with its current review action and decision."""

pas_review_queue = sa.Table(
    "pas_review_queue",
    metadata,
    sa.Column("pa_id", sa.String(64), primary_key=True),
    sa.Column("urgent", sa.Boolean, nullable=False),
    sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("extended_due_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("extension_reason", sa.String(512), nullable=True),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("late", sa.Boolean, nullable=True),
    sa.Column("flag", sa.String(16), nullable=True),
    sa.Column("topics", sa.String(512), nullable=True),
)
"""Pended authorizations awaiting review, with their CMS-0057-F due times. Migration 0005
added ``flag``, set by the deadline sweep (``due-soon``, ``overdue``), and ``topics``, the
rule topics that pended the items (``,home-oxygen,`` for filtering)."""

sa.Index("ix_pas_review_queue_open", pas_review_queue.c.closed_at, pas_review_queue.c.due_at)

pas_subscriptions = sa.Table(
    "pas_subscriptions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(256), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("org_identifier", sa.String(256), nullable=False, index=True),
    sa.Column("endpoint", sa.String(1024), nullable=False),
    sa.Column("events", sa.Integer, nullable=False),
    sa.Column("resource", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
"""R4 backport Subscriptions to the PAS topic (rest-hook, full-resource)."""

pas_outbox = sa.Table(
    "pas_outbox",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("subscription_id", sa.String(64), nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("event_number", sa.Integer, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("last_error", sa.String(512), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
)
"""Notifications to deliver, claimed with FOR UPDATE SKIP LOCKED, retried with backoff."""

sa.Index(
    "ix_pas_outbox_pending",
    pas_outbox.c.subscription_id,
    pas_outbox.c.event_number,
    postgresql_where=pas_outbox.c.status == "pending",
    sqlite_where=pas_outbox.c.status == "pending",
)
"""A Subscription's pending notifications by event number: what waits for what (0009)."""

auth_signing_keys = sa.Table(
    "auth_signing_keys",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("jwk", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
"""The access-token signing key shared by every worker when none is configured."""

# -- DTR -------------------------------------------------------------------------------

dtr_questionnaire_responses = sa.Table(
    "dtr_questionnaire_responses",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("response_id", sa.String(64), nullable=False, index=True),
    sa.Column("questionnaire", sa.String(512), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("subject_ref", sa.String(256), nullable=True),
    sa.Column("order_ref", sa.String(256), nullable=True, index=True),
    sa.Column("coverage_ref", sa.String(256), nullable=True),
    sa.Column("assertion_id", sa.String(64), nullable=True, index=True),
    sa.Column("client", sa.String(512), nullable=True),
    sa.Column("resource", sa.JSON, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)
"""DTR QuestionnaireResponses: drafts handed out in packages and every version received,
linked to the order and the CRD coverage-assertion-id for the PAS request builder."""

dtr_error_logs = sa.Table(
    "dtr_error_logs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("questionnaires", sa.JSON, nullable=False),
    sa.Column("outcomes", sa.JSON, nullable=False),
    sa.Column("client", sa.String(512), nullable=True),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)
"""DTR oper-1: errors DTR clients met in our forms (``$log-questionnaire-errors``, no PHI)."""


# ---------------------------------------------------------------------------------------
# Utilization review. Created by migration 0005_review.
# ---------------------------------------------------------------------------------------

reviewers = sa.Table(
    "reviewers",
    metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("password_hash", sa.String(256), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("failed_logins", sa.Integer, nullable=False),
    sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
"""Workbench accounts: an Argon2id password hash, a role, a lockout after failed logins."""

review_sessions = sa.Table(
    "review_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, index=True),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
)
"""Workbench sessions, server-side so that logout and the idle timeout really end them; the
cookie holds a random token, only its SHA-256 is stored."""

pas_history = sa.Table(
    "pas_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("pa_id", sa.String(64), nullable=False, index=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(256), nullable=True),
    sa.Column("role", sa.String(16), nullable=True),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
)
"""What happened to a request, by whom and when: submissions, decisions (before and after),
extensions, appeals, notifications, deadline flags (no free text from outside in logs)."""

pas_appeals = sa.Table(
    "pas_appeals",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("pa_id", sa.String(64), nullable=False, index=True),
    sa.Column("items", sa.JSON, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("received_from", sa.String(256), nullable=True),
    sa.Column("note", sa.String(2000), nullable=True),
    sa.Column("deniers", sa.JSON, nullable=False),
    sa.Column("recorded_by", sa.String(256), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("decided_by", sa.String(256), nullable=True),
    sa.Column("outcome", sa.JSON, nullable=True),
    sa.Column("approved", sa.Boolean, nullable=True),
)
"""Appeals of denied items: who denied them (the appeal goes to another physician) and,
once decided, the outcome per item and whether it approved any (CMS-0057-F "approved after
appeal"; ``approved`` added by migration 0007 so the metrics count it in SQL)."""

# ---------------------------------------------------------------------------------------
# PA data access: Provider Access attribution, member choices, bulk exports (migration 0008).
# ---------------------------------------------------------------------------------------

access_groups = sa.Table(
    "access_groups",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(256), nullable=True),
    sa.Column("resource", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
"""Provider Access attribution lists (PDex ``pdex-provider-group``), as last written."""

access_group_members = sa.Table(
    "access_group_members",
    metadata,
    sa.Column("group_id", sa.String(64), primary_key=True),
    sa.Column("member_id", sa.String(128), primary_key=True),
)
"""The members of each attribution list, for the export's query."""

access_member_choices = sa.Table(
    "access_member_choices",
    metadata,
    sa.Column("member_id", sa.String(128), primary_key=True),
    sa.Column("provider_access_opt_out", sa.Boolean, nullable=False),
    sa.Column("payer_to_payer_opt_in", sa.Boolean, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
"""What each member chose: opting out of Provider Access, opting in to Payer-to-Payer."""

access_exports = sa.Table(
    "access_exports",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("group_id", sa.String(64), nullable=False),
    sa.Column("client", sa.String(256), nullable=True),
    sa.Column("since", sa.DateTime(timezone=True), nullable=True),
    sa.Column("request_url", sa.String(2048), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True, index=True),
    sa.Column("output", sa.JSON, nullable=True),
    sa.Column("error", sa.String(512), nullable=True),
)
"""Bulk exports (FHIR Bulk Data kick-off): queued, run by the job worker, files expiring."""

access_members = sa.Table(
    "access_members",
    metadata,
    sa.Column("member_id", sa.String(128), primary_key=True),
    sa.Column("member_system", sa.String(256), nullable=True),
    sa.Column("family", sa.String(128), nullable=True, index=True),
    sa.Column("given", sa.String(128), nullable=True),
    sa.Column("birth_date", sa.String(10), nullable=True, index=True),
    sa.Column("gender", sa.String(16), nullable=True),
    sa.Column("coverage_ids", sa.String(1024), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
"""Members as the PAS requests described them, for ``$member-match`` (HRex): demographics
(family name lower-cased) and the Coverage identifiers, delimited ``,system|value,``."""

access_disclosures = sa.Table(
    "access_disclosures",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("member_id", sa.String(128), nullable=False, index=True),
    sa.Column("recipient", sa.String(256), nullable=True),
    sa.Column("event", sa.JSON, nullable=False),
)
"""Every disclosure of a member's PA data as an AuditEvent (IHE BALP PrivacyDisclosure)."""

pa_resources = sa.Table(
    "pa_resources",
    metadata,
    sa.Column("pa_id", sa.String(64), primary_key=True),
    sa.Column("resource", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
"""Each authorization's PDex Prior Authorization, rewritten in the transaction of every
change, so exports copy it without rendering."""
