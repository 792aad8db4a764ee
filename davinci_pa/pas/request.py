"""Reading a PAS request Bundle (PAS 2.2.1 §Request Bundle, spec-11…spec-23).

:meth:`PasRequest.parse` checks what the conformance kit checks before any profile:
``collection`` Bundle with ``identifier`` and ``timestamp``; a Claim first; each
``fullUrl`` an http(s) URL or ``urn:uuid:``; every reference reachable from the Claim
resolves to exactly one entry; unique ``supportingInfo.sequence`` and ``item.sequence``.
All problems are reported together in one :class:`InvalidPasBundle`.

An inquiry Bundle (``profile-pas-inquiry-request-bundle``, ``Claim/$inquire``) is a
query-by-example, not a request: the full-traversal rule (``spec-13``, §Request Bundle) does
not bind it. It names things the payer already holds (the earlier Claim in ``related``, the
ServiceRequest and DocumentReference sent with it), so only the parties the query is matched
on must be in the Bundle: the beneficiary, the provider making the inquiry and the insurer
(``Claim.patient``, ``Claim.provider``, ``Claim.insurer``, each 1..1 in the Claim Inquiry
profile).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from davinci_pa.errors import RequestError
from davinci_pa.fhir.json import obj, objects
from davinci_pa.types import Resource

_UUID = re.compile(r"^urn:uuid:[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_RTYPE = re.compile(r"^[A-Z][A-Za-z]+$")
INQUIRY_PARTIES = ("patient", "provider", "insurer")


class InvalidPasBundle(RequestError):
    """The request Bundle is not a usable PAS Bundle (PAS spec-35: 4xx + OperationOutcome)."""

    code = "invalid-pas-bundle"


@dataclass(frozen=True, slots=True)
class PasRequest:
    """A parsed request Bundle: the Claim first, every entry indexed by fullUrl."""

    bundle: Resource
    claim: Resource
    entries: dict[str, Resource]
    base: str

    @classmethod
    def parse(cls, body: Any, *, first: str = "Claim", inquiry: bool = False) -> PasRequest:
        """Check and index a Bundle whose first entry is a ``first`` resource.

        ``inquiry``: an ``$inquire`` Bundle, whose Claim need only resolve its parties.
        """
        problems = _bundle_problems(body)
        entries = objects(obj(body).get("entry"))
        claim = obj(entries[0].get("resource")) if entries else {}
        if entries and claim.get("resourceType") != first:
            problems.append(f"Bundle.entry[0].resource must be a {first} (PAS spec-12)")
        index = _index(entries, problems)
        base = _base(str(entries[0].get("fullUrl", ""))) if entries else ""
        request = cls(obj(body), claim, index, base)
        if not problems:
            problems.extend(json_shape_problems(request.bundle, "Bundle"))
        if not problems:
            if inquiry:
                problems.extend(request._party_problems())
            else:
                problems.extend(request._reference_problems())
                problems.extend(request._unreachable_problems())
                problems.extend(request._update_depth_problems())
            problems.extend(_sequence_problems(claim))
        if problems:
            raise InvalidPasBundle(
                f"the {first} Bundle is not a valid PAS Bundle", details={"problems": problems}
            )
        return request

    @classmethod
    def stored(cls, bundle: Resource) -> PasRequest:
        """Index a request Bundle that was checked when it was received (no checks again)."""
        entries = objects(bundle.get("entry"))
        claim = obj(entries[0].get("resource")) if entries else {}
        base = _base(str(entries[0].get("fullUrl", ""))) if entries else ""
        return cls(bundle, claim, _index(entries, []), base)

    def resolve(self, reference: Any) -> Resource | None:
        """Return the entry a Reference (object or string) points to, if it is in the Bundle."""
        ref = reference.get("reference") if isinstance(reference, dict) else reference
        if not isinstance(ref, str) or not ref:
            return None
        for candidate in (ref, f"{self.base}{ref}"):
            if candidate in self.entries:
                return self.entries[candidate]
        return None

    def full_url(self, resource: Resource) -> str | None:
        """The fullUrl under which ``resource`` appears."""
        return next((url for url, r in self.entries.items() if r is resource), None)

    def of_type(self, rtype: str) -> list[Resource]:
        """Every entry resource of a type."""
        return [r for r in self.entries.values() if r.get("resourceType") == rtype]

    def _reference_problems(self) -> list[str]:
        problems = []
        for path, ref in _references(self.claim, "Claim"):
            if ref.startswith("#"):
                continue
            if self.resolve(ref) is None:
                problems.append(f"{path}: '{ref}' does not resolve to an entry (PAS spec-13)")
        return problems

    def _unreachable_problems(self) -> list[str]:
        """PAS spec-20 (and spec-13): every entry is reached from the Claim by references."""
        reached = {id(self.claim)}
        pending = [self.claim]
        while pending:
            for _path, ref in _references(pending.pop(), "x"):
                target = self.resolve(ref)
                if target is not None and id(target) not in reached:
                    reached.add(id(target))
                    pending.append(target)
        return [
            f"Bundle entry {url} is not referenced from the Claim (PAS spec-20)"
            for url, resource in self.entries.items()
            if id(resource) not in reached
        ]

    def _update_depth_problems(self) -> list[str]:
        """PAS spec-66: the prior Claim of an update goes in, not the one before it."""
        problems = []
        for related in objects(self.claim.get("related")):
            prior = self.resolve(obj(related.get("claim")))
            for earlier in objects((prior or {}).get("related")):
                ref = obj(earlier.get("claim")).get("reference")
                if self.resolve(ref) is not None:
                    problems.append(
                        f"Claim.related: the prior Claim's own prior Claim {ref} must not be "
                        "included (PAS spec-66)"
                    )
        return problems

    def _party_problems(self) -> list[str]:
        problems = []
        for party in INQUIRY_PARTIES:
            ref = obj(self.claim.get(party)).get("reference")
            if not isinstance(ref, str):
                problems.append(f"Claim.{party}: an inquiry names its {party} by reference")
            elif self.resolve(ref) is None:
                problems.append(f"Claim.{party}: '{ref}' does not resolve to an entry")
        return problems


def json_shape_problems(value: Any, path: str, limit: int = 20) -> list[str]:
    """FHIR JSON rules every element obeys (R4 §JSON representation; Extension.url 1..1).

    No ``null`` values, no empty objects or arrays, and every ``extension`` and
    ``modifierExtension`` an array of objects with a string ``url``.
    """
    problems: list[str] = []
    pending: list[tuple[str, Any]] = [(path, value)]
    while pending and len(problems) < limit:
        where, node = pending.pop()
        if node is None or node == {} or node == []:
            problems.append(f"{where}: FHIR JSON has no null values, empty objects or arrays")
        elif isinstance(node, dict):
            for key in ("extension", "modifierExtension"):
                if key in node and not _extensions(node[key]):
                    problems.append(f"{where}.{key}: must be an array of objects with a 'url'")
            pending.extend((f"{where}.{key}", child) for key, child in node.items())
        elif isinstance(node, list):
            pending.extend((f"{where}[{n}]", child) for n, child in enumerate(node))
    return problems


def _extensions(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(e, dict) and isinstance(e.get("url"), str) for e in value
    )


def _bundle_problems(body: Any) -> list[str]:
    bundle = obj(body)
    problems = []
    if bundle.get("resourceType") != "Bundle":
        return ["the body must be a FHIR Bundle"]
    if bundle.get("type") != "collection":
        problems.append("Bundle.type must be 'collection'")
    if not obj(bundle.get("identifier")).get("value"):
        problems.append("Bundle.identifier is required (1..1)")
    if not isinstance(bundle.get("timestamp"), str):
        problems.append("Bundle.timestamp is required (1..1)")
    if not objects(bundle.get("entry")):
        problems.append("Bundle.entry: a PAS Bundle needs at least the Claim entry")
    return problems


def _index(entries: list[dict[str, Any]], problems: list[str]) -> dict[str, Resource]:
    index: dict[str, Resource] = {}
    for n, entry in enumerate(entries):
        url, resource = entry.get("fullUrl"), obj(entry.get("resource"))
        if not isinstance(url, str) or not (
            url.startswith(("http://", "https://")) or _UUID.match(url)
        ):
            problems.append(
                f"Bundle.entry[{n}].fullUrl must be an http(s) URL or urn:uuid (spec-16)"
            )
            continue
        if not _RTYPE.match(str(resource.get("resourceType", ""))):
            problems.append(f"Bundle.entry[{n}].resource is missing or has no resourceType")
            continue
        if url in index:
            problems.append(f"Bundle.entry[{n}].fullUrl {url} appears twice (PAS spec-14)")
        for key in ("request", "response", "search"):
            if key in entry:
                problems.append(f"Bundle.entry[{n}].{key} is not allowed in a PAS Bundle")
        index[url] = resource
    return index


def _base(full_url: str) -> str:
    parts = full_url.split("/")
    return "/".join(parts[:-2]) + "/" if len(parts) > 2 and full_url.startswith("http") else ""


def _references(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        ref = value.get("reference")
        if isinstance(ref, str):
            yield path, ref
        for key, child in value.items():
            if key not in {"contained", "reference"}:
                yield from _references(child, f"{path}.{key}")
    elif isinstance(value, list):
        for n, child in enumerate(value):
            yield from _references(child, f"{path}[{n}]")


def _sequence_problems(claim: Resource) -> list[str]:
    problems = []
    for field in ("item", "supportingInfo", "careTeam", "diagnosis"):
        seqs = [e.get("sequence") for e in objects(claim.get(field))]
        if any(not isinstance(s, int) or isinstance(s, bool) or s < 1 for s in seqs):
            problems.append(f"Claim.{field}.sequence must be a positive integer")
        elif len(set(seqs)) != len(seqs):
            problems.append(f"Claim.{field}.sequence values must be unique (PAS spec-22)")
    return problems
