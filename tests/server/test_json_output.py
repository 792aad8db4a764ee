"""The orjson response encoder says what Flask's own encoder says, for any value."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from hypothesis import given
from hypothesis import strategies as st

from davinci_pa.server.json_output import OrjsonProvider

APP = Flask(__name__)
FAST, FLASK = OrjsonProvider(APP), DefaultJSONProvider(APP)
FLASK.sort_keys = False

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.datetimes(timezones=st.just(UTC))
    | st.dates()
    | st.decimals(allow_nan=False, allow_infinity=False)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=25,
)


@dataclasses.dataclass
class Point:
    x: int
    when: date


@given(VALUES)
def test_same_document_as_flasks_encoder(value: Any) -> None:
    assert json.loads(FAST.dumps(value)) == json.loads(FLASK.dumps(value))


def test_key_order_dataclasses_and_what_orjson_refuses() -> None:
    for value in (
        {"b": 1, "a": 2},
        Point(1, date(2026, 12, 7)),
        {"when": datetime(2026, 12, 7, tzinfo=UTC), "amount": Decimal("1.10")},
        {"lone surrogate": "\ud800", "big": 2**70},
    ):
        assert FAST.dumps(value).replace(" ", "") == FLASK.dumps(value).replace(" ", "")
    assert list(json.loads(FAST.dumps({"b": 1, "a": 2}))) == ["b", "a"]
