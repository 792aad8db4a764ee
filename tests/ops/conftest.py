"""An app on a migrated SQLite file trusting the demo EHR key of ``examples/keys``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from davinci_pa import shipped
from davinci_pa.server import create_app
from davinci_pa.server.settings import ServerSettings
from tests.support.database import migrated_sqlite
from tests.support.demo_keys import KEYS, demo_ehr_token

BASE = "http://127.0.0.1:8080"


@dataclass
class App:
    """The Flask app, its test client and a way to sign hook calls as the demo EHR."""

    app: Flask
    client: FlaskClient

    def hook(self, service: str = "order-sign-crd") -> Any:
        token = demo_ehr_token(f"{BASE}/cds-services/{service}")
        return self.client.post(
            f"/cds-services/{service}",
            json=shipped.example_request("order-sign-power-wheelchair"),
            headers={"Authorization": f"Bearer {token}"},
        )


def settings_for(folder: Path, **overrides: Any) -> ServerSettings:
    """Settings as ``make serve`` gives them, on a migrated SQLite file in ``folder``."""
    values: dict[str, Any] = {
        "database_url": migrated_sqlite(folder / "ops.sqlite3"),
        "trusted_issuers": KEYS / "trusted-issuers.json",
        "clients": str(KEYS / "demo-clients.json"),
        "public_base_url": BASE,
        "pas_delivery_seconds": "0",
    }
    values.update(overrides)
    return ServerSettings(**values)


@pytest.fixture
def ops_app(tmp_path: Path) -> Iterator[App]:
    app = create_app(settings_for(tmp_path))
    yield App(app, app.test_client())
    app.extensions["davinci_pa.payer"].database.dispose()
