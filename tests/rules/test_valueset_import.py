"""``davinci-pa valuesets import``: expansions kept, enumerations expanded, the rest refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from davinci_pa.cli import main
from davinci_pa.rules.loader import check_rule_pack
from tests._shared import REPO

ICD = "http://hl7.org/fhir/sid/icd-10-cm"


def _vs(url: str, **body: object) -> dict[str, object]:
    return {"resourceType": "ValueSet", "id": url.rsplit("/", 1)[-1], "url": url, **body}


def test_import_expands_enumerations_and_refuses_what_needs_a_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    enumerated = _vs(
        "http://example.org/ValueSet/enum",
        compose={"include": [{"system": ICD, "concept": [{"code": "J44.9"}, {"code": "E66.01"}]}]},
    )
    expanded = _vs("http://example.org/ValueSet/exp", expansion={"contains": [{"code": "1"}]})
    filtered = _vs(
        "http://example.org/ValueSet/filter",
        compose={"include": [{"system": ICD, "filter": [{"property": "concept"}]}]},
    )
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": expanded}, {"resource": filtered}],
    }
    source = tmp_path / "export"
    source.mkdir()
    (source / "enum.json").write_text(json.dumps(enumerated))
    (source / "bundle.json").write_text(json.dumps(bundle))
    pack = tmp_path / "pack"
    assert main(["valuesets", "import", str(source), "--pack", str(pack)]) == 1
    captured = capsys.readouterr()
    assert "2 imported, 1 refused" in captured.out
    assert "ValueSet/filter: its compose needs a terminology server" in captured.err
    written = json.loads((pack / "valuesets" / "enum.json").read_text())
    assert [c["code"] for c in written["expansion"]["contains"]] == ["J44.9", "E66.01"]
    assert (pack / "valuesets" / "exp.json").is_file()


def test_an_imported_value_set_satisfies_rules_check(tmp_path: Path) -> None:
    """A topic whose library declares a value set the pack lacks passes once it is imported."""
    pack = tmp_path / "pack"
    pack.mkdir()
    shutil.copy(REPO / "cql_rules" / "payers.json", pack)
    shutil.copytree(REPO / "cql_rules" / "home-oxygen", pack / "home-oxygen")
    moved = pack / "home-oxygen" / "valuesets" / "hematocrit.json"
    original = json.loads(moved.read_text())
    moved.unlink()
    assert check_rule_pack(pack)[1]
    concepts = [{"code": c["code"]} for c in original["expansion"]["contains"]]
    system = original["expansion"]["contains"][0]["system"]
    compose_only = {k: v for k, v in original.items() if k != "expansion"}
    compose_only["compose"] = {"include": [{"system": system, "concept": concepts}]}
    source = tmp_path / "hematocrit.json"
    source.write_text(json.dumps(compose_only))
    assert main(["valuesets", "import", str(source), "--pack", str(pack)]) == 0
    assert check_rule_pack(pack)[1] == []
