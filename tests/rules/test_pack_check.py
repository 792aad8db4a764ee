"""Load-time validation of a rule pack: one deliberately broken pack per kind of problem.

Each broken pack is the shipped ``home-oxygen`` topic copied and damaged in one way; the
loader must name the file, the field and (for JSON values and CQL defines) the line, and
``davinci-pa rules check`` must print the same list and exit 1.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from davinci_pa.cli import main
from davinci_pa.rules.loader import check_rule_pack, load_rule_pack
from davinci_pa.rules.problems import RulePackError
from tests._shared import REPO
from tests.support.database import migrated_sqlite

TOPIC = "home-oxygen"
ELM = f"{TOPIC}/HomeOxygenRule.json"
CQL = f"{TOPIC}/HomeOxygenRule.cql"


def _pack(tmp_path: Path) -> Path:
    pack = tmp_path / "pack"
    pack.mkdir()
    shutil.copy(REPO / "cql_rules" / "payers.json", pack)
    shutil.copytree(REPO / "cql_rules" / TOPIC, pack / TOPIC)
    return pack


def _edit_json(path: Path, change: Callable[[Any], None]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def _problems(pack: Path) -> list[str]:
    _, problems = check_rule_pack(pack)
    return [str(p) for p in problems]


def _statements(elm: Any) -> list[dict[str, Any]]:
    return list(elm["library"]["statements"]["def"])


def test_a_copy_of_a_shipped_topic_is_valid(tmp_path: Path) -> None:
    assert _problems(_pack(tmp_path)) == []


def test_the_shipped_pack_passes_rules_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", str(REPO / "cql_rules")]) == 0
    assert "19 topic(s), no problems" in capsys.readouterr().out


def test_unknown_code_system_alias_is_named_with_a_suggestion(tmp_path: Path) -> None:
    """A `cpt4` typo used to load silently and let every order through uncaught."""
    pack = _pack(tmp_path)
    _edit_json(pack / TOPIC / "topic.json", lambda t: t["codes"][0].update(system="cpt4"))
    [problem] = _problems(pack)
    assert problem.startswith(f"{TOPIC}/topic.json:")
    assert "codes[0].system: unknown code system 'cpt4': did you mean 'cpt'" in problem
    line = int(problem.split(":")[1])
    text = (pack / TOPIC / "topic.json").read_text().splitlines()
    assert '"cpt4"' in text[line - 1]


def test_a_payer_declared_code_system_is_accepted(tmp_path: Path) -> None:
    pack = _pack(tmp_path)
    declared = {"url": "https://acme.example.org/cs/local", "aliases": ["acme"], "pattern": "A\\d+"}
    (pack / "pack.json").write_text(json.dumps({"code-systems": [declared]}))
    _edit_json(
        pack / TOPIC / "topic.json",
        lambda t: t["codes"].append({"system": "acme", "codes": ["A1", "B2"]}),
    )
    [problem] = _problems(pack)
    assert "'B2' is not a https://acme.example.org/cs/local code" in problem


@pytest.mark.parametrize(
    ("system", "code", "expected"),
    [
        ("hcpcs", "E04", "'E04' is not a HCPCS code"),
        ("cpt", "7214", "'7214' is not a CPT code"),
        ("snomed", "726551007", "'726551007' fails the SNOMED CT check digit"),
        ("loinc", "8310-4", "'8310-4' fails the LOINC check digit"),
        ("icd10cm", "ZZ", "'ZZ' is not a ICD-10-CM code"),
    ],
)
def test_codes_of_the_wrong_shape_are_named(
    tmp_path: Path, system: str, code: str, expected: str
) -> None:
    pack = _pack(tmp_path)
    _edit_json(
        pack / TOPIC / "topic.json",
        lambda t: t["codes"].append({"system": system, "codes": [code]}),
    )
    [problem] = _problems(pack)
    assert f"codes[{1}].codes[0]: {expected}" in problem


def test_missing_required_define(tmp_path: Path) -> None:
    pack = _pack(tmp_path)

    def drop(elm: Any) -> None:
        elm["library"]["statements"]["def"] = [
            s for s in _statements(elm) if s["name"] != "PRIORAUTH_REQUIRED"
        ]

    _edit_json(pack / ELM, drop)
    problems = _problems(pack)
    assert (
        f"{ELM}: define PRIORAUTH_REQUIRED: required by the rule contract but missing" in problems
    )


def test_wrongly_typed_define_names_its_cql_line(tmp_path: Path) -> None:
    pack = _pack(tmp_path)

    def retype(elm: Any) -> None:
        statement = next(s for s in _statements(elm) if s["name"] == "RULE_APPLIES")
        statement["expression"] = {
            "type": "Literal",
            "valueType": "{urn:hl7-org:elm-types:r1}String",
            "value": "yes",
        }

    _edit_json(pack / ELM, retype)
    assert any(
        p.startswith(f"{ELM}:96: define RULE_APPLIES: must be Boolean, is String")
        for p in _problems(pack)
    )


def test_stale_elm_is_refused(tmp_path: Path) -> None:
    pack = _pack(tmp_path)
    cql = (pack / CQL).read_text(encoding="utf-8")
    (pack / CQL).write_text(
        cql.replace("define RULE_APPLIES:", "define RULE_APPLIES:\n  false and")
    )
    [problem] = _problems(pack)
    assert problem.startswith(f"{CQL}: the ELM beside it is stale (defines changed: RULE_APPLIES)")


def test_elm_missing_and_library_version_mismatch(tmp_path: Path) -> None:
    pack = _pack(tmp_path)
    _edit_json(pack / TOPIC / "topic.json", lambda t: t["library"].update(version="2.0.0"))
    assert any("library.version: is '2.0.0'" in p for p in _problems(pack))
    (pack / ELM).unlink()
    assert any(
        "no HomeOxygenRule.json (run `davinci-pa cql compile`)" in p for p in _problems(pack)
    )


def test_topic_pointing_to_a_form_dtr_cannot_serve(tmp_path: Path) -> None:
    pack = _pack(tmp_path)
    missing = "http://davinci-pa.org/fhir/Questionnaire/nothing|1.0.0"
    _edit_json(pack / TOPIC / "topic.json", lambda t: t.update(questionnaires=[missing]))
    problems = _problems(pack)
    assert any(f"questionnaires[0]: DTR serves no Questionnaire {missing}" in p for p in problems)


def test_a_form_needing_a_library_dtr_cannot_serve(tmp_path: Path) -> None:
    pack = _pack(tmp_path)
    (pack / "questionnaires").mkdir()
    form = {
        "resourceType": "Questionnaire",
        "url": "http://example.org/Questionnaire/x",
        "version": "1",
        "status": "active",
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/cqf-library",
                "valueCanonical": "http://example.org/Library/Missing|1",
            }
        ],
    }
    (pack / "questionnaires" / "x.json").write_text(json.dumps(form))
    [problem] = _problems(pack)
    assert "questionnaires/x.json: extension[cqf-library]: Library" in problem


def test_value_sets_missing_or_not_expanded(tmp_path: Path) -> None:
    pack = _pack(tmp_path)
    (pack / TOPIC / "valuesets" / "hematocrit.json").unlink()
    _edit_json(pack / TOPIC / "valuesets" / "arterial-po2.json", lambda v: v.pop("expansion"))
    problems = _problems(pack)
    assert any(
        "ValueSet/hematocrit: not in the pack's valuesets/" in p and p.startswith(f"{CQL}:17:")
        for p in problems
    )
    assert any("ValueSet/arterial-po2: has no expansion" in p for p in problems)


def test_the_library_raises_one_error_holding_every_problem(tmp_path: Path) -> None:
    pack = _pack(tmp_path)
    _edit_json(
        pack / TOPIC / "topic.json",
        lambda t: t.update(questionnaires=["http://x/Questionnaire/q"], title=""),
    )
    (pack / TOPIC / "valuesets" / "hematocrit.json").unlink()
    with pytest.raises(RulePackError) as raised:
        load_rule_pack(pack)
    message = str(raised.value)
    assert "title: must be a non-empty string" in message
    assert len(raised.value.problems) >= 1
    assert all(str(p) in message for p in raised.value.problems)


def test_rules_check_exits_1_and_prints_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = _pack(tmp_path)
    _edit_json(pack / TOPIC / "topic.json", lambda t: t["codes"][0].update(system="hcpc"))
    assert main(["rules", "check", str(pack)]) == 1
    assert "unknown code system 'hcpc'" in capsys.readouterr().out
    assert main(["rules", "check", "--json", str(pack)]) == 1
    body = json.loads(capsys.readouterr().out)
    assert body["ok"] is False
    [problem] = body["problems"]
    assert problem["file"] == f"{TOPIC}/topic.json"
    assert problem["field"] == "codes[0].system"
    assert isinstance(problem["line"], int)


def test_server_refuses_to_start_on_an_invalid_pack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = _pack(tmp_path)
    _edit_json(pack / TOPIC / "topic.json", lambda t: t["codes"][0].update(system="cpt4"))
    database = migrated_sqlite(tmp_path / "db.sqlite3")
    status = main(["serve", "--rules", str(pack), "--database-url", database, "--port", "0"])
    assert status == 2
    err = capsys.readouterr().err
    assert "unknown code system 'cpt4'" in err
    assert f"{TOPIC}/topic.json:" in err


def test_a_companion_order_needs_a_profiled_type_a_code_and_a_reason(tmp_path: Path) -> None:
    pack = _pack(tmp_path)

    def bad_companions(topic: Any) -> None:
        topic["companions"] = [
            {"resourceType": "Observation", "code": {"system": "cpt", "code": "94760"}},
            {"resourceType": "ServiceRequest", "code": {"system": "cpt"}, "reason": "x"},
            {"resourceType": "ServiceRequest", "code": {"system": "cpt", "code": "94760"},
             "reason": "a qualifying test"},
        ]  # fmt: skip

    _edit_json(pack / TOPIC / "topic.json", bad_companions)
    problems = _problems(pack)
    assert [p for p in problems if "companions[0]" in p and "resourceType" in p]
    assert [p for p in problems if "companions[1]" in p]
    assert not [p for p in problems if "companions[2]" in p]
