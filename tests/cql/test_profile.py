"""``davinci-pa cql eval --profile``: per-define time and call counts, slowest first."""

from __future__ import annotations

import json

import pytest

from davinci_pa.cli import main
from tests._shared import REPO

TOPIC = REPO / "cql_rules" / "cpap"


def test_profile_lists_every_define_with_calls_slowest_first(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["cql", "eval", "--elm", str(TOPIC), "--library", "PositiveAirwayPressureRule"]
    assert main([*args, "--valuesets", str(TOPIC / "valuesets"), "--profile"]) == 0
    captured = capsys.readouterr()
    values = json.loads(captured.out)
    header, *rows = captured.err.splitlines()
    assert header.split() == ["self", "ms", "total", "ms", "calls", "define"]
    table = {row.split(None, 3)[3]: row.split(None, 3) for row in rows}
    assert set(values) <= {name.split(".", 1)[1] for name in table}
    assert int(table["PositiveAirwayPressureRule.Order Codes"][2]) > 1, "cached refs count"
    self_ms = [float(row.split()[0]) for row in rows]
    assert self_ms == sorted(self_ms, reverse=True)


def test_without_profile_nothing_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["cql", "eval", "--elm", str(TOPIC), "--library", "PositiveAirwayPressureRule"]
    assert main([*args, "--valuesets", str(TOPIC / "valuesets")]) == 0
    assert capsys.readouterr().err == ""
