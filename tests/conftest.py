"""Pytest configuration shared by every test package."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from davinci_pa.jobs.engine import stop_embedded_workers


@pytest.fixture(scope="module", autouse=True)
def _stop_job_workers() -> Iterator[None]:
    """Each app a test builds runs an embedded job worker; none outlives its module."""
    yield
    stop_embedded_workers()
