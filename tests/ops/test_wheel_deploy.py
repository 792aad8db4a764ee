"""docs/deploy.md checked step by step from the built wheel, outside the checkout.

The wheel is built with ``pip wheel --no-deps`` (the dev extra's hatchling, no build
isolation) and installed into a fresh virtual
environment that borrows the development environment's dependencies (a path entry, no
network, no editable checkout on the path). Then the guide's commands run as written in a
directory of their own: ``keys init`` (its folder moved under the test's), the exports
(pointed at a fresh PostgreSQL schema and this host), ``config show``, ``db upgrade`` and the
gunicorn command line (2 workers, a free port of 127.0.0.1), until ``/readyz`` answers 200
and a hook call signed by ``davinci-pa hook --keys`` gets its cards.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

from davinci_pa import shipped
from tests._shared import REPO
from tests.store.conftest import postgres_schema_url
from tests.support.gunicorn import free_port, ready, wait_until

GUIDE = REPO / "docs" / "deploy.md"
INSTALL_STEPS = ("python3 -m venv ", "pip install ")
"""The guide's build and install lines; the test does them itself (offline, from here)."""


def guide_commands(section: str) -> list[str]:
    """The shell commands of the ``sh`` block under ``## section``, continuations joined."""
    text = GUIDE.read_text(encoding="utf-8")
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", body, re.DOTALL)
    assert block, f"no sh block under {section}"
    joined = block.group(1).replace("\\\n", " ")
    lines = [line.split("  #", 1)[0].strip() for line in joined.splitlines()]
    return [line for line in lines if line]


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from postgres_schema_url()


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the built wheel; its ``bin`` folder."""
    folder = tmp_path_factory.mktemp("wheel")
    if importlib.util.find_spec("hatchling") is None:
        pytest.skip("the build backend hatchling (dev extra) is not installed")
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run([*build, "-w", str(folder), str(REPO)], check=True, timeout=300)
    (wheel,) = folder.glob("davinci_pa-*.whl")
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(purelib) / "dev-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    subprocess.run([*install, "--no-deps", "--no-index", str(wheel)], check=True, timeout=120)
    return venv / "bin"


def test_the_deploy_guide_from_the_wheel(installed: Path, pg_url: str, tmp_path: Path) -> None:
    work = tmp_path / "elsewhere"
    work.mkdir()
    keys = tmp_path / "etc"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"PATH": f"{installed}:/usr/bin:/bin", "HOME": str(tmp_path)}
    local = {
        "DAVINCI_PA_DATABASE_URL": pg_url,
        "DAVINCI_PA_PUBLIC_BASE_URL": base,
    }

    def run(line: str) -> str:
        words = [w.replace("/etc/davinci-pa", str(keys)) for w in shlex.split(line)]
        done = subprocess.run(
            [str(installed / words[0]), *words[1:]],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"{line}\n{done.stderr}"
        return done.stdout

    where = run("python -c 'import davinci_pa; print(davinci_pa.__file__)'")
    assert where.startswith(str(installed.parent)), where  # the wheel's, not the checkout
    (keys_init,) = guide_commands("Keys and trust files")
    run(keys_init)
    server = None
    for line in guide_commands("PostgreSQL and gunicorn"):
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            env[name] = local.get(name, value.replace("/etc/davinci-pa", str(keys)))
        elif line.startswith("davinci-pa db upgrade"):
            shown = run("davinci-pa config show")
            assert "DAVINCI_PA_TRUSTED_ISSUERS" in shown
            run(line)
        elif line.startswith("gunicorn "):
            words = [str(installed / "python"), "-m", *shlex.split(line)]
            words[words.index("--workers") + 1] = "2"
            words[words.index("--bind") + 1] = f"127.0.0.1:{port}"
            with (tmp_path / "gunicorn.log").open("wb") as log:
                server = subprocess.Popen(words, cwd=work, env=env, stdout=log, stderr=log)
        else:
            assert line.startswith(INSTALL_STEPS), f"a step this test does not know: {line}"
    assert server is not None, "the guide starts no server"
    try:
        assert wait_until(lambda: server.poll() is not None or ready(base), 60, 0.2)
        assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
        request = tmp_path / "order-sign.json"
        request.write_text(json.dumps(shipped.example_request("order-sign-power-wheelchair")))
        called = run(f"davinci-pa hook {request} --keys /etc/davinci-pa --url {base}")
        assert "coverage-assertion-id=" in called
    finally:
        server.terminate()
        server.wait(timeout=30)
