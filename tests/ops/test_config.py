"""Configuration: every setting checked at start, one line and exit 2; warnings; ``config show``."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from davinci_pa.cli import main
from davinci_pa.errors import ConfigurationError, SchemaNotCurrent
from davinci_pa.server import build_payer, create_app
from davinci_pa.server.settings import ServerSettings
from tests._shared import REPO
from tests.ops.conftest import settings_for


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DAVINCI_PA_CRD_DEFAULT_VERSION", "3.0", "one of 2.0, 2.2"),
        ("DAVINCI_PA_RULES", "/nonexistent", "existing folder"),
        ("DAVINCI_PA_ALLOWED_FHIR_SERVERS", "not-a-url", "http(s) URL"),
        ("DAVINCI_PA_PUBLIC_BASE_URL", "ehr.example.org", "http(s) URL"),
        ("DAVINCI_PA_MAX_BODY_BYTES", "5MB", "positive integer"),
        ("DAVINCI_PA_INSECURE_DISABLE_JWT", "maybe", "1 or 0"),
        ("DAVINCI_PA_DTR_VERSION", "3", "one of"),
        ("DAVINCI_PA_PAS_DELIVERY_SECONDS", "-1", "0 or more"),
        ("DAVINCI_PA_TRUSTED_ISSUERS", "/nonexistent.json", "existing file"),
        ("DAVINCI_PA_DATABASE_URL", "not a url", "SQLAlchemy URL"),
        ("DAVINCI_PA_LOG_LEVEL", "LOUD", "one of DEBUG"),
    ],
)
def test_a_bad_setting_is_one_line_naming_variable_value_and_expectation(
    variable: str,
    value: str,
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(variable, value)
    assert main(["config", "show"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert variable in err
    assert repr(value) in err
    assert expected in err


def _serve(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "davinci_pa", "serve", "--port", "1"],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_with_a_bad_setting_exits_2_without_a_traceback(tmp_path: Path) -> None:
    done = _serve({"DAVINCI_PA_CRD_DEFAULT_VERSION": "3.0"}, tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().endswith("(see docs/errors.md#configuration-error)")
    assert "DAVINCI_PA_CRD_DEFAULT_VERSION='3.0'" in done.stderr


def test_serve_on_an_unmigrated_database_names_db_upgrade(tmp_path: Path) -> None:
    done = _serve({"DAVINCI_PA_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}"}, REPO)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "run `davinci-pa db upgrade` first" in done.stderr.splitlines()[-1]


def test_db_upgrade_migrates_once_and_then_reports_current(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'up.sqlite3'}"
    assert main(["db", "upgrade", "--database-url", url]) == 0
    assert "from empty" in capsys.readouterr().out
    assert main(["db", "upgrade", "--database-url", url]) == 0
    assert "already current" in capsys.readouterr().out
    build_payer(ServerSettings(database_url=url)).database.dispose()


def test_the_app_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    with pytest.raises(SchemaNotCurrent) as caught:
        create_app(ServerSettings(database_url=f"sqlite:///{tmp_path / 'x.sqlite3'}"))
    assert caught.value.code == "schema-not-current"


def test_unknown_variables_are_warned_about_with_a_suggestion(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DAVINCI_PA_RULE", "cql_rules")
    monkeypatch.setenv("DAVINCI_PA_ZZZ", "1")
    assert main(["config", "show"]) == 0
    err = capsys.readouterr().err
    assert "unknown setting DAVINCI_PA_RULE is ignored (did you mean DAVINCI_PA_RULES?)" in err
    assert "unknown setting DAVINCI_PA_ZZZ is ignored\n" in err


def test_config_show_prints_every_setting_with_the_password_masked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DAVINCI_PA_DATABASE_URL", "postgresql+psycopg://pa:s3cret@db.internal/pa")
    assert main(["config", "show"]) == 0
    out = capsys.readouterr().out
    assert "s3cret" not in out
    assert "DAVINCI_PA_DATABASE_URL=postgresql+psycopg://pa:***@db.internal/pa" in out
    assert "DAVINCI_PA_CRD_DEFAULT_VERSION=2.0" in out
    assert "(shipped)" in out


def test_an_unknown_pas_default_payer_is_refused(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, pas_default_payer="nobody")
    with pytest.raises(ConfigurationError) as caught:
        build_payer(settings)
    assert "DAVINCI_PA_PAS_DEFAULT_PAYER='nobody': expected a payer id" in str(caught.value)


def test_zero_trusted_issuers_is_warned_about_loudly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="davinci_pa"):
        build_payer(settings_for(tmp_path, trusted_issuers=None)).database.dispose()
    assert any("NO TRUSTED EHR ISSUERS" in r.getMessage() for r in caplog.records)
