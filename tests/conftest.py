"""Shared test fixtures: paths to the reference material beside the checkout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


def shared_path(*parts: str) -> Path:
    """Return a path under ``../shared``, skipping the test with a message when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference material ../shared/{'/'.join(parts)} is not present beside the checkout")
    return path


def load_shared_json(*parts: str) -> Any:
    """Load a JSON file from ``../shared`` (skips when absent)."""
    return json.loads(shared_path(*parts).read_text(encoding="utf-8"))
