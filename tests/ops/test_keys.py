"""``davinci-pa keys init DIR`` and ``davinci-pa hook --keys DIR`` from any directory."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import requests

from davinci_pa import shipped
from davinci_pa.auth.client import sign_client_assertion, token_form
from davinci_pa.cli import main
from davinci_pa.server import create_app
from tests.ops.conftest import settings_for
from tests.support.ehr_server import serve_wsgi

FILES = (
    "ehr-signing.private.json",
    "trusted-issuers.json",
    "smart-client.private.json",
    "clients.json",
)


def test_keys_init_writes_key_pairs_and_matching_trust_files(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    assert (
        main(["keys", "init", str(keys), "--issuer", "https://ehr.test", "--client-id", "c1"]) == 0
    )
    for name in FILES:
        assert (keys / name).is_file()
    for name in FILES[::2]:
        assert stat.S_IMODE((keys / name).stat().st_mode) == 0o600
    ehr = json.loads((keys / FILES[0]).read_text())
    trusted = json.loads((keys / FILES[1]).read_text())
    (public,) = trusted["https://ehr.test"]["jwks"]["keys"]
    assert ehr["issuer"] == "https://ehr.test"
    assert "d" in ehr["key"]
    assert "d" not in public
    assert (public["kid"], public["x"]) == (ehr["key"]["kid"], ehr["key"]["x"])
    clients = json.loads((keys / FILES[3]).read_text())
    assert (
        clients["c1"]["jwks"]["keys"][0]["kid"]
        == json.loads((keys / FILES[2]).read_text())["key"]["kid"]
    )


def test_keys_init_keeps_existing_files_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "init", str(tmp_path)]) == 0
    assert main(["keys", "init", str(tmp_path)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["keys", "init", str(tmp_path), "--force"]) == 0


def test_hook_signs_with_generated_keys_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = tmp_path / "keys"
    main(["keys", "init", str(keys)])
    request = tmp_path / "order-sign.json"
    request.write_text(json.dumps(shipped.example_request("order-sign-power-wheelchair")))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    def app(base: str) -> object:
        return create_app(
            settings_for(
                tmp_path,
                trusted_issuers=keys / "trusted-issuers.json",
                clients=str(keys / "clients.json"),
                public_base_url=base,
            )
        )

    with serve_wsgi(app) as base:
        capsys.readouterr()
        assert main(["hook", str(request), "--keys", str(keys), "--url", base]) == 0
        assert "coverage-assertion-id=" in capsys.readouterr().out
        client = json.loads((keys / "smart-client.private.json").read_text())
        assertion = sign_client_assertion(
            client["key"], client_id=client["client_id"], token_url=f"{base}/auth/token"
        )
        token = requests.post(
            f"{base}/auth/token", data=token_form(assertion, "system/Claim.write"), timeout=10
        )
        assert token.status_code == 200, token.text
