"""Provider Access (CMS-0057-F, 45 CFR 156.222): attribution Groups and bulk export.

A payer's attribution system writes the members each in-network provider treats as PDex
``pdex-provider-group`` Groups (``Patient/{member id}`` entries). A provider's system starts
an export with the FHIR Bulk Data kick-off (``Group/{id}/$davinci-data-export``): a job
writes the members' PDex Prior Authorizations (denied ones included; members who opted out
of Provider Access left out) to NDJSON files that expire; the status URL answers 202 while it
runs and the manifest when done (Bulk Data Access IG 2.0 §Export).
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from davinci_pa.access.disclosure import DisclosureLog
from davinci_pa.access.patient import PriorAuthorizationRenderer
from davinci_pa.errors import DavinciError, ForbiddenError, RequestError, ResourceNotFound
from davinci_pa.fhir.json import obj, objects
from davinci_pa.store.access_records import (
    ACCEPTED,
    COMPLETE,
    ERROR,
    AccessRecords,
    ExportRow,
    GroupRow,
)
from davinci_pa.store.clock import Clock, utc_now
from davinci_pa.store.pa_access import PaAccessStore
from davinci_pa.types import Resource

PROVIDER_GROUP = "http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/pdex-provider-group"
EXT_OPTED_OUT = "http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/base-ext-members-opted-out"
EXPORT_TYPES = ("ExplanationOfBenefit",)
OUTPUT_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
PAYER_TO_PAYER_YEARS = timedelta(days=5 * 365 + 1)
"""Payer-to-Payer exchanges up to five years of prior authorizations."""
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


class ExportFailed(DavinciError):
    """A bulk export ended in an error; its status URL says which."""

    code = "export-failed"
    http_status = 500
    issue_type = "exception"


class ProviderAccess:
    """Attribution Groups, member opt-out and the bulk export behind them."""

    def __init__(
        self,
        records: AccessRecords,
        store: PaAccessStore,
        renderer: PriorAuthorizationRenderer,
        *,
        folder: Path,
        keep: timedelta = timedelta(hours=24),
        lease: timedelta = timedelta(minutes=10),
        clock: Clock = utc_now,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        disclosures: DisclosureLog | None = None,
    ) -> None:
        self.records = records
        self._disclosures = disclosures
        self._store = store
        self._renderer = renderer
        self._folder = folder
        self._keep = keep
        self._lease = lease
        self._clock = clock
        self._new_id = new_id

    # -- Groups --------------------------------------------------------------------------

    def put_group(
        self, body: Any, *, group_id: str | None, owner: str | None
    ) -> tuple[Resource, bool]:
        """Create (``group_id`` None: a new id) or replace a Group; ``(Group, created)``."""
        members = _group_members(body)
        if group_id is not None and not _ID.match(group_id):
            raise RequestError("a Group id is 1-64 letters, digits, '-' or '.'")
        if group_id is not None and body.get("id") not in (None, group_id):
            raise RequestError(f"Group.id '{body.get('id')}' differs from the URL's '{group_id}'")
        existing = self.records.group(group_id) if group_id else None
        if existing is not None and existing.owner not in (None, owner):
            raise ForbiddenError("this Group was written by another system")
        now = self._clock()
        resource = dict(body) | {"id": group_id or self._new_id()}
        meta = obj(resource.get("meta"))
        profiles = [p for p in _strings(meta.get("profile")) if p != PROVIDER_GROUP]
        resource["meta"] = meta | {
            "lastUpdated": _instant(now),
            "profile": [PROVIDER_GROUP, *profiles],
        }
        created = self.records.put_group(GroupRow(resource["id"], owner, resource, now), members)
        return resource, created

    def group(self, group_id: str) -> Resource:
        """A stored Group with its current opted-out count (PDex ``members-opted-out``)."""
        row = self.records.group(group_id)
        if row is None:
            raise ResourceNotFound(f"no Group {group_id}")
        opted_out = len(self.records.members(group_id)) - len(
            self.records.members(group_id, provider_access=True)
        )
        kept = [e for e in objects(row.resource.get("extension")) if e.get("url") != EXT_OPTED_OUT]
        counted = {"url": EXT_OPTED_OUT, "valueQuantity": {"value": opted_out}}
        return row.resource | {"extension": [*kept, counted]}

    # -- exports -------------------------------------------------------------------------

    def export_kind(self, group_id: str, client: str | None) -> str:
        """``payer`` for a Payer-to-Payer match Group (its owner only), else ``provider``.

        Raises:
            ResourceNotFound: no such Group, or another payer's match Group (404).
        """
        row = self.records.group(group_id)
        if row is None:
            raise ResourceNotFound(f"no Group {group_id}")
        codes = {c.get("code") for c in objects(obj(row.resource.get("code")).get("coding"))}
        if "match" not in codes:
            return "provider"
        if row.owner != client:
            raise ResourceNotFound(f"no Group {group_id}")
        return "payer"

    def kick_off(
        self,
        group_id: str,
        client: str | None,
        params: Mapping[str, Sequence[str]],
        request_url: str,
        *,
        kind: str = "provider",
    ) -> ExportRow:
        """Queue an export of the Group's members' prior authorizations.

        Raises:
            ResourceNotFound: no such Group (404).
            RequestError: an unsupported ``_type``, ``_outputFormat`` or a bad ``_since``.
        """
        if self.records.group(group_id) is None:
            raise ResourceNotFound(f"no Group {group_id}")
        row = ExportRow(
            id=self._new_id(),
            kind=kind,
            group_id=group_id,
            client=client,
            since=_export_since(params),
            request_url=request_url[:2048],
            status=ACCEPTED,
            requested_at=self._clock(),
        )
        self.records.add_export(row)
        return row

    def status(self, export_id: str, client: str | None) -> ExportRow:
        """The export, for the client that started it (404 otherwise, or when expired)."""
        row = self.records.export(export_id)
        if row is None or row.client != client:
            raise ResourceNotFound(f"no export {export_id}")
        return row

    def output_file(self, export_id: str, name: str, client: str | None) -> Path:
        """The path of one output file of a complete export."""
        row = self.status(export_id, client)
        names = {Path(str(o["url"])).name for o in row.output or ()}
        if row.status != COMPLETE or name not in names:
            raise ResourceNotFound(f"no file {name} in export {export_id}")
        return self._folder / export_id / name

    def cancel(self, export_id: str, client: str | None) -> None:
        """Delete an export and its files (Bulk Data ``DELETE`` on the status URL)."""
        self.status(export_id, client)
        self.records.delete_export(export_id)
        shutil.rmtree(self._folder / export_id, ignore_errors=True)

    def run_next(self) -> str | None:
        """Run the oldest waiting export (the job worker calls this); its id, or ``None``."""
        row = self.records.lease_export(self._clock(), self._lease)
        if row is None:
            return None
        try:
            output = self._write(row)
        except (OSError, ValueError) as exc:
            self.records.finish_export(
                row.id,
                status=ERROR,
                error=f"{type(exc).__name__}: {exc}"[:500],
                completed_at=self._clock(),
            )
            return row.id
        now = self._clock()
        self.records.finish_export(
            row.id, status=COMPLETE, output=output, completed_at=now, expires_at=now + self._keep
        )
        return row.id

    def purge(self) -> int:
        """Delete exports (and files) past their expiry; how many."""
        expired = self.records.expired_exports(self._clock())
        for export_id in expired:
            self.records.delete_export(export_id)
            shutil.rmtree(self._folder / export_id, ignore_errors=True)
        return len(expired)

    def _write(self, row: ExportRow) -> list[dict[str, Any]]:
        if row.kind == "payer":  # opted in; five years; no denials (CMS-0057-F 156.223)
            members = [m for m in self.records.members(row.group_id) if self.records.choices(m)[1]]
            batches = self._store.of_members(
                members,
                since=row.requested_at - PAYER_TO_PAYER_YEARS,
                changed_after=row.since,
                exclude_denied=True,
            )
        else:
            members = self.records.members(row.group_id, provider_access=True)
            batches = self._store.of_members(members, changed_after=row.since)
        target = self._folder / row.id
        target.mkdir(parents=True, exist_ok=True)
        path = target / "ExplanationOfBenefit.ndjson"
        count = 0
        with path.open("w", encoding="utf-8") as out:
            for batch in batches:
                for found in batch:
                    line = (
                        found
                        if isinstance(found, str)
                        else json.dumps(self._renderer.render(found))
                    )
                    out.write(line + "\n")
                    count += 1
        if self._disclosures is not None:
            purpose = "COC" if row.kind == "payer" else "TREAT"
            what = f"bulk export {row.id} of Group/{row.group_id}"
            self._disclosures.record(
                members, row.client, interaction="operation", purpose=purpose, what=what
            )
        return [{"type": "ExplanationOfBenefit", "url": path.name, "count": count}]


def _group_members(body: Any) -> list[str]:
    """The member ids of a Provider Access Group, its shape checked (400 naming the part)."""
    if not isinstance(body, dict) or body.get("resourceType") != "Group":
        raise RequestError("the body must be a FHIR Group")
    if body.get("type") != "person" or body.get("actual") is not True:
        raise RequestError("an attribution Group has type 'person' and actual true")
    members = []
    for n, member in enumerate(objects(body.get("member"))):
        reference = obj(member.get("entity")).get("reference")
        found = re.match(r"^Patient/([A-Za-z0-9\-.]{1,64})$", str(reference))
        if found is None:
            raise RequestError(f"Group.member[{n}].entity must reference Patient/{{member id}}")
        if member.get("inactive") is not True:
            members.append(found.group(1))
    if not isinstance(body.get("member", []), list):
        raise RequestError("Group.member must be a list")
    return members


def _export_since(params: Mapping[str, Sequence[str]]) -> datetime | None:
    types = [t for v in params.get("_type", ()) for t in v.split(",") if t]
    unsupported = sorted(set(types) - set(EXPORT_TYPES))
    if unsupported:
        raise RequestError(
            f"_type {unsupported} is not exported; this export has {list(EXPORT_TYPES)}"
        )
    formats = params.get("_outputFormat", ())
    if any(f not in OUTPUT_FORMATS for f in formats):
        raise RequestError(f"_outputFormat must be one of {list(OUTPUT_FORMATS)}")
    since = params.get("_since", ())
    if not since:
        return None
    try:
        moment = datetime.fromisoformat(since[0].replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise RequestError("_since must be a FHIR instant (a date-time with a time zone)")
    return moment


def _strings(value: Any) -> list[str]:
    """The strings of a JSON list (``meta.profile``)."""
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _instant(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
