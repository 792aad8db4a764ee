"""Defensive access to parsed FHIR JSON, which may hold anything a client sent."""

from __future__ import annotations

from typing import Any


def obj(value: Any) -> dict[str, Any]:
    """Return ``value`` if it is a JSON object, else an empty dict."""
    return value if isinstance(value, dict) else {}


def objects(value: Any) -> list[dict[str, Any]]:
    """Return the JSON objects of a JSON array (anything else gives an empty list)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
