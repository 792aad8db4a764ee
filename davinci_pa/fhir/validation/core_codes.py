"""Codes of FHIR R4 core required bindings on ``code`` elements, read from fhir.resources.

The core ValueSets (``request-status``, ``claim-use``...) are not in the IG packages, but the
``fhir.resources.R4B`` models record each ``code`` element's allowed values (``enum_values``),
which for the Da Vinci resource types equal R4 4.0.1's. We look them up by element path.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

_TYPE_NAME = re.compile(r"(\w+)Type\b")


@lru_cache(maxsize=4096)
def core_codes(path: str) -> frozenset[str] | None:
    """Return the allowed codes of a ``code`` element by its base path, or ``None``."""
    parts = path.split(".")
    model = _model(parts[0])
    for name in parts[1:-1]:
        if model is None:
            return None
        model = _field_model(model, name)
    if model is None:
        return None
    field = model.model_fields.get(parts[-1])
    extra = field.json_schema_extra if field is not None else None
    values = extra.get("enum_values") if isinstance(extra, dict) else None
    if not isinstance(values, list) or not values or "+" in values:
        return None  # "+" marks a list the model generator truncated
    return frozenset(str(v) for v in values)


def _model(name: str) -> Any:
    try:
        return get_fhir_model_class(name)
    except (KeyError, ValueError, AttributeError):
        return None


def _field_model(model: Any, name: str) -> Any:
    field = model.model_fields.get(name)
    if field is None:
        return None
    match = _TYPE_NAME.search(repr(field.annotation))
    return _model(match.group(1)) if match else None
