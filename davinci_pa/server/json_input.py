r"""Reading request bodies as JSON, with limits checked before parsing.

The size limit is Flask's ``MAX_CONTENT_LENGTH`` (``DAVINCI_PA_MAX_BODY_BYTES``, 413).
Here: nesting deeper than :data:`MAX_DEPTH` is refused before parsing (deep nesting would
exhaust the recursion of every tree walk after it). The parser, orjson, refuses unpaired
UTF-16 surrogate escapes such as ``"\ud800"`` (no valid text contains them, and they break
encoding wherever the string goes next), ``NaN`` and numbers beyond a double.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import request

from davinci_pa.errors import RequestError

MAX_DEPTH = 128
"""Deepest nesting of objects and arrays accepted (FHIR resources stay far below it)."""

_BOM = b"\xef\xbb\xbf"
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"')


def request_json(error: type[RequestError] = RequestError) -> Any:
    """The request body as JSON, whatever the declared content type.

    Raises:
        RequestError (or ``error``): not JSON, too deeply nested or with a lone surrogate.
    """
    return load_json(request.get_data(cache=True), error)


def load_json(raw: bytes, error: type[RequestError] = RequestError) -> Any:
    """Parse ``raw`` (UTF-8, a leading byte order mark allowed) after the depth check."""
    raw = raw.removeprefix(_BOM)
    problem = _depth_problem(raw)
    if problem:
        raise error(problem)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise error(_parse_problem(str(exc))) from None


def _depth_problem(raw: bytes) -> str | None:
    """Nesting deeper than MAX_DEPTH, counted on the brackets outside strings.

    Escaped backslashes and quotes go first, so every quote left opens or closes a string;
    of the quotes and brackets that remain, every other quote-separated run is outside.
    """
    structure = raw.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    outside = b"".join(structure.split(b'"')[::2])
    if outside.count(b"[") + outside.count(b"{") <= MAX_DEPTH:
        return None
    depth = 0
    for bracket in outside:
        depth += 1 if bracket in b"[{" else -1
        if depth > MAX_DEPTH:
            return f"the JSON is nested more than {MAX_DEPTH} levels deep"
    return None


def _parse_problem(message: str) -> str:
    if "utf-8" in message.lower():
        return "the body is not UTF-8 encoded JSON"
    if "surrogate" in message:
        return "the JSON holds a string with an unpaired UTF-16 surrogate escape"
    return f"the body is not valid JSON: {message}"
