"""docs/conformance.md is current, and every not-applicable entry is a real statement.

``tools/conformance.py`` traces the 218 server-side SHALLs of CRD, DTR and PAS to the tests
that cite them; this fails when the tests or ``docs/conformance-na.json`` changed without
regenerating it (run ``.venv/bin/python tools/conformance.py``).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from types import ModuleType

from tests._shared import REPO, shared_path


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("conformance", REPO / "tools" / "conformance.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_conformance_document_is_current() -> None:
    shared_path("specs", "requirements")
    tool = _tool()
    expected = tool.render(tool.trace())
    current = (REPO / "docs" / "conformance.md").read_text("utf-8")
    assert current == expected, "docs/conformance.md is stale: run tools/conformance.py"


def test_not_applicable_entries_name_statements_and_give_reasons() -> None:
    shared_path("specs", "requirements")
    tool = _tool()
    result = tool.trace()
    keys = {(s.ig, s.key) for s in result.statements}
    assert len(keys) == 218
    raw = json.loads((REPO / "docs" / "conformance-na.json").read_text("utf-8"))
    for ig, entries in raw.items():
        for key, reason in entries.items():
            assert (ig, key) in keys, f"{ig} {key} is not a server-side SHALL"
            assert len(reason) > 20, f"{ig} {key}: give the reason"
            assert (ig, key) not in result.citations, f"{ig} {key} is cited and not applicable"
