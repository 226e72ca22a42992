"""``make run``'s service launcher: starts one ``workbench serve`` in the background unless one answers,
refuses a port held by something else, and stops only the process it started."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.service import launcher
from tests.service.conftest import REPO, free_port

pytestmark = [pytest.mark.slow]


def _launch(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(
        os.environ, WORKBENCH_RUN_DIR=str(tmp / "run"), WORKBENCH_DB=str(tmp / "wb.duckdb"), PYTHONPATH=str(REPO)
    )
    env.pop("WORKBENCH_SERVER", None)
    return subprocess.run(
        [sys.executable, "-m", "engine.service.launcher", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_ensure_starts_one_service_reuses_it_and_stop_ends_only_it(tmp_path, monkeypatch):
    port = free_port()
    first = _launch(tmp_path, "ensure", "--port", str(port), "--", "--no-ray")
    assert first.returncode == 0, first.stderr
    assert "started" in first.stderr
    pid_file = tmp_path / "run" / f"service-{port}.pid"
    pid = int(pid_file.read_text())
    try:
        assert launcher.service_answers("127.0.0.1", port)
        again = _launch(tmp_path, "ensure", "--port", str(port), "--", "--no-ray")
        assert again.returncode == 0 and "already answers" in again.stderr
        assert int(pid_file.read_text()) == pid  # no second process
        assert (tmp_path / "run" / f"service-{port}.log").read_text().strip()
    finally:
        stopped = _launch(tmp_path, "stop", "--port", str(port))
    assert stopped.returncode == 0 and f"pid {pid}" in stopped.stderr
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and launcher.service_answers("127.0.0.1", port):
        time.sleep(0.2)
    assert not launcher.service_answers("127.0.0.1", port)
    assert not pid_file.exists()


def test_a_port_held_by_something_else_is_refused_and_a_foreign_pid_is_never_stopped(tmp_path):
    port = free_port()
    other = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not launcher.port_taken("127.0.0.1", port) and time.monotonic() < deadline:
            time.sleep(0.1)
        out = _launch(tmp_path, "ensure", "--port", str(port))
        assert out.returncode == 1 and "not a workbench service" in out.stderr
        # a pid file naming a process that is not a workbench service: nothing is stopped
        (tmp_path / "run").mkdir(exist_ok=True)
        (tmp_path / "run" / f"service-{port}.pid").write_text(str(other.pid))
        out = _launch(tmp_path, "stop", "--port", str(port))
        assert out.returncode == 0 and "nothing stopped" in out.stderr
        time.sleep(0.3)
        assert other.poll() is None
    finally:
        other.kill()
        other.wait(10)
