"""Patient Access (CMS-0057-F, 45 CFR 156.221): a member reads their prior authorizations.

``search`` and ``read`` answer ``GET /fhir/ExplanationOfBenefit`` with PDex Prior
Authorizations made from the current state, so a decision is readable the moment it is
stored. A member sees only their own: the token's ``patient`` claim, translated by the
:data:`MemberMapper` hook (identity by default), must be the member id the PAS requests
carried. What is visible follows the rule's window: pended requests, and every request
changed within the window (a year by default, longer when approvals last longer).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from davinci_pa.access.disclosure import DisclosureLog
from davinci_pa.access.eob import PRE_AUTH_REF, explanation_of_benefit
from davinci_pa.access.tokens import PatientGrant
from davinci_pa.errors import ForbiddenError, RequestError, ResourceNotFound
from davinci_pa.rules.model import RulePack
from davinci_pa.store.clock import Clock, utc_now
from davinci_pa.store.pa_access import AccessFilter, Exchange, PaAccessStore, keep_resource
from davinci_pa.store.pas_records import Authorization
from davinci_pa.types import Resource

MemberMapper = Callable[[str], str | None]
"""Token ``patient`` id → member id (``None``: not a member). Identity by default."""

SEARCH_PARAMETERS = frozenset({"patient", "_id", "identifier", "_lastUpdated", "_count", "_offset"})
MAX_COUNT, DEFAULT_COUNT = 100, 20
_PREFIXES = ("ge", "gt", "le", "lt")


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of a search: the resources, the total and the next offset (if any)."""

    resources: list[Resource]
    total: int
    offset: int
    count: int

    @property
    def next_offset(self) -> int | None:
        """The offset of the next page, ``None`` on the last."""
        after = self.offset + self.count
        return after if after < self.total else None


class PriorAuthorizationRenderer:
    """Makes the PDex Prior Authorizations of stored authorizations.

    Every PAS change keeps the authorization's resource (:meth:`keep`, a change listener),
    so reads use that; one stored before resources were kept is rendered from its exchange.
    """

    def __init__(self, store: PaAccessStore, pack: RulePack) -> None:
        self._store = store
        self._pack = pack

    def render(self, exchange: Exchange) -> Resource:
        """The resource of an authorization's exchange."""
        auth = exchange.authorization
        payer = self._pack.payer(auth.payer_id) if auth.payer_id else None
        return explanation_of_benefit(exchange, payer)

    def keep(self, conn: sa.Connection, exchange: Exchange) -> None:
        """Store the authorization's resource inside the PAS change's transaction."""
        keep_resource(conn, exchange, self.render(exchange))

    def resources(self, auths: Sequence[Authorization]) -> list[Resource]:
        """The resources of ``auths``, in their order."""
        kept = self._store.stored_resources([a.pa_id for a in auths])
        missing = [a for a in auths if a.pa_id not in kept]
        kept |= {e.authorization.pa_id: self.render(e) for e in self._store.exchanges(missing)}
        return [kept[a.pa_id] for a in auths if a.pa_id in kept]

    def resource(self, auth: Authorization) -> Resource:
        """The resource of one authorization (404 when its exchange is gone)."""
        found = self.resources([auth])
        if not found:
            raise ResourceNotFound(f"prior authorization {auth.pa_id} has no stored exchange")
        return found[0]


class PatientAccess:
    """Search and read of a member's PDex Prior Authorizations."""

    def __init__(
        self,
        store: PaAccessStore,
        renderer: PriorAuthorizationRenderer,
        *,
        window: timedelta = timedelta(days=366),
        member_of: MemberMapper = lambda patient: patient,
        clock: Clock = utc_now,
        disclosures: DisclosureLog | None = None,
    ) -> None:
        self._store = store
        self._renderer = renderer
        self._window = window
        self._member_of = member_of
        self._clock = clock
        self._disclosures = disclosures

    def read(self, grant: PatientGrant, pa_id: str) -> Resource:
        """One ExplanationOfBenefit of the token's member (403 another's, 404 none)."""
        grant.require("read")
        member = self._member(grant)
        auth = self._store.visible(pa_id, self._clock() - self._window)
        if auth is None:
            raise ResourceNotFound(f"no ExplanationOfBenefit {pa_id}")
        if auth.member_id != member:
            raise ForbiddenError("this ExplanationOfBenefit is not the token's patient's")
        resource = self._renderer.resource(auth)
        self._disclosed(grant, member, "read", f"ExplanationOfBenefit/{pa_id}")
        return resource

    def search(self, grant: PatientGrant, params: Mapping[str, Sequence[str]]) -> SearchPage:
        """A page of the member's ExplanationOfBenefits for the search parameters.

        Raises:
            RequestError: an unknown or malformed parameter (400, naming it).
            ForbiddenError: ``patient`` names someone other than the token's patient.
        """
        grant.require("search")
        unknown = sorted(set(params) - SEARCH_PARAMETERS)
        if unknown:
            raise RequestError(
                f"unsupported search parameter(s) {unknown}; supported: {sorted(SEARCH_PARAMETERS)}"
            )
        member = self._member(grant)
        asked = _single(params, "patient")
        if asked is not None and asked.removeprefix("Patient/") not in {grant.patient, member}:
            raise ForbiddenError("a patient token may search only its own patient's records")
        wanted = _filter(member, self._clock() - self._window, params)
        count = _bounded_int(params, "_count", DEFAULT_COUNT, 1, MAX_COUNT)
        offset = _bounded_int(params, "_offset", 0, 0, 10_000_000)
        rows, total = self._store.page(wanted, limit=count, offset=offset)
        page = SearchPage(self._renderer.resources(rows), total, offset, count)
        if rows:
            self._disclosed(
                grant, member, "search-type", f"ExplanationOfBenefit search ({len(rows)})"
            )
        return page

    def _disclosed(self, grant: PatientGrant, member: str, interaction: str, what: str) -> None:
        if self._disclosures is not None:
            recipient = f"patient app of {grant.subject or 'member'} ({grant.issuer})"
            self._disclosures.record(
                [member], recipient, interaction=interaction, purpose="PATRQT", what=what
            )

    def _member(self, grant: PatientGrant) -> str:
        member = self._member_of(grant.patient)
        if member is None:
            raise ForbiddenError("the token's patient is not a member this payer knows")
        return member


def _filter(member: str, since: datetime, params: Mapping[str, Sequence[str]]) -> AccessFilter:
    ids = tuple(i for v in params.get("_id", ()) for i in v.split(",") if i)
    pre_auth_ref, claim = None, None
    identifier = _single(params, "identifier")
    if identifier is not None:
        system, _, value = identifier.rpartition("|")
        if not value:
            raise RequestError("'identifier' must be [system|]value")
        if system == PRE_AUTH_REF:
            pre_auth_ref = value
        else:
            claim = (system or None, value)
    updated = [_bound(raw) for raw in params.get("_lastUpdated", ())]
    return AccessFilter(member, since, ids, pre_auth_ref, claim, updated)


def _bound(raw: str) -> tuple[str, datetime]:
    """``[ge|gt|le|lt]`` + a date (midnight UTC) or a dateTime with a zone; no prefix: ``ge``."""
    prefix, text = (raw[:2], raw[2:]) if raw[:2] in _PREFIXES else ("ge", raw)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or (moment.tzinfo is None and "T" in text):
        raise RequestError(
            "'_lastUpdated' must be [ge|gt|le|lt] and a date or a dateTime with a time zone, "
            f"not '{raw[:40]}'"
        )
    return prefix, moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _single(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = params.get(name, ())
    if len(values) > 1:
        raise RequestError(f"'{name}' may be given once")
    return values[0] if values else None


def _bounded_int(
    params: Mapping[str, Sequence[str]], name: str, default: int, low: int, high: int
) -> int:
    raw = _single(params, name)
    if raw is None:
        return default
    if not raw.isdecimal() or not low <= int(raw) <= high:
        raise RequestError(f"'{name}' must be a whole number from {low} to {high}")
    return int(raw)
