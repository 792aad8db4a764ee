"""``davinci-pa serve --workers N`` (gunicorn) as a subprocess for end-to-end tests.

:func:`running_gunicorn` starts it on a free port of 127.0.0.1 with the given environment,
waits until ``/readyz`` answers 200 and stops it afterwards; gunicorn's and the app's JSON
log lines go to a file the test can read (worker pids, errors).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from tests._shared import REPO

_BOOTED = re.compile(r"Booting worker with pid: (\d+)")


def free_port() -> int:
    """A TCP port of 127.0.0.1 nobody listens on (now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], object], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``condition`` until it is true or ``timeout`` seconds passed; its last truth."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


def davinci_pa(*args: str, env: Mapping[str, str], timeout: float = 120) -> None:
    """Run ``davinci-pa ARGS`` from the checkout; fail the test with its output if it fails."""
    command = [sys.executable, "-m", "davinci_pa", *args]
    done = subprocess.run(command, cwd=REPO, env=dict(env), capture_output=True, timeout=timeout)
    assert done.returncode == 0, done.stderr.decode(errors="replace")


@dataclass
class Gunicorn:
    """A started ``davinci-pa serve --workers N``: its URL, process and log file."""

    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def lines(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far."""
        text = self.log.read_text(errors="replace")
        return [json.loads(row) for row in text.splitlines() if row.startswith("{")]

    def worker_pids(self) -> list[int]:
        """Pids of the workers booted so far that are still alive, oldest first."""
        pids = [int(m.group(1)) for m in _BOOTED.finditer(self.log.read_text(errors="replace"))]
        return [pid for pid in pids if _alive(pid)]

    def errors(self) -> list[dict[str, Any]]:
        """Log lines at ERROR or CRITICAL."""
        return [r for r in self.lines() if r.get("level") in {"ERROR", "CRITICAL"}]

    def ready(self) -> bool:
        """Whether ``/readyz`` answers 200 now."""
        return ready(self.base)


def ready(base: str) -> bool:
    """Whether ``/readyz`` of the server at ``base`` answers 200 now."""
    try:
        return requests.get(f"{base}/readyz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def start_gunicorn(
    env: Mapping[str, str], log: Path, *, workers: int = 4, port: int | None = None
) -> Gunicorn:
    """Start ``davinci-pa serve --workers N`` without waiting for it."""
    port = port or free_port()
    command = [sys.executable, "-m", "davinci_pa", "serve", "--workers", str(workers)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            cwd=REPO,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Gunicorn(f"http://127.0.0.1:{port}", process, log)


@contextmanager
def running_gunicorn(
    env: Mapping[str, str], log: Path, *, workers: int = 4, boot_timeout: float = 90
) -> Iterator[Gunicorn]:
    """A gunicorn answering 200 at ``/readyz`` with every worker booted; stopped afterwards."""
    port = free_port()
    server = start_gunicorn(
        {**env, "DAVINCI_PA_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"},
        log,
        workers=workers,
        port=port,
    )
    try:
        booted = wait_until(
            lambda: (
                server.process.poll() is not None
                or (len(server.worker_pids()) >= workers and server.ready())
            ),
            boot_timeout,
            interval=0.2,
        )
        tail = log.read_text(errors="replace")[-4000:]
        assert server.process.poll() is None, tail
        assert booted, tail
        yield server
    finally:
        server.process.terminate()
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
