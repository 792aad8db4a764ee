"""Prefetch: use what the EHR sent, query its FHIR server for the rest (CDS Hooks 2.0.1 §Prefetch).

Rules implemented (CDS Hooks 2.0.1 §Prefetch, CRD 2.2 §Foundation/Prefetch ``found-5``,
``found-32``):

* a key the request carries is used as is; ``null`` means "the EHR looked and found
  nothing" and is never re-queried; OperationOutcomes (a value, or Bundle entries) are
  errors, treated as missing and reported;
* a key not carried is rendered from its template (see :mod:`templates`) and queried on
  ``fhirServer`` with the ``fhirAuthorization`` bearer token, in declaration order, so
  later templates can use earlier results as ``%key`` variables;
* ``fhirServer`` is contacted only when it lies under one of ``allowed_fhir_servers``;
* :class:`~davinci_pa.errors.PrefetchUnavailable` (412) is raised only for keys the caller
  marks as required that are missing and cannot be queried at all (no ``fhirServer``, not
  allowed, no token); FHIR server failures leave the key missing and are reported in
  :attr:`PrefetchResult.problems` so the CRD layer can answer "indeterminate/technical".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from davinci_pa.cdshooks.hooks import HookRequest
from davinci_pa.cdshooks.templates import PrefetchTemplate, compile_template
from davinci_pa.errors import FhirServerError, PrefetchUnavailable, ResourceNotFound
from davinci_pa.fhir.client import AllowList, FhirClient, RequestsFhirClient
from davinci_pa.fhir.fhirpath import FhirPathError
from davinci_pa.fhir.index import ResourceIndex, reference_key
from davinci_pa.types import Resource

ClientFactory = Callable[[str, str], FhirClient]
"""Builds a FHIR client from ``(fhirServer, access_token)``."""


@dataclass(frozen=True, slots=True)
class PrefetchResult:
    """The prefetch data a service works with.

    ``data[key]`` is a resource (often a searchset Bundle) or ``None`` (looked, nothing
    found); a key absent from ``data`` is unknown (not applicable, or unavailable: see
    ``problems``).
    """

    data: dict[str, Resource | None]
    fetched: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def resources(self, key: str) -> list[Resource]:
        """The resources under ``key``: the resource itself, or a Bundle's entry resources."""
        value = self.data.get(key)
        if value is None:
            return []
        if value.get("resourceType") != "Bundle":
            return [value]
        return [
            entry["resource"]
            for entry in value.get("entry") or []
            if isinstance(entry, Mapping) and isinstance(entry.get("resource"), dict)
        ]


def index_request(request: HookRequest, data: Mapping[str, Any] | None = None) -> ResourceIndex:
    """Index the request's context resources, then prefetch data, for reference resolution."""
    index = ResourceIndex(base_url=request.fhir_server)
    for value in request.context.values():
        index.add_all(value if isinstance(value, list) else [value])
    index.add_all((data if data is not None else request.prefetch).values())
    return index


class PrefetchResolver:
    """Resolves a service's prefetch templates for one hook request at a time.

    Args:
        templates: key → template, in discovery order (dependencies first).
        allowed_fhir_servers: URL prefixes of FHIR servers that may be queried.
        client_factory: builds the FHIR client; defaults to :class:`RequestsFhirClient`
            sharing one HTTP session.
        budget_seconds: total time for fallback queries of one request; keys left when it
            is spent stay missing (reported).
        clock: monotonic seconds.

    Raises:
        ConfigurationError: a template is not valid.
    """

    def __init__(
        self,
        templates: Mapping[str, str],
        *,
        allowed_fhir_servers: AllowList | Iterable[str] = (),
        client_factory: ClientFactory | None = None,
        budget_seconds: float = 4.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.templates = tuple(compile_template(k, t) for k, t in templates.items())
        self._allowed = (
            allowed_fhir_servers
            if isinstance(allowed_fhir_servers, AllowList)
            else AllowList(allowed_fhir_servers)
        )
        self._client_factory = client_factory or _default_factory()
        self._budget = budget_seconds
        self._clock = clock

    def resolve(self, request: HookRequest, *, required: Collection[str] = ()) -> PrefetchResult:
        """Return the prefetch data for ``request``.

        Raises:
            PrefetchUnavailable: a ``required`` key is missing and cannot be queried.
        """
        run = _Run(request, self._client(request), self._clock() + self._budget, self._clock)
        for template in self.templates:
            run.settle(template)
        blocked = [k for k in required if k not in run.data and k in run.unqueryable]
        if blocked:
            raise PrefetchUnavailable(
                f"prefetch {', '.join(blocked)} missing and the FHIR server cannot be queried: "
                f"{run.unqueryable_reason}",
                details={"problems": run.problems, "keys": blocked},
            )
        return PrefetchResult(run.data, run.fetched, run.problems)

    def _client(self, request: HookRequest) -> FhirClient | str:
        """A client for the request's FHIR server, or the reason there is none."""
        if not request.fhir_server:
            return "the request has no fhirServer"
        if not self._allowed.permits(request.fhir_server):
            return f"fhirServer {request.fhir_server} is not on the allow list"
        if request.fhir_authorization is None:
            return "the request has no fhirAuthorization access token"
        token = request.fhir_authorization.access_token
        return self._client_factory(request.fhir_server, token)


def _default_factory() -> ClientFactory:
    session = requests.Session()

    def factory(base_url: str, token: str) -> FhirClient:
        return RequestsFhirClient(base_url, token=token, session=session)

    return factory


class _Run:
    """State of one resolution: data gathered so far, the index, problems."""

    def __init__(
        self,
        request: HookRequest,
        client: FhirClient | str,
        deadline: float,
        clock: Callable[[], float],
    ) -> None:
        self.request = request
        self.client = client
        self.deadline = deadline
        self.clock = clock
        self.data: dict[str, Resource | None] = {}
        self.fetched: list[str] = []
        self.problems: list[str] = []
        self.unqueryable: set[str] = set()
        self.index = index_request(request, {})

    @property
    def unqueryable_reason(self) -> str:
        return self.client if isinstance(self.client, str) else ""

    def settle(self, template: PrefetchTemplate) -> None:
        """Decide the value of one key: from the request, by query, or missing."""
        key = template.key
        if key in self.request.prefetch:
            value = self._usable(key, self.request.prefetch[key])
            if value is not _MISSING:
                self._store(key, value)
                return
        url = self._render(template)
        if url is not None:
            self._query(key, url)

    def _usable(self, key: str, value: Any) -> Any:
        """The sent value without OperationOutcomes; _MISSING if nothing usable is left."""
        if value is None:
            return None
        if value.get("resourceType") == "OperationOutcome":
            self.problems.append(f"prefetch.{key}: the EHR sent an OperationOutcome")
            return _MISSING
        if value.get("resourceType") != "Bundle":
            return value
        entries = value.get("entry") or []
        kept = [e for e in entries if not _is_outcome(e)]
        if len(kept) == len(entries):
            return value
        self.problems.append(f"prefetch.{key}: the EHR's Bundle holds OperationOutcome entries")
        return {**value, "entry": kept} if kept else _MISSING

    def _render(self, template: PrefetchTemplate) -> str | None:
        variables = {name: self.data.get(name) for name in template.variables}
        try:
            return template.render(self.request.context, variables, self._resolve)
        except FhirPathError as exc:
            self.problems.append(f"prefetch.{template.key}: {exc.message}")
            return None

    def _resolve(self, reference: str) -> Resource | None:
        """FHIRPath resolve(): a known resource, else a type-and-id stand-in."""
        found = self.index.resolve(reference)
        if found is not None:
            return found
        key = reference_key(reference)
        if key is None:
            return None
        resource_type, _, resource_id = key.partition("/")
        return {"resourceType": resource_type, "id": resource_id}

    def _query(self, key: str, url: str) -> None:
        if isinstance(self.client, str):
            self.unqueryable.add(key)
            self.problems.append(f"prefetch.{key}: not sent and cannot be queried: {self.client}")
            return
        if self.clock() > self.deadline:
            self.problems.append(f"prefetch.{key}: not queried, the prefetch time budget is spent")
            return
        self.fetched.append(key)
        try:
            self._store(key, self.client.get(url))
        except ResourceNotFound:
            self._store(key, None)
        except FhirServerError as exc:
            self.problems.append(f"prefetch.{key}: query {url} failed: {exc.message}")

    def _store(self, key: str, value: Resource | None) -> None:
        self.data[key] = value
        self.index.add(value)


_MISSING: Any = object()


def _is_outcome(entry: Any) -> bool:
    resource = entry.get("resource") if isinstance(entry, Mapping) else None
    return isinstance(resource, Mapping) and resource.get("resourceType") == "OperationOutcome"
