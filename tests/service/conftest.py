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
        time.sleep(0.1)  # a --no-ray server is up in a few seconds: do not add half a second to each start
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


def workbench_cli(db: Path, *args: str, **env_extra: str) -> subprocess.CompletedProcess:
    """The ``workbench`` CLI in its own process on the store at ``db``, as the local user ``admin-cli``
    (no token or service taken from the test's environment); ``env_extra`` adds variables."""
    env = dict(os.environ, WORKBENCH_DB=str(db), PYTHONPATH=str(REPO), WORKBENCH_USER="admin-cli")
    env.pop("WORKBENCH_TOKEN", None)
    env.pop("WORKBENCH_SERVER", None)
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def make_tokens(db: Path, users: dict[str, str]) -> dict[str, str]:
    """One API token per user (``{name: role}``) in the store at ``db``, through the function
    ``workbench token create`` calls (one process instead of a CLI start per user)."""
    from engine import auth
    from engine.identity import login_user
    from engine.store import Store

    with Store(db) as store:
        return {
            name: auth.create_token(store, role, user=name, name=name, created_by=login_user())[0]
            for name, role in users.items()
        }


def start_auth_server(prefix: str, users: dict[str, str], env: dict | None = None) -> tuple[Server, dict[str, str]]:
    """``workbench serve --no-ray --auth required`` on a new store (in a temp dir named ``prefix…``,
    removed by :func:`stop_auth_server`) with a token per user; retried once when another process took
    the free port first."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    tokens = make_tokens(tmp / "workbench.duckdb", users)
    args = ["--no-ray", "--auth", "required"]
    try:
        srv = start_server(tmp, env, args=args, ready_path="/health", ready_timeout=120)
    except ServerExited:
        srv = start_server(tmp, env, args=args, ready_path="/health", ready_timeout=120)
    return srv, tokens


def stop_auth_server(server: Server) -> None:
    """Stop a server of :func:`start_auth_server` and remove its temp dir."""
    stop_server(server)
    shutil.rmtree(server.db.parent, ignore_errors=True)


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
