"""Metrics fixtures: the hand-counted year on SQLite and, when reachable, PostgreSQL."""

from __future__ import annotations

import pytest

from davinci_pa import shipped
from davinci_pa.metrics.report import MetricsReporter
from davinci_pa.rules.loader import load_rule_pack
from davinci_pa.rules.model import RulePack
from davinci_pa.store import Database
from davinci_pa.store.pa_metrics import PaMetricsStore
from tests.metrics.seed import YEAR_2026, seed
from tests.store.conftest import database as database


@pytest.fixture(scope="session")
def pack() -> RulePack:
    return load_rule_pack(shipped.rule_pack())


@pytest.fixture
def reporter(database: Database, pack: RulePack) -> MetricsReporter:
    """A reporter over the hand-counted requests of :data:`YEAR_2026`."""
    seed(database, YEAR_2026)
    return MetricsReporter(PaMetricsStore(database), pack)
