"""``davinci-pa dtr prepopulate`` prints the prepopulated QuestionnaireResponse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from davinci_pa.cli import main


def test_prepopulate_prints_a_response(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "id": "p1",
                    "name": [{"family": "Rivera"}],
                    "birthDate": "1950-03-04",
                }
            }
        ],
    }
    data = tmp_path / "record.json"
    data.write_text(json.dumps(bundle), encoding="utf-8")
    assert (
        main(
            [
                "dtr",
                "prepopulate",
                "cpap",
                "--data",
                str(data),
                "--now",
                "2025-06-01T00:00:00+00:00",
            ]
        )
        == 0
    )
    response = json.loads(capsys.readouterr().out)
    assert response["questionnaire"] == "http://davinci-pa.org/fhir/Questionnaire/cpap|1.0.0"
    assert response["subject"] == {"reference": "Patient/p1"}
    answers = {i["linkId"]: i["answer"][0] for g in response["item"] for i in g["item"]}
    assert answers["patient.last-name"]["valueString"] == "Rivera"
    assert answers["patient.birth-date"]["valueDate"] == "1950-03-04"


def test_unknown_form_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "record.json"
    data.write_text("{}", encoding="utf-8")
    assert main(["dtr", "prepopulate", "nope", "--data", str(data)]) == 2
    assert "no shipped questionnaire" in capsys.readouterr().err
