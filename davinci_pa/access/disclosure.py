"""Disclosures of a member's PA data as IHE BALP PrivacyDisclosure AuditEvents (Source).

Every Patient Access answer, Provider Access or Payer-to-Payer export and member match
records one AuditEvent per member disclosed: ``type`` DICOM 110106 (Export), ``subtype`` ISO
21089 ``disclose`` and the FHIR interaction, ``action`` R, the source (us, DICOM 110153) and
the recipient (the client, DICOM 110152) as agents, the member (``Patient/{member id}``,
entity type 1 / role 1) and what was disclosed as entities.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from davinci_pa.store.access_records import Disclosures
from davinci_pa.store.clock import Clock, utc_now
from davinci_pa.types import Resource

BALP_SOURCE = (
    "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PrivacyDisclosure.Source"
)
DCM = "http://dicom.nema.org/resources/ontology/DCM"
ISO_21089 = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
INTERACTIONS = "http://hl7.org/fhir/restful-interaction"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
ENTITY_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
PURPOSE = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"


class DisclosureLog:
    """Records disclosures for one payer server."""

    def __init__(
        self,
        store: Disclosures,
        server: str,
        *,
        clock: Clock = utc_now,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._store = store
        self._server = server
        self._clock = clock
        self._new_id = new_id

    def record(
        self,
        members: Sequence[str],
        recipient: str | None,
        *,
        interaction: str,
        purpose: str,
        what: str,
    ) -> None:
        """One AuditEvent per member.

        ``interaction``: ``read``, ``search-type`` or ``operation``; ``purpose``: a v3
        ActReason (``PATRQT``, ``TREAT``, ``COC``); ``what``: the request or file disclosed.
        """
        now = self._clock()
        unique = list(dict.fromkeys(members))
        for start in range(0, len(unique), 1000):  # bounded memory for large exports
            events = [
                (m, recipient, self._event(m, recipient, interaction, purpose, what, now))
                for m in unique[start : start + 1000]
            ]
            self._store.add(events, now)

    def of_member(self, member: str) -> list[Resource]:
        """The AuditEvents of the member's disclosures, newest first."""
        return self._store.of_member(member)

    def _event(
        self,
        member: str,
        recipient: str | None,
        interaction: str,
        purpose: str,
        what: str,
        now: datetime,
    ) -> Resource:
        source_role = _coding(DCM, "110153", "Source Role ID")
        destination_role = _coding(DCM, "110152", "Destination Role ID")
        return {
            "resourceType": "AuditEvent",
            "id": self._new_id(),
            "meta": {"profile": [BALP_SOURCE]},
            "type": _coding(DCM, "110106", "Export"),
            "subtype": [
                _coding(ISO_21089, "disclose", "Disclose Record Lifecycle Event"),
                _coding(INTERACTIONS, interaction),
            ],
            "action": "R",
            "recorded": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "outcome": "0",
            "purposeOfEvent": [{"coding": [_coding(PURPOSE, purpose)]}],
            "agent": [
                {
                    "type": {"coding": [source_role]},
                    "who": {"display": self._server},
                    "requestor": False,
                },
                {
                    "type": {"coding": [destination_role]},
                    "who": {"display": recipient or "unknown client"},
                    "requestor": True,
                },
            ],
            "source": {
                "observer": {"display": self._server},
                "type": [_coding(SOURCE_TYPE, "4", "Application Server")],
            },
            "entity": [
                {
                    "what": {"reference": f"Patient/{member}"},
                    "type": _coding(ENTITY_TYPE, "1", "Person"),
                    "role": _coding(ENTITY_ROLE, "1", "Patient"),
                },
                {
                    "what": {"display": what[:500]},
                    "type": _coding(ENTITY_TYPE, "2", "System Object"),
                },
            ],
        }


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    return {"system": system, "code": code} | ({"display": display} if display else {})
