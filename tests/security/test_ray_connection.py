"""Ray connection failures (issues 13 and 15): the CLI fails fast with what is wrong and what to do and
records no failed run for a run that never started; the app's sidebar says the same and offers a retry;
``make ray-down`` stops only the head ``make run`` started (never ``ray stop``, which stops every Ray of
the user). Real subprocesses throughout; no Ray cluster is started here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[2]
BOGUS = "127.0.0.1:1"  # nothing listens there


def _env(tmp_path: Path, **extra) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), WORKBENCH_DB=str(tmp_path / "w.duckdb"), WORKBENCH_SERVER="local")
    env.pop("WORKBENCH_TOKEN", None)
    env.update(extra)
    return env


def test_the_cli_fails_fast_on_an_unreachable_cluster_and_records_no_failed_run(tmp_path):
    workflow = tmp_path / "wf.toml"
    workflow.write_text(
        'name = "needs ray"\ndsl = "start->step; step->end;"\n'
        '[states.step]\naction = "python"\nfunction = "tests.security.hostile_functions:small"\n'
    )
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "engine.cli", "run", str(workflow), "--execution", "ray"],
        cwd=ROOT,
        env=_env(tmp_path, RAY_ADDRESS=BOGUS),
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - t0
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert f"cannot reach the Ray cluster at {BOGUS}" in out and "unset RAY_ADDRESS" in out, out
    assert "not started (nothing recorded)" in out, out
    assert "stop --force" not in out and "InvalidAuthToken" not in out and "Traceback" not in out, out
    assert elapsed < 60, f"took {elapsed:.1f} s"
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM workflow_executions").fetchall()[0][0] == 0  # analytics stay clean
        assert con.execute("SELECT count(*) FROM state_transitions").fetchall()[0][0] == 0


SIDEBAR_PROBE = """
import json, time
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("app/main.py", default_timeout=60)
deadline = time.monotonic() + 60
while True:
    at.run()
    side = [c.value for c in at.sidebar.caption]
    if any("Ray unavailable" in c for c in side) or time.monotonic() > deadline:
        break
    time.sleep(0.5)
buttons = [b.label for b in at.sidebar.button]
before = list(side)
retry = [b for b in at.sidebar.button if b.label == "Retry connecting to Ray"]
if retry:
    retry[0].click()
    at.run()
    time.sleep(2)
    at.run()
print(json.dumps({"side": before, "buttons": buttons, "after": [c.value for c in at.sidebar.caption],
                  "exceptions": [e.message for e in at.exception]}))
"""


def test_the_app_says_what_is_wrong_and_what_to_do_with_a_retry_button(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", SIDEBAR_PROBE],
        cwd=ROOT,
        env=_env(tmp_path, RAY_ADDRESS=BOGUS),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    side = " ".join(seen["side"])
    assert not seen["exceptions"], seen["exceptions"]
    assert "Ray unavailable" in side, side
    assert f"cannot reach the Ray cluster at {BOGUS}" in side and "unset RAY_ADDRESS" in side, side
    assert "stop --force" not in side
    assert "Retry connecting to Ray" in seen["buttons"]
    assert "Ray unavailable" in " ".join(seen["after"])  # retried: still unreachable, still explained


def _sleeper(marker: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", marker])


def _gone(proc: subprocess.Popen, timeout: float = 30.0) -> bool:
    try:
        proc.wait(timeout)
        return True
    except subprocess.TimeoutExpired:
        return False


def test_ray_down_stops_only_the_head_that_make_run_started(tmp_path):
    from ray_tasks import cluster

    tag = uuid.uuid4().hex[:8]
    ours_session = tmp_path / f"session_2026-12-02_00-00-00_{tag}_ours"
    ours = _sleeper(f"--session-dir={ours_session}")  # stands for the head's processes (raylet, gcs…)
    other = _sleeper(f"--session-dir=/tmp/ray/session_2026-12-02_00-00-00_{tag}_other")  # someone else's Ray
    env = _env(tmp_path, WORKBENCH_RAY_HEAD_FILE=str(tmp_path / "ray-head.json"))
    try:
        deadline = time.monotonic() + 20
        while not cluster._pids_with(ours_session.name) and time.monotonic() < deadline:
            time.sleep(0.1)
        os.environ["WORKBENCH_RAY_HEAD_FILE"] = env["WORKBENCH_RAY_HEAD_FILE"]
        try:
            record = cluster.record_started_head(ours_session, address="127.0.0.1:6379")
        finally:
            os.environ.pop("WORKBENCH_RAY_HEAD_FILE")
        assert record["pids"] == [ours.pid] and Path(env["WORKBENCH_RAY_HEAD_FILE"]).exists()
        stop = [sys.executable, "-m", "ray_tasks.cluster", "stop"]
        proc = subprocess.run(stop, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "stopped the Ray head" in proc.stdout and "other Ray clusters were left alone" in proc.stdout
        assert _gone(ours), "the recorded head was not stopped"
        assert other.poll() is None, "a Ray that make run did not start was stopped"
        again = subprocess.run(stop, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert "nothing stopped" in again.stdout and other.poll() is None
    finally:
        for p in (ours, other):
            if p.poll() is None:
                p.kill()
                p.wait(10)
    makefile = (ROOT / "Makefile").read_text()
    ray_down = makefile.split("\nray-down:", 1)[1].split("\n\n", 1)[0]
    assert "ray_tasks.cluster stop" in ray_down and "ray stop" not in ray_down


def test_the_ray_dashboard_listens_on_loopback_only(ray_cluster):
    """A local cluster (the app's, the service's, this session's) serves its dashboard on 127.0.0.1."""
    from urllib.parse import urlparse

    from ray_tasks import cluster

    info = cluster.info()
    assert info is not None and info.dashboard_url, "no dashboard URL"
    assert urlparse(info.dashboard_url).hostname in ("127.0.0.1", "localhost"), info.dashboard_url
