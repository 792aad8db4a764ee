"""Every error code the library can raise has a section in docs/errors.md."""

from __future__ import annotations

import importlib
import pkgutil
import re

import davinci_pa
from davinci_pa.errors import DavinciError
from tests._shared import REPO


def _all_error_classes() -> list[type[DavinciError]]:
    for module in pkgutil.walk_packages(davinci_pa.__path__, "davinci_pa."):
        if module.name != "davinci_pa.gunicorn_conf":  # a config file: importing it sets env
            importlib.import_module(module.name)
    found: list[type[DavinciError]] = [DavinciError]
    index = 0
    while index < len(found):
        found.extend(found[index].__subclasses__())
        index += 1
    return found


def test_every_error_code_is_documented() -> None:
    text = (REPO / "docs" / "errors.md").read_text(encoding="utf-8")
    headings = set()
    for line in text.splitlines():
        if line.startswith("#"):
            headings.update(re.findall(r"[a-z][a-z0-9-]+", line))
    missing = {cls.code for cls in _all_error_classes()} - headings
    assert not missing, f"document these codes in docs/errors.md: {sorted(missing)}"


def test_errors_render_both_bodies() -> None:
    error = davinci_pa.errors.InvalidHookRequest("context.x: bad", details={"problems": ["a"]})
    outcome = error.to_operation_outcome()
    assert outcome["resourceType"] == "OperationOutcome"
    assert [i["diagnostics"] for i in outcome["issue"]] == ["context.x: bad", "a"]
    assert error.to_cds_error()["error"] == "invalid-hook-request"
    assert "docs/errors.md#invalid-hook-request" in str(error)
