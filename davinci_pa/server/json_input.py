r"""Reading request bodies as JSON, with limits checked before parsing.

The size limit is Flask's ``MAX_CONTENT_LENGTH`` (``DAVINCI_PA_MAX_BODY_BYTES``, 413).
Here: nesting deeper than :data:`MAX_DEPTH` is refused before ``json.loads`` runs (deep
nesting would exhaust the recursion of the parser and of every tree walk after it), and so
are unpaired UTF-16 surrogate escapes such as ``"\ud800"`` (no valid text contains
them, and they break encoding wherever the string goes next).
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import request

from davinci_pa.errors import RequestError

MAX_DEPTH = 128
"""Deepest nesting of objects and arrays accepted (FHIR resources stay far below it)."""

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")
_ESCAPE = re.compile(rb"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)


def request_json(error: type[RequestError] = RequestError) -> Any:
    """The request body as JSON, whatever the declared content type.

    Raises:
        RequestError (or ``error``): not JSON, too deeply nested or with a lone surrogate.
    """
    return load_json(request.get_data(cache=True), error)


def load_json(raw: bytes, error: type[RequestError] = RequestError) -> Any:
    """Parse ``raw`` after the depth and surrogate checks; ``error`` names the problem."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise error("the body is not UTF-8 encoded JSON") from None
    encoded = text.encode()
    problem = _depth_problem(encoded) or _surrogate_problem(encoded)
    if problem:
        raise error(problem)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise error(f"the body is not valid JSON: {exc}") from None


def _depth_problem(raw: bytes) -> str | None:
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub(b'""', raw)):
        depth += 1 if bracket.group() in (b"[", b"{") else -1
        if depth > MAX_DEPTH:
            return f"the JSON is nested more than {MAX_DEPTH} levels deep"
    return None


def _surrogate_problem(raw: bytes) -> str | None:
    for string in _STRING.finditer(raw):
        if b"\\u" in string.group() and _lone_surrogate(string.group()):
            return "the JSON holds a string with an unpaired UTF-16 surrogate escape"
    return None


def _lone_surrogate(string: bytes) -> bool:
    high_end: int | None = None  # where an unpaired high surrogate escape ended
    for escape in _ESCAPE.finditer(string):
        unit = int(escape.group(1), 16) if escape.group(1) else -1
        is_low = 0xDC00 <= unit <= 0xDFFF
        paired = high_end == escape.start()
        if (high_end is not None and not (paired and is_low)) or (is_low and not paired):
            return True
        high_end = escape.end() if 0xD800 <= unit <= 0xDBFF else None
    return high_end is not None
