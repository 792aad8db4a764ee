"""The public surface of davinci_pa.cdshooks and its layer boundaries."""

from __future__ import annotations

import ast
from pathlib import Path

import davinci_pa.cdshooks as cdshooks

PACKAGE = Path(cdshooks.__file__).parent
FORBIDDEN = (
    "flask",
    "davinci_pa.cql",
    "davinci_pa.store",
    "davinci_pa.rules",
    "davinci_pa.crd",
    "davinci_pa.dtr",
    "davinci_pa.pas",
    "davinci_pa.payer",
    "davinci_pa.cli",
    "davinci_pa.server",
)


def test_all_is_sorted_and_complete() -> None:
    assert cdshooks.__all__ == sorted(cdshooks.__all__)
    assert all(hasattr(cdshooks, name) for name in cdshooks.__all__)


def test_no_imports_from_sibling_or_higher_layers() -> None:
    for module in PACKAGE.glob("*.py"):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert not name.startswith(FORBIDDEN), f"{module.name} imports {name}"
