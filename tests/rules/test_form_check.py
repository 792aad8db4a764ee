"""DTR form design checks run by the rule-pack loader (``davinci_pa.rules.form_check``).

A pack's own ``questionnaires/`` folder is checked with the shipped forms; each test damages
a copy of a shipped form or library in one way and expects ``rules check`` to name it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from davinci_pa.rules.form_check import check_forms
from davinci_pa.rules.loader import check_rule_pack
from tests._shared import REPO

FORM = REPO / "questionnaires" / "home-oxygen"


def _pack(tmp_path: Path) -> Path:
    pack = tmp_path / "pack"
    shutil.copytree(REPO / "cql_rules" / "home-oxygen", pack / "home-oxygen")
    shutil.copy(REPO / "cql_rules" / "payers.json", pack)
    shutil.copytree(FORM, pack / "questionnaires" / "home-oxygen")
    return pack


def _problems(pack: Path) -> list[str]:
    return [str(p) for p in check_rule_pack(pack)[1]]


def _edit(path: Path, change: Any) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def test_the_shipped_forms_pass() -> None:
    """DTR spec-18 and sec-3 hold for every shipped form and library."""
    assert check_forms([REPO / "questionnaires"]) == []


def test_dtr_spec_18_flow_logic_in_fhirpath_is_a_problem(tmp_path: Path) -> None:
    """DTR spec-18: an enableWhenExpression written in FHIRPath is named, with its item."""
    pack = _pack(tmp_path)

    def fhirpath(form: dict[str, Any]) -> None:
        item = form["item"][-2]
        item.setdefault("extension", []).append(
            {
                "url": "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-enableWhenExpression",
                "valueExpression": {"language": "text/fhirpath", "expression": "true"},
            }
        )

    _edit(pack / "questionnaires" / "home-oxygen" / "questionnaire.json", fhirpath)
    (problem,) = _problems(pack)
    assert "questionnaire.json" in problem
    assert "enableWhenExpression: text/fhirpath expression" in problem
    assert "spec-18" in problem


def test_dtr_sec_3_a_request_no_question_uses_is_a_problem(tmp_path: Path) -> None:
    """DTR sec-3: a define that retrieves every Observation of the patient, used by no
    question of any form, is named as a request the documentation does not need."""
    pack = _pack(tmp_path)
    unused = {
        "name": "EveryObservation",
        "context": "Patient",
        "accessLevel": "Public",
        "expression": {"type": "Retrieve", "dataType": "{http://hl7.org/fhir}Observation"},
    }
    library = pack / "questionnaires" / "home-oxygen" / "HomeOxygenPrepopulation.json"
    _edit(library, lambda elm: elm["library"]["statements"]["def"].append(unused))
    (problem,) = _problems(pack)
    assert "HomeOxygenPrepopulation.cql: define EveryObservation: requests Observation" in problem
    assert "sec-3" in problem
