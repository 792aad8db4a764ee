"""The JSON body reader: its depth count agrees with the nesting, whatever the strings hold."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from davinci_pa.errors import RequestError
from davinci_pa.server.json_input import MAX_DEPTH, load_json

# Strings full of the characters the depth count must see through.
TRICKY = st.text(alphabet=st.sampled_from('[]{}"\\ab\u00e9\U0001f600'), max_size=12)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | TRICKY,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TRICKY, inner, max_size=4),
    max_leaves=30,
)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


def _nest(value: Any, levels: int, key: str) -> Any:
    for level in range(levels):
        value = {key: value} if level % 2 else [key, value]
    return value


@given(JSON)
def test_any_document_reads_back_as_written(value: Any) -> None:
    for ensure_ascii in (True, False):
        assert load_json(json.dumps(value, ensure_ascii=ensure_ascii).encode()) == value


@given(JSON, st.integers(MAX_DEPTH - 3, MAX_DEPTH + 3), TRICKY)
def test_the_depth_limit_counts_only_real_nesting(value: Any, levels: int, key: str) -> None:
    document = _nest(value, levels, key)
    raw = json.dumps(document).encode()
    if _depth(document) > MAX_DEPTH:
        with pytest.raises(RequestError, match="nested more than"):
            load_json(raw)
    else:
        assert load_json(raw) == document


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b'{"id": "\\ud800"}', "unpaired UTF-16 surrogate"),
        (b'{"id": "\\udc00x"}', "unpaired UTF-16 surrogate"),
        (b'{"id": "\xff"}', "not UTF-8"),
        (b'{"value": NaN}', "not valid JSON"),
        (b'{"value": 1e400}', "not valid JSON"),
        (b'{"id": "x"', "not valid JSON"),
    ],
)
def test_what_no_valid_document_holds_is_refused_by_name(raw: bytes, problem: str) -> None:
    with pytest.raises(RequestError, match=problem):
        load_json(raw)


def test_a_byte_order_mark_is_allowed() -> None:
    assert load_json(b'\xef\xbb\xbf{"resourceType": "Bundle"}') == {"resourceType": "Bundle"}
