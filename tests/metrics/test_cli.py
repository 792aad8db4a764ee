"""``davinci-pa metrics``: formats, output file, counting rules, exit codes for bad input."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from davinci_pa.cli import main
from davinci_pa.store import Database
from tests.metrics.seed import YEAR_2026, seed
from tests.support.database import migrated_sqlite


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    address = migrated_sqlite(tmp_path_factory.mktemp("cli") / "metrics.sqlite3")
    database = Database(address)
    seed(database, YEAR_2026)
    database.dispose()
    return address


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["metrics", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_json_by_default(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, "--year", "2026", "--database-url", url)
    assert status == 0
    report = json.loads(out)
    assert (report["standard"]["requests"], report["expedited"]["requests"]) == (9, 3)


def test_csv_and_html_to_a_file(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = _run(capsys, "--year", "2026", "--database-url", url, "--format", "csv")
    assert status == 0
    rows = {r["metric"]: r for r in csv.DictReader(io.StringIO(out))}
    assert rows["decision_hours_median"]["standard"] == "24.0"
    target = tmp_path / "report.html"
    args = ["--year", "2026", "--database-url", url, "--format", "html", "--output", str(target)]
    status, out, err = _run(capsys, *args)
    assert (status, out) == (0, "")
    assert f"wrote {target}" in err
    page = target.read_text(encoding="utf-8")
    assert "<h1>Prior authorization metrics, 2026</h1>" in page
    assert "?year=" not in page  # no links that only work where the page is served


def test_counting_rules_from_a_file_and_flags(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"partial_approval": "denied", "suppress_below": 2}))
    args = ["--year", "2026", "--database-url", url, "--counting-rules", str(rules)]
    report = json.loads(_run(capsys, *args)[1])
    assert report["standard"]["denied"] == 4
    assert report["counting_rules"]["suppress_below"] == 2
    report = json.loads(_run(capsys, *args, "--partial-approval", "approved")[1])
    assert report["standard"]["denied"] == 3  # the flag wins over the file


def test_an_empty_year_is_exit_0_with_a_message(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = _run(capsys, "--year", "2019", "--database-url", url)
    assert status == 0
    assert json.loads(out)["standard"]["approved_pct"] is None
    assert "no prior-authorization determinations on record for 2019" in err


@pytest.mark.parametrize("year", ["20x6", "26", "12026", "1999"])
def test_a_malformed_year_is_exit_2(
    url: str, year: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["metrics", "--year", year, "--database-url", url])
    assert stopped.value.code == 2
    assert "is not a calendar year" in capsys.readouterr().err


def test_an_unknown_plan_and_bad_rules_are_clear_errors(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = _run(capsys, "--year", "2026", "--database-url", url, "--plan", "nobody")
    assert status == 2
    assert "no plan 'nobody' in the rule pack" in err
    rules = tmp_path / "bad.json"
    rules.write_text('{"count_by": "week"}')
    args = ["--year", "2026", "--database-url", url, "--counting-rules", str(rules)]
    status, _, err = _run(capsys, *args)
    assert status == 2
    assert f"{rules}: counting rule 'count_by' must be one of" in err
