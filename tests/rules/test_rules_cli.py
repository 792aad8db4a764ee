"""``davinci-pa rules test`` and ``rules new``, and the walkthrough of docs/rules-authoring.md.

The shipped pack's cases cover every outcome each topic produces; a failing case prints a
diff, a malformed one names its file, ``--junit-xml`` writes a report a payer's CI reads.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from davinci_pa.cli import main
from davinci_pa.cql.translator_env import node_available
from davinci_pa.payer import Payer
from davinci_pa.rules.loader import check_rule_pack
from davinci_pa.store import Database
from tests._shared import REPO

PACK = REPO / "cql_rules"


def _copy(tmp_path: Path, topic: str) -> Path:
    pack = tmp_path / "pack"
    pack.mkdir()
    shutil.copy(PACK / "payers.json", pack)
    shutil.copytree(PACK / topic, pack / topic)
    return pack


def test_every_shipped_topic_has_cases() -> None:
    topics = [p for p in PACK.iterdir() if (p / "topic.json").is_file()]
    assert topics
    assert all(list((t / "tests").glob("*.json")) for t in topics)


def test_shipped_cases_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "junit.xml"
    assert main(["rules", "test", str(PACK), "--junit-xml", str(report)]) == 0
    out = capsys.readouterr().out
    assert "power-mobility/tests ......" in out
    suite = ET.parse(report).getroot()
    assert suite.tag == "testsuite"
    assert int(suite.get("tests", "0")) >= 19
    assert (suite.get("failures"), suite.get("errors")) == ("0", "0")
    assert out.splitlines()[-1].startswith(f"{suite.get('tests')} passed in ")


def test_a_failing_case_prints_a_diff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = _copy(tmp_path, "power-mobility")
    case = next((pack / "power-mobility" / "tests").glob("*auth-needed*.json"))
    data = json.loads(case.read_text())
    data["expect"]["pa-needed"] = "no-auth"
    data["expect"]["cards"] = ["no such text"]
    case.write_text(json.dumps(data))
    report = tmp_path / "junit.xml"
    assert main(["rules", "test", str(pack), "--junit-xml", str(report)]) == 1
    out = capsys.readouterr().out
    assert "F" in out.splitlines()[1]
    assert f"_____ power-mobility/tests/{case.name}" in out
    assert 'pa-needed: expected "no-auth", got "auth-needed"' in out
    assert "cards: no card contains 'no such text'" in out
    assert "1 failed" in out.splitlines()[-1]
    failure = ET.parse(report).getroot().find("testcase/failure")
    assert failure is not None
    assert "pa-needed" in failure.get("message", "")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON"),
        ('{"order": {"resourceType": "DeviceRequest"}}', "'expect' must be a non-empty object"),
        ('{"expect": {"covred": "covered"}}', "expect: unknown keys ['covred']"),
        ('{"expect": {"covered": "covered"}}', "needs 'order' (a FHIR resource)"),
        (
            '{"payer": "nobody", "order": {"resourceType": "DeviceRequest"},'
            ' "expect": {"covered": "covered"}}',
            "'payer' 'nobody' is not in payers.json",
        ),
    ],
)
def test_a_malformed_case_names_its_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expected: str
) -> None:
    pack = _copy(tmp_path, "oral-antibiotics")
    (pack / "oral-antibiotics" / "tests" / "zz-bad.json").write_text(content)
    assert main(["rules", "test", str(pack)]) == 1
    out = capsys.readouterr().out
    assert f"oral-antibiotics/tests/zz-bad.json: {expected}" in out
    assert "1 error(s)" in out.splitlines()[-1]


def test_dtr_serves_only_the_packs_forms_when_shipped_content_is_off(tmp_path: Path) -> None:
    """A pack may replace the shipped forms; a topic naming one is then a problem."""
    pack = _copy(tmp_path, "power-mobility")
    (pack / "pack.json").write_text(json.dumps({"shipped-dtr-content": False}))
    _, problems = check_rule_pack(pack)
    assert any("DTR serves no Questionnaire" in str(p) for p in problems)
    (pack / "pack.json").write_text(json.dumps({"dtr-content": [str(REPO / "questionnaires")]}))
    assert check_rule_pack(pack)[1] == []


@pytest.mark.node
def test_authoring_walkthrough(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/rules-authoring.md: `rules new` to a form DTR serves, step by step."""
    if not node_available():
        pytest.skip("Node.js 18+ and npm are needed to compile the new topic's CQL")
    pack = tmp_path / "my-rules"
    pack.mkdir()
    monkeypatch.chdir(pack)
    assert main(["rules", "new", "knee-brace"]) == 0
    assert (pack / "knee-brace" / "KneeBraceRule.json").is_file()
    assert main(["rules", "check", "."]) == 0
    assert main(["rules", "test", "."]) == 0
    out = capsys.readouterr().out
    assert "knee-brace/tests ." in out
    assert "1 passed" in out
    database = Database(f"sqlite:///{tmp_path / 'dtr.sqlite3'}")
    database.migrate()
    try:
        payer = Payer.from_rule_pack(pack, database=database)
        form = payer.dtr.read("Questionnaire", "knee-brace")
        assert form["url"] == "http://davinci-pa.org/fhir/Questionnaire/knee-brace"
        assert form["title"] == "Knee brace documentation"
        assert payer.dtr.read("Questionnaire", "home-oxygen")["version"] == "1.0.0"
    finally:
        database.dispose()
