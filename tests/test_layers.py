"""The import layering of DESIGN.md, enforced over the source tree with an AST walk."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "davinci_pa"

# A module may import only from layers listed at a lower rank than its own.
RANK = {
    "errors": 0,
    "types": 0,
    "config": 0,
    "_version": 0,
    "shipped": 0,
    "__init__": 1,
    "fhir": 1,
    "jose": 1,
    "cql": 2,
    "store": 2,
    "cdshooks": 2,
    "auth": 2,
    "rules": 3,
    "crd": 4,
    "dtr": 4,
    "pas": 4,
    "review": 5,
    "metrics": 5,
    "access": 5,
    "jobs": 6,
    "payer": 6,
    "cli": 7,
    "server": 8,
    "__main__": 9,
    "gunicorn_conf": 9,
}
LAZY_FROM_CLI = {"server", "gunicorn_conf"}  # imported inside functions only
INDEPENDENT = [{"cql", "store", "cdshooks"}, {"crd", "dtr", "pas"}]


def _layer(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        out.append((".".join(rel.parts), path))
    return out


@pytest.mark.parametrize(("module", "path"), _modules(), ids=[m for m, _ in _modules()])
def test_module_imports_only_lower_layers(module: str, path: Path) -> None:
    own = _layer(module)
    if own not in RANK:
        pytest.skip(f"{module} is not in a ranked layer")
    for imported in _imports(path):
        if imported.split(".")[0] in {"flask", "werkzeug"}:
            assert own == "server", f"{module} imports {imported}: only davinci_pa.server may"
        if not imported.startswith("davinci_pa.") or _layer(imported) == own:
            continue
        target = _layer(imported)
        assert target in RANK, f"{module} imports unranked {imported}"
        assert RANK[target] < RANK[own] or (own == "cli" and target in LAZY_FROM_CLI), (
            f"{module} ({own}) must not import {imported} ({target})"
        )
        for group in INDEPENDENT:
            assert not (own in group and target in group), f"{own} and {target} are siblings"


def test_library_imports_without_flask() -> None:
    """``import davinci_pa`` and its core layers work where Flask cannot be imported."""
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'flask', 'werkzeug'}:\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import davinci_pa, davinci_pa.payer, davinci_pa.cli\n"
        "assert 'flask' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
