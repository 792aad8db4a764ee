"""``DAVINCI_PA_DTR_VERSION``: the package shape for clients that declare no DTR version."""

from __future__ import annotations

from pathlib import Path

import pytest

from davinci_pa.dtr.service import DtrService, shipped_content
from davinci_pa.errors import ConfigurationError
from davinci_pa.server import ServerSettings
from tests._shared import load_shared_json
from tests.dtr.conftest import make_app

KIT = ("fixtures", "dtr", "inferno", "initial_static_questionnaire_request.json")


@pytest.mark.parametrize(
    ("environ", "expected"),
    [({}, "2.2"), ({"DAVINCI_PA_DTR_VERSION": "2.0.1"}, "2.0.1")],
)
def test_setting_is_read_from_the_environment(environ: dict[str, str], expected: str) -> None:
    assert ServerSettings.from_environ(environ).dtr_version == expected


@pytest.mark.parametrize(
    ("version", "query", "names"),
    [
        (None, "", ["packagebundle"]),
        ("2.0.1", "", ["PackageBundle"]),
        ("2.0.1", "?dtrVersion=2.2", ["packagebundle"]),
        ("2.2", "?dtrVersion=2.0.1", ["PackageBundle"]),
    ],
)
def test_server_default_shape_and_per_call_override(
    tmp_path: Path, version: str | None, query: str, names: list[str]
) -> None:
    app = make_app(tmp_path, **({"dtr_version": version} if version else {}))
    reply = app.post(f"/fhir/Questionnaire/$questionnaire-package{query}", load_shared_json(*KIT))
    assert reply.status_code == 200, reply.get_json()
    assert [p["name"] for p in reply.get_json()["parameter"]] == names


def test_an_unknown_version_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="unknown DTR version '3'"):
        DtrService(shipped_content(), default_version="3")
