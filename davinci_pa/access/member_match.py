"""Payer-to-Payer ``Patient/$member-match`` (HRex 1.0.0 §Member Match; CMS-0057-F 156.223).

A member's new payer sends what it knows (``MemberPatient``, ``CoverageToMatch`` as the member
had it with us, ``CoverageToLink``, the member's ``Consent``); we answer with our member
identifier when exactly one member matches, else 422. The index of members is kept from the
PAS requests (:func:`member_of_request`, written with every PAS change).

Matching: same birth date and family name (case-insensitive), and a Coverage identifier or
``subscriberId`` of ``CoverageToMatch`` among those our requests carried, or, when it carries
none, the same first given name and gender. The Consent must be active, ``permit``, with the
HRex ``regular`` or ``sensitive`` policy; a match records the member's Payer-to-Payer opt-in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from davinci_pa.access.disclosure import DisclosureLog
from davinci_pa.errors import RequestError
from davinci_pa.fhir.json import obj, objects
from davinci_pa.pas.request import PasRequest
from davinci_pa.pas.submission import member_id
from davinci_pa.store.access_records import (
    AccessRecords,
    GroupRow,
    MemberRow,
    keep_member,
    members_born,
)
from davinci_pa.store.clock import Clock, utc_now
from davinci_pa.store.database import Database
from davinci_pa.store.pa_access import Exchange
from davinci_pa.types import Resource

HREX_CONSENT = "http://hl7.org/fhir/us/davinci-hrex/StructureDefinition-hrex-consent.html"
CONSENT_POLICIES = (HREX_CONSENT + "#regular", HREX_CONSENT + "#sensitive")
MEMBER_TYPE = {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MB"}
PARTS = {
    "MemberPatient": "Patient",
    "CoverageToMatch": "Coverage",
    "CoverageToLink": "Coverage",
    "Consent": "Consent",
}


MATCH_RESULTS = "http://hl7.org/fhir/us/davinci-pdex/CodeSystem/PdexMultiMemberMatchResultCS"
MATCH_CODES = {
    "match": "Matched",
    "nomatch": "Not Matched",
    "consentconstraint": "Consent Constraint",
}
EXT_MATCH_PARAMETERS = (
    "http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/base-ext-match-parameters"
)
_GROUPS = "http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/"
MATCH_PROFILES = {
    "match": _GROUPS + "pdex-member-match-group",
    "nomatch": _GROUPS + "pdex-member-no-match-group",
    "consentconstraint": _GROUPS + "pdex-member-no-match-group",
}


class NoMemberMatch(RequestError):
    """``$member-match`` found no single member (HRex: 422)."""

    code = "no-member-match"
    http_status = 422
    issue_type = "not-found"


def member_of_request(bundle: Resource) -> MemberRow | None:
    """The member a stored PAS request Bundle describes, for the index."""
    request = PasRequest.stored(bundle)
    member = member_id(request)
    if member is None:
        return None
    patient: Resource = {}
    coverage_ids: list[str] = []
    system = None
    for insurance in objects(request.claim.get("insurance")):
        coverage = request.resolve(insurance.get("coverage")) or {}
        patient = patient or request.resolve(coverage.get("beneficiary")) or {}
        coverage_ids.extend(_coverage_keys(coverage))
        for ident in objects(coverage.get("identifier")):
            if ident.get("value") == member:
                system = ident.get("system") if isinstance(ident.get("system"), str) else system
    patient = patient or request.resolve(request.claim.get("patient")) or {}
    name = next(iter(objects(patient.get("name"))), {})
    given = next(iter(name.get("given") or []), None)
    return MemberRow(
        member,
        system,
        _text(name.get("family")),
        _text(given),
        _text(patient.get("birthDate")),
        _text(patient.get("gender")),
        tuple(coverage_ids),
    )


class MemberMatch:
    """Answers ``$member-match`` from the member index."""

    def __init__(
        self,
        db: Database,
        records: AccessRecords,
        *,
        clock: Clock = utc_now,
        disclosures: DisclosureLog | None = None,
    ) -> None:
        self._db = db
        self._records = records
        self._clock = clock
        self._disclosures = disclosures

    def keep(self, conn: sa.Connection, exchange: Exchange) -> None:
        """Refresh the index from the authorization's latest request (inside a PAS change)."""
        member = member_of_request(exchange.request)
        if member is not None:
            keep_member(conn, member, self._clock())

    def match(self, body: Any, *, recipient: str | None = None) -> Resource:
        """The ``Parameters`` out with ``MemberIdentifier``.

        Raises:
            RequestError: a part is missing or malformed (400, naming it).
            NoMemberMatch: no single member matches (422).
        """
        parts = _parts(body)
        _check_consent(parts["Consent"])
        found = self._one(parts)
        self._disclosed([found.member_id], recipient, "$member-match")
        identifier = {"type": {"coding": [MEMBER_TYPE]}, "value": found.member_id}
        if found.member_system:
            identifier["system"] = found.member_system
        return {
            "resourceType": "Parameters",
            "parameter": [{"name": "MemberIdentifier", "valueIdentifier": identifier}],
        }

    def bulk_match(self, body: Any, *, owner: str | None, new_id: Callable[[], str]) -> Resource:
        """PDex ``Group/$bulk-member-match``: the matched members as a stored Group.

        Each ``MemberBundle`` is matched as ``$member-match`` does; a member without a valid
        Consent goes to ``ConsentConstraint``, one without a single match to ``NoMatch``.
        The matched Group (PDex ``pdex-member-match-group``) is kept, so its owner can export
        the members' prior authorizations (``Group/{id}/$davinci-data-export``).
        """
        bundles = _member_bundles(body)
        results: dict[str, list[tuple[Resource, str | None]]] = {k: [] for k in MATCH_CODES}
        for parts in bundles:
            try:
                _check_consent(parts.get("Consent", {}))
            except RequestError:
                results["consentconstraint"].append((parts["MemberPatient"], None))
                continue
            try:
                member = self._one(parts)
            except NoMemberMatch:
                results["nomatch"].append((parts["MemberPatient"], None))
                continue
            results["match"].append((parts["MemberPatient"], member.member_id))
        matched = _result_group("match", results["match"]) | {"id": new_id()}
        self._disclosed([m for _, m in results["match"] if m], owner, "$bulk-member-match")
        self._records.put_group(
            GroupRow(matched["id"], owner, matched, self._clock()),
            [m for _, m in results["match"] if m],
        )
        return {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "ResourceIdentifier", "resource": matched},
                {"name": "NoMatch", "resource": _result_group("nomatch", results["nomatch"])},
                {
                    "name": "ConsentConstraint",
                    "resource": _result_group("consentconstraint", results["consentconstraint"]),
                },
            ],
        }

    def _disclosed(self, members: list[str], recipient: str | None, what: str) -> None:
        if self._disclosures is not None:
            self._disclosures.record(
                members, recipient, interaction="operation", purpose="COC", what=what
            )

    def _one(self, parts: dict[str, Resource]) -> MemberRow:
        patient = parts["MemberPatient"]
        name = next(iter(objects(patient.get("name"))), {})
        family, birth = _text(name.get("family")), _text(patient.get("birthDate"))
        if not family or not birth:
            raise RequestError("MemberPatient needs name.family and birthDate to be matched")
        wanted = set(_coverage_keys(parts["CoverageToMatch"]))
        candidates = members_born(self._db, birth, family)
        if wanted:
            found = [m for m in candidates if wanted & set(m.coverage_ids)]
        else:
            given = _text(next(iter(name.get("given") or []), None))
            found = [
                m for m in candidates if _same(m.given, given) and m.gender == patient.get("gender")
            ]
        if len(found) != 1:
            raise NoMemberMatch(
                "no member matches the demographics and coverage given"
                if not found
                else "more than one member matches; send the coverage identifier"
            )
        self._records.choose(found[0].member_id, self._clock(), payer_to_payer_opt_in=True)
        return found[0]


def _result_group(code: str, members: list[tuple[Resource, str | None]]) -> Resource:
    """A PDex match-result Group of the submitted Patients (contained).

    Each member points to its Patient (``base-ext-match-parameters``); matched ones are
    ``Patient/{member id}``.
    """
    contained, entries = [], []
    for n, (patient, member) in enumerate(members, 1):
        contained.append({k: v for k, v in patient.items() if k != "id"} | {"id": str(n)})
        entity: dict[str, Any] = {
            "extension": [{"url": EXT_MATCH_PARAMETERS, "valueReference": {"reference": f"#{n}"}}]
        }
        entity["reference" if member else "display"] = (
            f"Patient/{member}" if member else "not matched"
        )
        entries.append({"entity": entity})
    group: dict[str, Any] = {
        "resourceType": "Group",
        "meta": {"profile": [MATCH_PROFILES[code]]},
        "type": "person",
        "actual": True,
        "code": {"coding": [{"system": MATCH_RESULTS, "code": code, "display": MATCH_CODES[code]}]},
        "quantity": len(entries),
    }
    if contained:
        group |= {"contained": contained, "member": entries}
    return group


def _parts(body: Any, *, consent_required: bool = True) -> dict[str, Resource]:
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise RequestError("$member-match takes a FHIR Parameters resource (HRex member-match-in)")
    found: dict[str, Resource] = {}
    for n, parameter in enumerate(objects(body.get("parameter"))):
        name = parameter.get("name")
        if name not in PARTS:
            raise RequestError(f"Parameters.parameter[{n}]: unknown part {str(name)[:40]!r}")
        resource = obj(parameter.get("resource"))
        if resource.get("resourceType") != PARTS[name]:
            raise RequestError(f"{name} must hold a {PARTS[name]} resource")
        found[str(name)] = resource
    required = ("MemberPatient", "CoverageToMatch", *(("Consent",) if consent_required else ()))
    missing = [p for p in required if p not in found]
    if missing:
        raise RequestError(f"$member-match needs the parts {missing}")
    return found


def _member_bundles(body: Any) -> list[dict[str, Resource]]:
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise RequestError("$bulk-member-match takes a FHIR Parameters of MemberBundle parts")
    bundles = []
    for n, parameter in enumerate(objects(body.get("parameter"))):
        if parameter.get("name") != "MemberBundle":
            raise RequestError(f"Parameters.parameter[{n}] must be a MemberBundle")
        parts = {
            "resourceType": "Parameters",
            "parameter": [
                p for p in objects(parameter.get("part")) if p.get("name") != "MemberIdentifier"
            ],
        }
        try:
            bundles.append(_parts(parts, consent_required=False))
        except RequestError as error:
            raise RequestError(f"MemberBundle {n}: {error.message}") from None
    if not bundles:
        raise RequestError("$bulk-member-match needs at least one MemberBundle")
    return bundles


def _check_consent(consent: Resource) -> None:
    policies = {obj(p).get("uri") for p in objects(consent.get("policy"))}
    if consent.get("status") != "active" or obj(consent.get("provision")).get("type") != "permit":
        raise RequestError("Consent must be active with provision.type 'permit' (HRex Consent)")
    if not policies & set(CONSENT_POLICIES):
        raise RequestError(f"Consent.policy.uri must be one of {list(CONSENT_POLICIES)}")


def _coverage_keys(coverage: Resource) -> list[str]:
    keys = [
        f"{i.get('system', '')}|{i['value']}"
        for i in objects(coverage.get("identifier"))
        if isinstance(i.get("value"), str)
    ]
    if isinstance(coverage.get("subscriberId"), str):
        keys.append(f"subscriber|{coverage['subscriberId']}")
    return [k.replace(",", " ") for k in keys]


def _same(stored: str | None, given: str | None) -> bool:
    return bool(stored and given and stored == given.lower())


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
