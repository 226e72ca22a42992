"""One real ``workbench serve`` process for the service tests (it starts its own local Ray: 10-40 s).

The server runs with a temporary ``WORKBENCH_DB`` and ``RAY_ADDRESS=local`` (a fresh Ray of its own,
never a leftover head); its stderr (JSON logs) is kept in a file the tests read.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerExited(RuntimeError):
    """The server process ended before it was ready (its log tail is in the message)."""


@dataclass
class Server:
    url: str
    db: Path
    log: Path
    proc: subprocess.Popen

    def log_lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()


def start_server(
    tmp: Path,
    extra_env: dict | None = None,
    ready_timeout: float = 300.0,
    *,
    args: list[str] | None = None,
    ready_path: str = "/ready",
    port: int | None = None,
) -> Server:
    """Start ``python -m engine.cli serve [args]`` on a free port and wait until ``ready_path`` answers 200
    (``/health`` for a server started with ``--no-ray``, whose /ready waits for Ray)."""
    port = port or free_port()
    env = dict(
        os.environ,
        WORKBENCH_DB=str(tmp / "workbench.duckdb"),
        RAY_ADDRESS="local",
        WORKBENCH_RAY_CPUS="2",
        WORKBENCH_RAY_OBJECT_STORE_MB="300",
        WORKBENCH_LOG_LEVEL="INFO",
        PYTHONPATH=str(REPO),
    )
    for name in ("WORKBENCH_SERVER", "OPENAI_API_KEY", "OPENAI_BASE_URL", "WORKBENCH_LLM_MODEL"):
        env.pop(name, None)  # the offline AI layer: deterministic translations and decisions
    env.update(extra_env or {})
    log = tmp / f"server-{port}.log"
    with open(log, "ab") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "serve", "--port", str(port), *(args or [])],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    server = Server(f"http://127.0.0.1:{port}", tmp / "workbench.duckdb", log, proc)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerExited(f"workbench serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(server.url + ready_path, timeout=5).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    stop_server(server)
    raise RuntimeError(f"workbench serve was not ready after {ready_timeout} s:\n{log.read_text()[-3000:]}")


def stop_server(server: Server) -> None:
    """SIGTERM (uvicorn shuts down, Ray's head goes with the process), then SIGKILL if it hangs."""
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(30)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(10)


@pytest.fixture(scope="package")
def server():
    # a directory of our own: pytest prunes old numbered temp dirs, and parallel sessions on this
    # machine could remove the live server's store under it
    tmp = Path(tempfile.mkdtemp(prefix="wb-service-test-"))
    try:
        srv = start_server(tmp)
    except ServerExited:  # e.g. another process took the free port first: once more on a new port
        srv = start_server(tmp)
    yield srv
    stop_server(srv)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def client(server):
    from engine.client import WorkbenchClient

    with WorkbenchClient(server.url, timeout=60) as c:
        yield c
