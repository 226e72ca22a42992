"""Back-pressure and runs that survive restarts, with real ``workbench serve`` processes.

The servers run with ``--no-ray`` and the runs with ``execution = inline`` (states on the server's
thread pool): what is tested is the service's admission and take-over, not Ray.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from engine.client import WorkbenchClient
from tests.service.conftest import ServerExited, start_server, stop_server

pytestmark = [pytest.mark.slow]


def sleeper_toml(name: str, seconds: float, limit: int | None) -> str:
    settings = f"[settings]\nmax_concurrent_runs = {limit}\n" if limit else ""
    return f'''
name = "{name}"
dsl = "start->nap; nap->end;"
{settings}
[states.nap]
action = "python"
function = "tests.engine.functions:sleep_and_mark"
params = {{ seconds = {seconds}, key = "nap" }}
'''


def _start(tmp: Path, args: list[str], port: int | None = None):
    try:
        return start_server(tmp, args=["--no-ray", *args], ready_path="/health", ready_timeout=120, port=port)
    except ServerExited:
        if port is not None:
            raise
        return start_server(tmp, args=["--no-ray", *args], ready_path="/health", ready_timeout=120)


@pytest.fixture(scope="module")
def qserver():
    tmp = Path(tempfile.mkdtemp(prefix="wb-queue-test-"))
    srv = _start(tmp, ["--max-runs", "3"])
    yield srv
    stop_server(srv)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def qclient(qserver):
    with WorkbenchClient(qserver.url, timeout=60) as c:
        yield c


def _ts(value) -> float:
    return dt.datetime.fromisoformat(str(value)).timestamp()


def _max_overlap(intervals: list[tuple[float, float]]) -> int:
    """Most intervals open at one instant (an end at t comes before a start at t)."""
    points = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda p: (p[0], p[1]))
    top = now = 0
    for _, step in points:
        now += step
        top = max(top, now)
    return top


def _submit(client, wid: str, n: int, **opts) -> list[dict]:
    return [client.execute(wid, {"i": i}, execution="inline", **opts) for i in range(n)]


def _finish(client, ids: list[str], timeout: float = 120) -> list[dict]:
    out = []
    for eid in ids:
        client.wait(eid, timeout=timeout)
        out.append(client.execution(eid))
    return out


def test_max_concurrent_runs_queues_the_rest_and_starts_them_in_order(qclient):
    wf = qclient.create_workflow(toml=sleeper_toml(f"Queue two {uuid.uuid4().hex[:6]}", 1.0, limit=2))
    started = _submit(qclient, wf["workflow_id"], 6)
    assert [s["status"] for s in started[:2]] != ["queued", "queued"]
    assert [s["status"] for s in started[2:]] == ["queued"] * 4
    queued = qclient.execution(started[-1]["execution_id"])
    assert queued["status"] in ("queued", "running", "completed")
    runs = _finish(qclient, [s["execution_id"] for s in started])
    assert [r["status"] for r in runs] == ["completed"] * 6
    # the run records: never more than 2 in flight, and 2 at once at some point (a real limit, not 1)
    spans = [(_ts(r["start_time"]), _ts(r["end_time"])) for r in runs]
    assert _max_overlap(spans) == 2, spans
    # the states themselves (their own clocks) agree
    naps = [tuple(r["final_context"]["nap_window"]) for r in runs]
    assert _max_overlap(naps) <= 2, naps
    # queued runs started in submission order
    assert sorted(range(6), key=lambda i: spans[i][0]) == list(range(6))
    audit = qclient.history(started[-1]["execution_id"])["audit_logs"]
    assert any(a["event_type"] == "run_queued" and "max_concurrent_runs = 2" in a["message"] for a in audit)


def test_priority_orders_the_queue_and_a_queued_run_can_be_cancelled(qclient):
    wf = qclient.create_workflow(toml=sleeper_toml(f"Queue one {uuid.uuid4().hex[:6]}", 0.6, limit=1))
    wid = wf["workflow_id"]
    first = qclient.execute(wid, {"n": "first"}, execution="inline")
    low_a = qclient.execute(wid, {"n": "low_a"}, execution="inline")
    low_b = qclient.execute(wid, {"n": "low_b"}, execution="inline", priority=0)
    high = qclient.execute(wid, {"n": "high"}, execution="inline", priority=5)
    dropped = qclient.execute(wid, {"n": "dropped"}, execution="inline", priority=9)
    assert [r["status"] for r in (low_a, low_b, high, dropped)] == ["queued"] * 4
    out = qclient.cancel(dropped["execution_id"])
    assert out["status"] == "cancelled"
    ids = [first, low_a, low_b, high]
    runs = {r["initial_context"]["n"]: r for r in _finish(qclient, [r["execution_id"] for r in ids])}
    order = sorted(runs, key=lambda k: _ts(runs[k]["start_time"]))
    assert order == ["first", "high", "low_a", "low_b"]
    gone = qclient.execution(dropped["execution_id"])
    assert gone["status"] == "cancelled"
    assert qclient.history(dropped["execution_id"])["transitions"] == []  # never started
    listed = qclient.executions(workflow=wf["name"], status="cancelled")
    assert [r["execution_id"] for r in listed] == [dropped["execution_id"]]


def test_a_queued_run_cancelled_by_another_process_through_the_records_never_starts(qclient, qserver):
    import subprocess
    import sys

    from tests.service.conftest import REPO

    wf = qclient.create_workflow(toml=sleeper_toml(f"Cancel queued {uuid.uuid4().hex[:6]}", 8, limit=1))
    running = qclient.execute(wf["workflow_id"], {}, execution="inline")
    queued = qclient.execute(wf["workflow_id"], {}, execution="inline")
    assert queued["status"] == "queued"
    env = dict(os.environ, WORKBENCH_DB=str(qserver.db), PYTHONPATH=str(REPO))
    env.pop("WORKBENCH_SERVER", None)  # a local CLI on the same records, not a client of the service
    out = subprocess.run(
        [sys.executable, "-m", "engine.cli", "cancel", queued["execution_id"]],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "cancel requested"  # the service holds it: asked through the records
    gone = _wait_for(
        lambda: (lambda ex: ex if ex["status"] == "cancelled" else None)(qclient.execution(queued["execution_id"])),
        20,
        "the queued run to be cancelled",
    )
    assert "by request" in (gone.get("error_message") or "")
    assert qclient.execution(running["execution_id"])["status"] == "running"  # it was still queued
    assert qclient.wait(running["execution_id"], timeout=60)["status"] == "completed"
    time.sleep(1.0)
    assert qclient.history(queued["execution_id"])["transitions"] == []


def test_service_limit_caps_runs_of_every_workflow(qclient):
    wf = qclient.create_workflow(toml=sleeper_toml(f"No own limit {uuid.uuid4().hex[:6]}", 0.8, limit=None))
    started = _submit(qclient, wf["workflow_id"], 5)
    assert [s["status"] for s in started].count("queued") >= 2
    runs = _finish(qclient, [s["execution_id"] for s in started])
    assert [r["status"] for r in runs] == ["completed"] * 5
    assert _max_overlap([(_ts(r["start_time"]), _ts(r["end_time"])) for r in runs]) == 3  # --max-runs 3
    assert qclient.executions(status="queued") == []
    q = qclient.queue()
    assert q["max_runs"] == 3 and q["max_observed"] == 3 and q["queued"] == 0


# ------------------------------------------------------------------------------ restarts
RESTART_TOML = """
name = "Survives restarts {tag}"
dsl = "start->first; first->slow; slow->end;"
[states.first]
action = "python"
function = "tests.engine.functions:record_call"
params = {{ log_file = "{log}", name = "first" }}
[states.slow]
action = "python"
function = "tests.engine.functions:slow_then_record"
params = {{ log_file = "{log}", name = "slow", seconds = {seconds} }}
"""


def _wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_runs_of_a_killed_service_complete_after_a_restart_without_rerunning_states():
    tmp = Path(tempfile.mkdtemp(prefix="wb-restart-test-"))
    calls = tmp / "calls.log"
    srv = _start(tmp, ["--max-runs", "1"])
    try:
        with WorkbenchClient(srv.url, timeout=60) as c:
            wf = c.create_workflow(toml=RESTART_TOML.format(tag=uuid.uuid4().hex[:6], log=calls, seconds=4))
            run = c.execute(wf["workflow_id"], {"k": 1}, execution="inline")
            behind = c.execute(wf["workflow_id"], {"k": 2}, execution="inline")
            assert behind["status"] == "queued"  # --max-runs 1
            eid = run["execution_id"]

            def first_recorded():
                return [
                    t
                    for t in c.history(eid)["transitions"]
                    if t["from_state"] == "first" and t["status"] == "completed"
                ]

            _wait_for(first_recorded, 60, "the first state's record")
            time.sleep(0.5)  # 'slow' is sleeping now
        os.kill(srv.proc.pid, signal.SIGKILL)
        srv.proc.wait(10)
        assert calls.read_text().splitlines() == ["first"]  # 'slow' was killed before it finished

        srv = _start(tmp, ["--max-runs", "1"])  # same store, a new process (and port)
        with WorkbenchClient(srv.url, timeout=60) as c:
            done = c.wait(eid, timeout=120)
            assert done["status"] == "completed"
            later = c.wait(behind["execution_id"], timeout=120)
            assert later["status"] == "completed"
            # each state really ran once per run: 'first' was replayed from the records, not run again
            assert sorted(calls.read_text().splitlines()) == ["first", "first", "slow", "slow"]
            hist = c.history(eid)
            completed = [t["from_state"] for t in hist["transitions"] if t["status"] == "completed"]
            assert completed.count("first") == 1 and completed.count("slow") == 1
            ids = [t["id"] for t in hist["transitions"]]
            assert len(ids) == len(set(ids))
            adopted = [a for a in hist["audit_logs"] if a["event_type"] == "run_adopted"]
            assert len(adopted) == 1 and "replayed" in adopted[0]["message"]
            assert any(a["event_type"] == "run_adopted" for a in c.history(behind["execution_id"])["audit_logs"])
            # the queued run started only after the adopted one (the limit held across the restart)
            assert _ts(later["start_time"]) >= _ts(done["end_time"])
            assert done["final_context"]["slow_ran"] is True
    finally:
        stop_server(srv)
        shutil.rmtree(tmp, ignore_errors=True)


def test_a_killed_local_cli_run_is_taken_over_by_the_running_service():
    """``workbench run`` (no WORKBENCH_SERVER) drives a run on the service's store and is killed: its
    lease lapses and the service, already running, finishes the run without running 'first' again."""
    import subprocess
    import sys

    from tests.service.conftest import REPO

    tmp = Path(tempfile.mkdtemp(prefix="wb-cli-adopt-test-"))
    calls = tmp / "calls.log"
    flow = tmp / "flow.toml"
    flow.write_text(RESTART_TOML.format(tag=uuid.uuid4().hex[:6], log=calls, seconds=3))
    srv = _start(tmp, [])
    env = dict(os.environ, WORKBENCH_DB=str(srv.db), PYTHONPATH=str(REPO))
    env.pop("WORKBENCH_SERVER", None)
    cli = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "run", str(flow), "--execution", "inline", "--json"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with WorkbenchClient(srv.url, timeout=60) as c:
            _wait_for(lambda: calls.exists() and calls.read_text().splitlines() == ["first"], 60, "'first' to run")
            runs = _wait_for(lambda: c.executions(status="running"), 30, "the CLI's run in the records")
            eid = runs[0]["execution_id"]
            time.sleep(0.5)
            cli.kill()
            cli.wait(10)
            done = c.wait(eid, timeout=120)
            assert done["status"] == "completed"
            assert calls.read_text().splitlines() == ["first", "slow"]
            audit = c.history(eid)["audit_logs"]
            assert [a["event_type"] for a in audit].count("run_adopted") == 1
    finally:
        if cli.poll() is None:
            cli.kill()
        stop_server(srv)
        shutil.rmtree(tmp, ignore_errors=True)


EXPIRING_TOML = """
name = "expiring approval {tag}"
dsl = "start->approve; approve->order:approved==True; approve->drop; approve->escalate:@error; order->end; drop->end; escalate->end;"
[states.approve]
action = "approval"
message = "Approve it?"
timeout_s = 2
"""


def _cli_run_left_waiting(qserver, flow: Path) -> str:
    """``workbench run FLOW`` (inline) on the service's store, in its own process, which exits once the
    run waits for a person; returns the run's execution id."""
    import json
    import subprocess
    import sys

    from tests.service.conftest import REPO

    env = dict(os.environ, WORKBENCH_DB=str(qserver.db), PYTHONPATH=str(REPO))
    env.pop("WORKBENCH_SERVER", None)
    p = subprocess.run(
        [sys.executable, "-m", "engine.cli", "run", str(flow), "--execution", "inline", "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = json.loads(p.stdout)
    assert out["status"] == "waiting", p.stderr
    return out["execution_id"]


def test_an_approval_nobody_answers_expires_in_the_service_after_the_cli_that_asked_is_gone(qserver):
    """``workbench run`` stops driving when only a person can go on (the run waits, the CLI exits). No
    answer comes: once the approval's ``timeout_s`` has passed, the running service resumes the run,
    records the approval as expired and takes its ``@error`` path."""
    flow = qserver.db.parent / f"expiring-{uuid.uuid4().hex[:6]}.toml"
    flow.write_text(EXPIRING_TOML.format(tag=uuid.uuid4().hex[:6]))
    execution_id = _cli_run_left_waiting(qserver, flow)
    with WorkbenchClient(qserver.url, timeout=60) as c:
        done = c.wait(execution_id, timeout=60)
        assert done["status"] == "completed"
        assert done["states_visited"][-2] == "escalate"
        history = c.history(execution_id)
        events = [a["event_type"] for a in history["audit_logs"]]
        assert "request_expired" in events and events.count("run_adopted") == 1


CHILD_EXPIRING_TOML = """
name = "purchase {tag}"
dsl = "start->buy; buy->thank; thank->end;"
[states.buy]
action = "workflow"
workflow = "expiring-child-{tag}.toml"
[states.thank]
action = "noop"
"""


def test_an_approval_of_a_sub_workflow_expires_in_the_service_after_the_cli_that_asked_is_gone(qserver):
    """The same with the approval one level down, in a sub-workflow: the waiting top-level run is taken
    over and resumed; the child records the approval as expired, takes its ``@error`` path, and the
    parent goes on after it."""
    tag = uuid.uuid4().hex[:6]
    (qserver.db.parent / f"expiring-child-{tag}.toml").write_text(EXPIRING_TOML.format(tag=tag))
    flow = qserver.db.parent / f"purchase-{tag}.toml"
    flow.write_text(CHILD_EXPIRING_TOML.format(tag=tag))
    execution_id = _cli_run_left_waiting(qserver, flow)
    with WorkbenchClient(qserver.url, timeout=60) as c:
        done = c.wait(execution_id, timeout=60)
        assert done["status"] == "completed"
        assert done["states_visited"][-3:] == ["buy", "thank", "end"]
        events = [a["event_type"] for a in c.history(execution_id)["audit_logs"]]
        assert events.count("run_adopted") == 1
        child_id = f"{execution_id}-buy-0"
        assert "request_expired" in [a["event_type"] for a in c.history(child_id)["audit_logs"]]
        child = c.execution(child_id)
        assert child["status"] == "completed" and child["states_visited"][-2] == "escalate"
