"""Access to the reference material in ``../shared`` beside the checkout.

Tests never copy that material; they read it in place and skip with a clear message when it
is absent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
MISSING_SHARED = (
    "reference material ../shared (IG packages, fixtures, CQL tests) is not beside the checkout"
)


def shared_path(*parts: str) -> Path:
    """Return a path under ``../shared``, skipping the calling test when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(MISSING_SHARED)
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference material ../shared/{'/'.join(parts)} is not present")
    return path


def params_or_skip(values: list[str]) -> list[Any]:
    """Parameters found in ``../shared``, or one skipped case saying that it is absent."""
    if values:
        return list(values)
    return [pytest.param("absent", marks=pytest.mark.skip(reason=MISSING_SHARED))]


def load_shared_json(*parts: str) -> Any:
    """Load a JSON file from ``../shared`` (skips when absent)."""
    return json.loads(shared_path(*parts).read_text(encoding="utf-8"))
