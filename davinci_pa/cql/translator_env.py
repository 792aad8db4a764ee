"""The Node.js toolchain behind CQL translation: find ``node``/``npm`` and install the pins.

The npm packages pinned by ``davinci_pa/cql/translator/package-lock.json`` (the official
CQL-to-ELM translator ``@cqframework/cql``, ``@lhncbc/ucum-lhc``, ``cql-exec-fhir`` and the
reference engine ``cql-execution``) are installed on first use with ``npm ci`` into a cache
directory, by default ``~/.cache/davinci-pa/translator-<first 16 hex of sha256(lockfile)>``,
and reused afterwards. Only authoring-time tools need this; evaluating committed ELM does not.
"""

from __future__ import annotations

import functools
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from davinci_pa.errors import ConfigurationError

TRANSLATOR_DIR = Path(__file__).resolve().parent / "translator"
"""Shipped folder with ``package.json``, ``package-lock.json`` and the ``.mjs`` drivers."""

MIN_NODE_MAJOR = 18
_MARKER = ".davinci-pa-installed"
_PINNED_FILES = ("package.json", "package-lock.json")

Log = Callable[[str], None]
"""Receives one human-readable progress line (the default writes it to stderr)."""


class NodeToolchainError(ConfigurationError):
    """Node.js 18+ and npm are needed (CQL authoring only) but missing or unusable."""

    code = "node-toolchain-unavailable"


@dataclass(frozen=True)
class NodeToolchain:
    """A usable ``node`` executable and the folder holding the pinned ``node_modules``."""

    node: str
    install_dir: Path

    @property
    def modules_dir(self) -> Path:
        """The installed ``node_modules`` folder."""
        return self.install_dir / "node_modules"

    def script(self, name: str) -> Path:
        """Path of a driver script shipped in :data:`TRANSLATOR_DIR`."""
        return TRANSLATOR_DIR / name


def stderr_log(line: str) -> None:
    """Default :data:`Log`: write the line to stderr."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def lockfile_digest() -> str:
    """Short sha256 of the shipped ``package.json`` + ``package-lock.json``."""
    digest = hashlib.sha256()
    for name in _PINNED_FILES:
        digest.update((TRANSLATOR_DIR / name).read_bytes())
    return digest.hexdigest()[:16]


def default_install_dir() -> Path:
    """``~/.cache/davinci-pa/translator-<lockfile digest>``."""
    return Path.home() / ".cache" / "davinci-pa" / f"translator-{lockfile_digest()}"


def find_node() -> str:
    """Return the path of a ``node`` executable of version 18 or later.

    Raises:
        NodeToolchainError: ``node`` is missing, does not run, or is too old.
    """
    node = shutil.which("node")
    if node is None:
        raise NodeToolchainError(_needs("`node` was not found on PATH"))
    try:
        version = subprocess.run(
            [node, "--version"], capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise NodeToolchainError(_needs(f"`node --version` failed: {exc}")) from exc
    match = re.match(r"v(\d+)\.", version)
    if match is None or int(match.group(1)) < MIN_NODE_MAJOR:
        raise NodeToolchainError(_needs(f"found node {version or '(unknown version)'}"))
    return node


def node_available() -> bool:
    """True when a suitable ``node`` and ``npm`` are on PATH (used by tests to skip)."""
    try:
        find_node()
    except NodeToolchainError:
        return False
    return shutil.which("npm") is not None


def ensure_toolchain(install_dir: Path | None = None, *, log: Log = stderr_log) -> NodeToolchain:
    """Return the toolchain, running ``npm ci`` into ``install_dir`` first if needed.

    Args:
        install_dir: Where ``node_modules`` lives; default :func:`default_install_dir`.
        log: Receives progress lines while installing.

    Raises:
        NodeToolchainError: ``node``/``npm`` are missing or ``npm ci`` failed.
    """
    return _ensure(find_node(), (install_dir or default_install_dir()).resolve(), log)


@functools.lru_cache(maxsize=8)
def _ensure(node: str, install_dir: Path, log: Log) -> NodeToolchain:
    digest = lockfile_digest()
    if not _installed(install_dir, digest):
        _install(install_dir, digest, log)
    return NodeToolchain(node=node, install_dir=install_dir)


def _installed(install_dir: Path, digest: str) -> bool:
    marker = install_dir / _MARKER
    return marker.is_file() and marker.read_text(encoding="utf-8").strip() == digest


def _install(install_dir: Path, digest: str, log: Log) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise NodeToolchainError(_needs("`npm` was not found on PATH"))
    staging = install_dir.with_name(f"{install_dir.name}.partial-{digest}-{id(log):x}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in _PINNED_FILES:
        shutil.copyfile(TRANSLATOR_DIR / name, staging / name)
    log(f"davinci-pa: installing the CQL translator (npm ci) into {install_dir} ...")
    command = [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"]
    done = subprocess.run(command, cwd=staging, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise NodeToolchainError(
            f"`npm ci` failed for the CQL translator (exit {done.returncode})",
            details={"problems": done.stderr.strip().splitlines()[-20:]},
        )
    (staging / _MARKER).write_text(digest + "\n", encoding="utf-8")
    if _installed(install_dir, digest):
        # Another process finished the same install meanwhile: keep theirs.
        shutil.rmtree(staging, ignore_errors=True)
    else:
        shutil.rmtree(install_dir, ignore_errors=True)
        staging.rename(install_dir)
    log("davinci-pa: CQL translator installed")


def _needs(reason: str) -> str:
    return (
        "davinci-pa cql compile needs Node.js 18+ and npm: "
        f"{reason}. Install them from https://nodejs.org/ (committed ELM runs without Node)."
    )


def run_driver(
    toolchain: NodeToolchain,
    script: str,
    request: str,
    *,
    on_line: Callable[[str], None],
    extra_args: tuple[str, ...] = (),
) -> None:
    """Run a shipped ``.mjs`` driver with ``request`` on stdin, passing each stdout line on.

    Raises:
        NodeToolchainError: The driver exited non-zero (its stderr tail is in the details).
    """
    command = [toolchain.node, str(toolchain.script(script)), str(toolchain.modules_dir)]
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as errors:
        with subprocess.Popen(
            [*command, *extra_args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            encoding="utf-8",
        ) as process:
            assert process.stdin is not None
            assert process.stdout is not None
            process.stdin.write(request)
            process.stdin.close()
            for line in process.stdout:
                on_line(line)
        if process.returncode != 0:
            errors.seek(0)
            raise NodeToolchainError(
                f"{script} failed (exit {process.returncode})",
                details={"problems": errors.read().strip().splitlines()[-20:]},
            )
