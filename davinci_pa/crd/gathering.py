"""Gather the data a CRD answer needs: prefetch as sent, then EHR queries for the rest.

CRD ``found-5``: servers query what was not prefetched; ``found-32``: 412 only when required
data is missing and cannot be queried. The Coverage is the one key CRD cannot answer
without; everything else only sharpens the answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import requests

from davinci_pa.cdshooks.discovery import ServiceDefinition
from davinci_pa.cdshooks.hooks import HookRequest
from davinci_pa.cdshooks.prefetch import ClientFactory, PrefetchResolver, index_request
from davinci_pa.crd.orders import Resolver
from davinci_pa.errors import InvalidHookRequest, PrefetchUnavailable
from davinci_pa.fhir.client import AllowList, FhirClient, RequestsFhirClient
from davinci_pa.types import Resource

REQUIRED_KEYS = ("coverage",)


@dataclass(frozen=True, slots=True)
class Gathered:
    """Everything known for one hook call."""

    data: dict[str, Resource | None]
    resolve: Resolver
    records: list[Resource]
    problems: list[str] = field(default_factory=list)
    ehr: FhirClient | None = None
    """A client for the EHR's FHIR server when it may be queried (allowed, with a token)."""


class DataGatherer:
    """Resolves each service's prefetch templates, caching the compiled templates."""

    def __init__(
        self,
        *,
        allowed_fhir_servers: Iterable[str] = (),
        timeout: float = 4.0,
        client_factory: ClientFactory | None = None,
    ) -> None:
        self._allowed = AllowList(allowed_fhir_servers)
        self._budget = timeout
        self._client_factory = client_factory
        self._session = requests.Session()
        self._resolvers: dict[str, PrefetchResolver] = {}

    def prepare(self, services: Iterable[ServiceDefinition]) -> None:
        """Compile the services' prefetch templates now, not in their first call."""
        for service in services:
            self._resolver(service)

    def gather(self, service: ServiceDefinition, request: HookRequest) -> Gathered:
        """Return the data for ``request``.

        Raises:
            PrefetchUnavailable: the Coverage was not prefetched and cannot be queried.
        """
        result = self._resolver(service).resolve(request, required=REQUIRED_KEYS)
        index = index_request(request, result.data)

        def resolve(reference: str) -> Resource | None:
            return index.resolve(reference)

        self._check_dispatched(request, resolve)
        return Gathered(result.data, resolve, list(index), result.problems, self._ehr(request))

    def _ehr(self, request: HookRequest) -> FhirClient | None:
        if not self._queryable(request) or request.fhir_authorization is None:
            return None
        server, token = str(request.fhir_server), request.fhir_authorization.access_token
        if self._client_factory is not None:
            return self._client_factory(server, token)
        return RequestsFhirClient(server, token=token, session=self._session)

    def _check_dispatched(self, request: HookRequest, resolve: Resolver) -> None:
        """Dispatched orders are the subject of order-dispatch: they must be found."""
        refs = request.context.get("dispatchedOrders") or ()
        missing = [r for r in refs if isinstance(r, str) and resolve(r) is None]
        if not missing:
            return
        names = ", ".join(missing[:5])
        if self._queryable(request):
            raise InvalidHookRequest(
                f"context.dispatchedOrders: {names} not found in prefetch or at the FHIR server"
            )
        raise PrefetchUnavailable(
            f"context.dispatchedOrders: {names} not prefetched, and the FHIR server "
            "cannot be queried"
        )

    def _queryable(self, request: HookRequest) -> bool:
        server = request.fhir_server
        return bool(server and request.fhir_authorization and self._allowed.permits(server))

    def _resolver(self, service: ServiceDefinition) -> PrefetchResolver:
        resolver = self._resolvers.get(service.id)
        if resolver is None:
            resolver = PrefetchResolver(
                service.prefetch,
                allowed_fhir_servers=self._allowed,
                client_factory=self._client_factory,
                budget_seconds=self._budget,
            )
            self._resolvers[service.id] = resolver
        return resolver
