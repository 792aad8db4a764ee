"""Base FHIR R4 structural validation with the ``fhir.resources.R4B`` models.

The R4B models have the same elements, cardinalities and required flags as R4 4.0.1 for the
Da Vinci resource types (see the project's dependency notes); parsing a resource with them
catches unknown elements, wrong JSON shapes, missing required elements and malformed
primitives everywhere, including inside datatypes that profile snapshots do not expand.
Pydantic's error locations become FHIRPath-like paths (``Bundle.entry[2].resource.item[0]``).

A Bundle is checked as its shell (the entries without their resources) plus each entry's
resource on its own, the same model checks the Bundle model runs on them. The issues of a
resource are kept in a bounded cache keyed by a digest of its canonical JSON: the practitioner,
organization, location, insurer and coverage a provider sends come back unchanged in
submission after submission, so only what changed (the Claim, a new patient) is parsed again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import orjson
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from davinci_pa.fhir.validation.issues import Issue

_MESSAGES = {
    "extra_forbidden": "unknown element",
    "missing": "required element is missing",
}


def known_resource_type(name: str) -> bool:
    """True when ``name`` is an R4 resource type known to fhir.resources."""
    try:
        get_fhir_model_class(name)
    except (KeyError, ValueError, AttributeError):
        return False
    return name[:1].isupper()


CACHE_SIZE = 4096
"""Resources whose structural issues are remembered (least recently used ones go first)."""


def validate_structure(resource: dict[str, Any], path: str | None = None) -> list[Issue]:
    """Return the structural issues of a resource (empty when it parses as R4)."""
    rtype = resource.get("resourceType")
    root = path or str(rtype)
    unknown = list(_unknown_types(resource, root))
    if unknown:
        return unknown
    if rtype == "Bundle" and _separable(resource.get("entry")):
        return _bundle_issues(resource, root)
    return _model_issues(resource, root)


def _model_issues(resource: dict[str, Any], root: str) -> list[Issue]:
    model = get_fhir_model_class(str(resource.get("resourceType")))
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        return [_issue(error, root) for error in exc.errors()]
    return []


def _separable(entries: Any) -> bool:
    """Whether each entry holds a resource object beside other content.

    Its shell, the entry without the resource, is then still a non-empty object.
    """
    return isinstance(entries, list) and all(
        isinstance(e, dict) and isinstance(e.get("resource"), dict) and len(e) > 1 for e in entries
    )


def _bundle_issues(bundle: dict[str, Any], root: str) -> list[Issue]:
    entries: list[dict[str, Any]] = bundle["entry"]
    shell = {**bundle, "entry": [{k: v for k, v in e.items() if k != "resource"} for e in entries]}
    found = _model_issues(shell, root)
    for index, entry in enumerate(entries):
        resource = entry["resource"]
        at = f"{root}.entry[{index}].resource"
        rtype = str(resource["resourceType"])
        found.extend(
            dataclasses.replace(issue, path=at + issue.path[len(rtype) :])
            for issue in _CACHE.issues(resource)
        )
    return found


class _IssueCache:
    """Structural issues by resource content, least recently used evicted first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._found: OrderedDict[bytes, tuple[Issue, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def issues(self, resource: dict[str, Any]) -> tuple[Issue, ...]:
        try:
            canonical = orjson.dumps(resource, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits, say
            return tuple(_model_issues(resource, str(resource["resourceType"])))
        key = hashlib.blake2b(canonical, digest_size=20).digest()
        with self._lock:
            cached = self._found.get(key)
            if cached is not None:
                self._found.move_to_end(key)
                return cached
        computed = tuple(_model_issues(resource, str(resource["resourceType"])))
        with self._lock:
            self._found[key] = computed
            if len(self._found) > self._size:
                self._found.popitem(last=False)
        return computed


_CACHE = _IssueCache(CACHE_SIZE)


def _unknown_types(value: Any, path: str) -> Iterator[Issue]:
    """Yield issues for nested ``resourceType`` values fhir.resources cannot parse."""
    if isinstance(value, dict):
        rtype = value.get("resourceType")
        named = "resourceType" in value
        if named and not (isinstance(rtype, str) and known_resource_type(rtype)):
            yield Issue("error", path, f"unknown resource type {rtype!r}", None, "structure")
            return
        for key, child in value.items():
            if isinstance(child, dict | list):
                yield from _unknown_types(child, f"{path}.{key}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _unknown_types(child, f"{path}[{index}]")


def _issue(error: Any, root: str) -> Issue:
    path = root
    for part in error.get("loc", ()):
        if isinstance(part, int):
            path += f"[{part}]"
        elif not str(part).startswith("function-"):
            path += f".{part}"
    kind = error.get("type", "")
    message = _MESSAGES.get(kind) or str(error.get("msg", "invalid"))
    code = "required" if kind == "missing" else "structure"
    return Issue("error", path, message, None, code)
