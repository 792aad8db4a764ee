"""A small FHIR R4 REST client for reading from an EHR's FHIR server (FHIR R4 §3.1 RESTful API).

Used by the CDS Hooks prefetch fallback (CDS Hooks 2.0.1 §FHIR Resource Access): reads and
searches with the ``fhirAuthorization`` bearer token, JSON only, with timeouts and a body size
limit, following search ``next`` links up to a page limit. Redirects are followed only within
the server's own origin, and only URLs under the configured base are ever requested, so a
hostile server cannot bounce the payer's network identity elsewhere (no SSRF).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol, runtime_checkable
from urllib.parse import unquote, urlencode, urljoin, urlsplit

import requests

from davinci_pa.errors import FhirServerError, ResourceNotFound
from davinci_pa.types import Resource

SearchParams = Mapping[str, str | Sequence[str]] | Sequence[tuple[str, str]]
"""Search parameters: a mapping (a value may repeat as a list) or ordered pairs."""

_DEFAULT_PORTS = {"http": 80, "https": 443}
_ANY_PORT = 0


class AllowList:
    """URL prefixes the server may contact: exact scheme, host and port, and a path prefix.

    ``AllowList(["https://ehr.example/fhir"])`` permits ``https://ehr.example/fhir`` and
    ``https://ehr.example/fhir/Patient/1`` but not ``https://ehr.example/fhirx``,
    ``http://ehr.example/fhir`` (scheme), ``https://ehr.example:8443/fhir`` (port),
    ``https://user@ehr.example/fhir`` (credentials) or paths with ``..`` segments.
    A port written ``*`` (``http://127.0.0.1:*``) matches every port of that host.
    """

    def __init__(self, prefixes: Iterable[str]) -> None:
        self._prefixes: list[tuple[str, str, int, str]] = []
        for prefix in prefixes:
            scheme, sep, rest = prefix.partition("://")
            host, star, path = rest.partition(":*")
            any_port = bool(sep and star and "/" not in host and path[:1] in ("", "/"))
            parts = _origin_and_path(f"{scheme}://{host}{path}" if any_port else prefix)
            if parts is None:
                raise ValueError(f"not an absolute http(s) URL prefix: {prefix!r}")
            scheme, host, port, path = parts
            self._prefixes.append((scheme, host, _ANY_PORT if any_port else port, path.rstrip("/")))

    def __bool__(self) -> bool:
        return bool(self._prefixes)

    def permits(self, url: str) -> bool:
        """Return whether ``url`` lies under one of the prefixes."""
        parts = _origin_and_path(url)
        if parts is None:
            return False
        scheme, host, port, path = parts
        return any(
            (scheme, host) == (p_scheme, p_host)
            and p_port in (port, _ANY_PORT)
            and (path == p_path or path.startswith(p_path + "/"))
            for p_scheme, p_host, p_port, p_path in self._prefixes
        )


def _origin_and_path(url: str) -> tuple[str, str, int, str] | None:
    """Split an http(s) URL into scheme, host, port and path; None if unsafe or malformed."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
        return None
    if any(ch.isspace() for ch in url) or "\\" in url:
        return None
    path = unquote(parts.path)
    if any(segment in (".", "..") for segment in path.split("/")):
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme], path


def same_origin(a: str, b: str) -> bool:
    """Whether two URLs share scheme, host and port."""
    left, right = _origin_and_path(a), _origin_and_path(b)
    return left is not None and right is not None and left[:3] == right[:3]


@runtime_checkable
class FhirClient(Protocol):
    """Read access to one FHIR server."""

    def read(self, resource_type: str, resource_id: str) -> Resource:
        """``GET [base]/Type/id``; raises ResourceNotFound or FhirServerError."""
        ...

    def search(self, resource_type: str, params: SearchParams) -> Resource:
        """``GET [base]/Type?params``; returns one searchset Bundle (all pages merged)."""
        ...

    def get(self, url: str) -> Resource:
        """``GET`` a URL relative to the base (or absolute under it); Bundles are merged."""
        ...


class RequestsFhirClient:
    """A :class:`FhirClient` over ``requests``.

    Args:
        base_url: the server's base, e.g. ``https://ehr.example/fhir``.
        token: bearer access token, if any.
        timeout: ``(connect, read)`` seconds per request.
        max_bytes: largest accepted response body.
        max_pages: search pages fetched at most (``next`` links).
        max_redirects: same-origin redirects followed at most.
        session: HTTP session to use.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: tuple[float, float] = (2.0, 5.0),
        max_bytes: int = 8 * 1024 * 1024,
        max_pages: int = 5,
        max_redirects: int = 3,
        session: requests.Session | None = None,
    ) -> None:
        if _origin_and_path(base_url) is None:
            raise ValueError(f"not an absolute http(s) FHIR base URL: {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._scope = AllowList([self.base_url])
        self._token = token
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._max_pages = max_pages
        self._max_redirects = max_redirects
        self._session = session or requests.Session()

    def read(self, resource_type: str, resource_id: str) -> Resource:
        """Read one resource by type and id."""
        return self._fetch(f"{self.base_url}/{resource_type}/{resource_id}")

    def search(self, resource_type: str, params: SearchParams) -> Resource:
        """Search one resource type; all pages (up to the limit) merged into one Bundle."""
        query = urlencode(list(_pairs(params)))
        url = f"{self.base_url}/{resource_type}" + (f"?{query}" if query else "")
        return self.get(url)

    def get(self, url: str) -> Resource:
        """GET a relative or absolute URL under the base; searchset pages are merged."""
        absolute = url if "://" in url else f"{self.base_url}/{url.lstrip('/')}"
        resource = self._fetch(absolute)
        if resource.get("resourceType") == "Bundle" and resource.get("type") == "searchset":
            return self._merge_pages(resource)
        return resource

    def _merge_pages(self, first: Resource) -> Resource:
        bundle = dict(first)
        entries = list(first.get("entry") or [])
        page, pages = first, 1
        while (next_url := _next_link(page)) is not None and pages < self._max_pages:
            page = self._fetch(next_url)
            entries.extend(page.get("entry") or [])
            pages += 1
        bundle["entry"] = entries
        bundle.pop("link", None)
        return bundle

    def _fetch(self, url: str) -> Resource:
        for _ in range(self._max_redirects + 1):
            if not self._scope.permits(url):
                raise FhirServerError(f"refusing to fetch {url}: outside the FHIR server base")
            response = self._send(url)
            if response.is_redirect:
                target = urljoin(url, response.headers.get("Location", ""))
                response.close()
                if not same_origin(target, self.base_url):
                    raise FhirServerError(f"{url} redirects to another origin; not followed")
                url = target
                continue
            return self._parse(url, response)
        raise FhirServerError(f"too many redirects fetching {url}")

    def _send(self, url: str) -> requests.Response:
        headers = {"Accept": "application/fhir+json, application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            return self._session.get(
                url, headers=headers, timeout=self._timeout, allow_redirects=False, stream=True
            )
        except requests.RequestException as exc:
            raise FhirServerError(f"GET {url} failed: {type(exc).__name__}") from exc

    def _parse(self, url: str, response: requests.Response) -> Resource:
        with response:
            status = response.status_code
            try:
                body = _read_limited(response, self._max_bytes)
            except requests.RequestException as exc:
                raise FhirServerError(f"reading {url} failed: {type(exc).__name__}") from exc
        if status in (404, 410):
            raise ResourceNotFound(f"GET {url}: HTTP {status}")
        if status != 200:
            raise FhirServerError(f"GET {url}: HTTP {status}", details={"status": status})
        try:
            resource = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise FhirServerError(f"GET {url}: the body is not JSON") from exc
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise FhirServerError(f"GET {url}: the body is not a FHIR resource")
        return resource


def _read_limited(response: requests.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdecimal() and int(declared) > max_bytes:
        raise FhirServerError(f"response of {declared} bytes exceeds the {max_bytes} byte limit")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=65536):
        size += len(chunk)
        if size > max_bytes:
            raise FhirServerError(f"response exceeds the {max_bytes} byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _next_link(bundle: Resource) -> str | None:
    for link in bundle.get("link") or []:
        if isinstance(link, Mapping) and link.get("relation") == "next":
            url = link.get("url")
            return url if isinstance(url, str) and url else None
    return None


def _pairs(params: SearchParams) -> Iterable[tuple[str, str]]:
    if isinstance(params, Mapping):
        for name, value in params.items():
            values = [value] if isinstance(value, str) else list(value)
            yield from ((name, v) for v in values)
    else:
        yield from params


__all__ = ["AllowList", "FhirClient", "RequestsFhirClient", "SearchParams", "same_origin"]
