"""CRD order-sign under load: ``wrk`` against ``davinci-pa serve`` and a bare-Flask floor.

Aim (issue 15): >= 300 requests/s with p99 <= 50 ms at concurrency 8, gunicorn with 4 workers
and PostgreSQL, on a 2-core machine.

    .venv/bin/python bench/load.py                          # PostgreSQL, 4 workers, 8 connections
    .venv/bin/python bench/load.py --database sqlite --duration 10

Needs ``wrk`` (Debian: ``apt install wrk``) and the CRD 2.2 IG's full-prefetch order-sign
request in ../shared. Each request carries its own JWT (signed before the run; a replayed
token would be refused) and its own ``hookInstance``; ``wrk`` reads them from a file through
``bench/load.lua``. The service runs as in production: ``davinci-pa serve --workers N``
(the gunicorn settings, JSON request logs, Prometheus multiprocess metrics, an embedded job
worker) on a fresh migrated database. The floor is a Flask app on the same gunicorn that
answers every POST with a JSON body as large as the CRD response, so the difference between
the two lines is what the service itself costs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import requests

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from crd import REQUEST, SERVICE, TRUSTED, token  # noqa: E402
from fresh_databases import fresh_database  # noqa: E402

SCRIPT = BENCH / "load.lua"
HOOK_INSTANCE = "00000000-0000-4000-8000-000000000000"  # replaced per request by load.lua
MAX_RATE = 1500  # requests/s the token file is sized for; more would replay tokens


@dataclass(frozen=True)
class Figures:
    """What one ``wrk`` run measured (latencies in milliseconds)."""

    requests: int
    seconds: float
    p50: float
    p90: float
    p99: float
    failed: int
    cpu_ms: float = 0.0
    """Server CPU time per request (master and workers; not the database's)."""

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds

    def line(self, name: str) -> str:
        """One printable summary line."""
        return (
            f"{name:<10} {self.rate:7.0f} req/s  p50 {self.p50:6.1f} ms  "
            f"p90 {self.p90:6.1f} ms  p99 {self.p99:6.1f} ms  cpu {self.cpu_ms:5.2f} ms/request  "
            f"failed {self.failed}"
        )


def main() -> None:
    """Measure the floor, then the service, and print both with their ratio."""
    args = _arguments()
    if not REQUEST.exists():
        raise SystemExit(f"{REQUEST} not found: the benchmark needs ../shared beside the checkout")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: install it (Debian: apt install wrk)")
    body = json.loads(REQUEST.read_text())
    with tempfile.TemporaryDirectory() as tmp, fresh_database(args.database) as db:
        folder = Path(tmp)
        url = db.engine.url.render_as_string(hide_password=False)
        port = _free_port()
        template = folder / "body.json"
        template.write_text(json.dumps({**body, "hookInstance": HOOK_INSTANCE}))
        log = folder / "service.log"
        with _service(args, url, port, log) as server:
            size = _response_size(server.target, template)
            warmup = _credentials(folder / "warmup", server.target, args.warmup)
            credentials = _credentials(folder / "run", server.target, args.duration)
            figures = _measure(args, server, template, warmup, credentials)
            failures = _failed_statuses(log)
        with _floor(args, port, size, folder) as server:
            floor = _measure(args, server, template, warmup, credentials)
    print(
        f"CRD order-sign, {args.database}, {args.workers} workers, "
        f"{args.connections} connections, {args.duration} s each, response {size} bytes"
    )
    print(floor.line("bare Flask"))
    print(figures.line("davinci-pa"))
    share = figures.rate / floor.rate
    print(
        f"ratio      throughput {share:.2f} of the floor, "
        f"p50 {figures.p50 / floor.p50:.1f}x, p99 {figures.p99 / floor.p99:.1f}x"
    )
    if failures:
        print(f"non-200 answers by status: {failures}")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--connections", type=int, default=8, help="concurrency (default 8)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--duration", type=int, default=20, help="seconds per run (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds before each run")
    parser.add_argument("--log-level", default="INFO", help="service log level (default INFO)")
    return parser.parse_args()


@dataclass(frozen=True)
class Server:
    """A running server: its gunicorn master process and the URL measured."""

    process: subprocess.Popen[bytes]
    target: str

    def cpu_seconds(self) -> float:
        """CPU time used so far by the master and its live workers (Linux /proc)."""
        return sum(_process_cpu(pid) for pid in _tree(self.process.pid))


@contextmanager
def _service(args: argparse.Namespace, database_url: str, port: int, log: Path) -> Iterator[Server]:
    env = {
        **os.environ,
        "DAVINCI_PA_DATABASE_URL": database_url,
        "DAVINCI_PA_TRUSTED_ISSUERS": str(TRUSTED),
        "DAVINCI_PA_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "DAVINCI_PA_LOG_LEVEL": args.log_level,
    }
    command = [sys.executable, "-m", "davinci_pa", "serve", "--workers", str(args.workers)]
    base = f"http://127.0.0.1:{port}"
    with _running([*command, "--port", str(port)], env, log, f"{base}/readyz") as process:
        yield Server(process, f"{base}/cds-services/{SERVICE}")


@contextmanager
def _floor(args: argparse.Namespace, port: int, size: int, folder: Path) -> Iterator[Server]:
    env = {**os.environ, "FLOOR_RESPONSE_BYTES": str(size), "PYTHONPATH": str(BENCH)}
    command = [sys.executable, "-m", "gunicorn", "--workers", str(args.workers)]
    command += ["--bind", f"127.0.0.1:{port}", "--log-level", "warning", "floor_app:app"]
    base = f"http://127.0.0.1:{port}"
    with _running(command, env, folder / "floor.log", f"{base}/healthz") as process:
        yield Server(process, f"{base}/cds-services/{SERVICE}")


@contextmanager
def _running(
    command: list[str], env: dict[str, str], log: Path, ready: str
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_ready(ready, process, log)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server stopped at start:\n{log.read_text()[-2000:]}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} not ready within 60 s")


def _response_size(target: str, template: Path) -> int:
    body = template.read_text().replace(HOOK_INSTANCE, str(uuid.uuid4()))
    headers = {"Authorization": f"Bearer {token(target)}", "Content-Type": "application/json"}
    response = requests.post(target, data=body, headers=headers, timeout=30)
    if response.status_code != 200:
        raise SystemExit(f"the service refused the request: {response.status_code} {response.text}")
    return len(response.content)


def _measure(
    args: argparse.Namespace, server: Server, template: Path, warmup: Path, credentials: Path
) -> Figures:
    """A warm-up run (its figures dropped), then the measured run and the CPU it cost."""
    if args.warmup:
        _wrk(args, server.target, template, warmup, args.warmup)
    before = server.cpu_seconds()
    figures = _wrk(args, server.target, template, credentials, args.duration)
    return replace(figures, cpu_ms=(server.cpu_seconds() - before) * 1000 / figures.requests)


def _credentials(path: Path, target: str, seconds: int) -> Path:
    """One line per request: a fresh JWT and a fresh hookInstance, tab-separated."""
    count = MAX_RATE * max(seconds, 1)
    print(f"signing {count} tokens for {path.name} ...", file=sys.stderr, flush=True)
    lines = (f"{token(target)}\t{uuid.uuid4()}\n" for _ in range(count))
    path.write_text("".join(lines))
    return path


def _wrk(
    args: argparse.Namespace, target: str, template: Path, credentials: Path, seconds: int
) -> Figures:
    command = ["wrk", "--threads", str(args.threads), "--connections", str(args.connections)]
    command += ["--duration", f"{seconds}s", "--timeout", "10s", "--script", str(SCRIPT), target]
    command += ["--", str(template), str(credentials), HOOK_INSTANCE, str(args.threads)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    (line,) = [row for row in output.splitlines() if row.startswith("{")]
    result = json.loads(line)
    return Figures(
        requests=result["requests"],
        seconds=result["seconds"],
        p50=result["p50"] / 1000,
        p90=result["p90"] / 1000,
        p99=result["p99"] / 1000,
        failed=result["failed"],
    )


def _failed_statuses(log: Path) -> dict[int, int]:
    counts: dict[int, int] = {}
    for row in log.read_text().splitlines():
        if '"davinci_pa.request"' in row:
            status = json.loads(row).get("status")
            if isinstance(status, int) and status != 200:
                counts[status] = counts.get(status, 0) + 1
    return counts


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants, from /proc."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [pid, *(p for child in children for p in _tree(int(child)))]


def _process_cpu(pid: int) -> float:
    """User plus system CPU seconds of one process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    main()
