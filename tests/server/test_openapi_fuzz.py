"""Fuzz every operation of ``/openapi.json`` with schemathesis: no input gets a 5xx.

Bounded (a few examples per operation) so ``make test`` stays fast; the app runs on a
migrated SQLite file with the demo trust files, as ``make serve`` does (issue 15, item 8).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from davinci_pa.server import create_app
from davinci_pa.server.openapi import document
from tests.ops.conftest import settings_for


@pytest.fixture
def flask_app(tmp_path: Path) -> Iterator[Flask]:
    app = create_app(settings_for(tmp_path))
    yield app
    app.extensions["davinci_pa.payer"].database.dispose()


def test_no_server_error(flask_app: Flask) -> None:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", flask_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    described = sum(len(item) for item in document()["paths"].values())
    assert len(operations) == described - 1  # schemathesis leaves out GET /openapi.json itself
    for operation in operations:
        _fuzz(operation)


def _fuzz(operation: Any) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=[not_a_server_error])

    run()
