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

from typing import Any

import sqlalchemy as sa

from davinci_pa.errors import RequestError
from davinci_pa.fhir.json import obj, objects
from davinci_pa.pas.request import PasRequest
from davinci_pa.pas.submission import member_id
from davinci_pa.store.access_records import AccessRecords, MemberRow, keep_member, members_born
from davinci_pa.store.clock import Clock, utc_now
from davinci_pa.store.database import Database
from davinci_pa.store.pa_access import latest_request
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

    def __init__(self, db: Database, records: AccessRecords, *, clock: Clock = utc_now) -> None:
        self._db = db
        self._records = records
        self._clock = clock

    def keep(self, conn: sa.Connection, pa_id: str) -> None:
        """Refresh the index from the authorization's latest request (a PAS change listener)."""
        bundle = latest_request(conn, pa_id)
        member = member_of_request(bundle) if bundle else None
        if member is not None:
            keep_member(conn, member, self._clock())

    def match(self, body: Any) -> Resource:
        """The ``Parameters`` out with ``MemberIdentifier``.

        Raises:
            RequestError: a part is missing or malformed (400, naming it).
            NoMemberMatch: no single member matches (422).
        """
        parts = _parts(body)
        _check_consent(parts["Consent"])
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
        identifier = {"type": {"coding": [MEMBER_TYPE]}, "value": found[0].member_id}
        if found[0].member_system:
            identifier["system"] = found[0].member_system
        return {
            "resourceType": "Parameters",
            "parameter": [{"name": "MemberIdentifier", "valueIdentifier": identifier}],
        }


def _parts(body: Any) -> dict[str, Resource]:
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
    missing = [p for p in ("MemberPatient", "CoverageToMatch", "Consent") if p not in found]
    if missing:
        raise RequestError(f"$member-match needs the parts {missing}")
    return found


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
