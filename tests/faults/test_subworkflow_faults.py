"""Cancel and run timeouts reach sub-workflows (real Ray, and the real CLI as a subprocess)."""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.runner import RunOptions
from engine.workflow_file import load_workflow

pytestmark = pytest.mark.ray

ROOT = Path(__file__).resolve().parents[2]
GUARD_S = 60


def _tree(tmp_path: Path, child_seconds: float = 30.0, child_settings: str = "", parent_extra: str = "") -> Path:
    """parent -> middle -> leaf, the leaf sleeping on a Ray worker; returns the parent's path."""
    (tmp_path / "leaf.toml").write_text(f'''
name = "leaf"
dsl = "start->mark; mark->nap; nap->end;"
[states.mark]
action = "python"
function = "tests.engine.functions:record_call"
params = {{ log_file = "{tmp_path / "calls.log"}", name = "leaf_started" }}
[states.nap]
action = "python"
function = "tests.engine.functions:sleep_and_mark"
params = {{ seconds = {child_seconds}, key = "napped" }}
execution = "ray"
{child_settings}''')
    (tmp_path / "middle.toml").write_text(
        'name = "middle"\ndsl = "start->call_leaf; call_leaf->end;"\n'
        '[states.call_leaf]\naction = "workflow"\nworkflow = "leaf.toml"\n'
    )
    parent = tmp_path / "parent.toml"
    parent.write_text(
        'name = "parent"\ndsl = "start->call_middle; call_middle->end;' + parent_extra + '"\n'
        '[states.call_middle]\naction = "workflow"\nworkflow = "middle.toml"\n'
    )
    return parent


def _descendants(store, root_id: str) -> list[dict]:
    out, frontier = [], [root_id]
    while frontier:
        rows = store.query(
            "SELECT execution_id, workflow_name, status, error_message FROM workflow_executions "
            "WHERE parent_execution_id IN (SELECT unnest(?::VARCHAR[]))",
            [frontier],
        )
        out += rows
        frontier = [r["execution_id"] for r in rows]
    return out


def _wait(engine, eid):
    try:
        return engine.wait(eid, timeout=GUARD_S)
    except concurrent.futures.TimeoutError:
        pytest.fail(f"run {eid} did not finish within {GUARD_S} s (hung)")


def _wait_for_leaf(store, root_id: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows = store.query(
            "SELECT count(*) AS n FROM state_transitions WHERE workflow_id = 'leaf' AND from_state = 'start'"
        )
        if rows[0]["n"] and len(_descendants(store, root_id)) == 2:
            return
        time.sleep(0.1)
    raise AssertionError("the leaf sub-workflow never started")


def test_run_timeout_reaches_children_and_grandchildren(engine, tmp_path):
    spec = load_workflow(_tree(tmp_path))
    t0 = time.perf_counter()
    res = _wait(engine, engine.start(spec, {}, RunOptions(timeout_s=3)))
    wall = time.perf_counter() - t0
    assert res.status == "failed" and "timed out after 3 s" in res.error, res.error
    assert wall < 10, f"a 3 s timeout took {wall:.1f}s"
    kids = _descendants(engine.store, res.execution_id)
    assert {k["workflow_name"] for k in kids} == {"middle", "leaf"}
    for k in kids:
        assert k["status"] == "failed" and "timed out" in k["error_message"], k
    # a timeout is not a state failure to recover from
    n = engine.store.query("SELECT count(*) AS n FROM recovery_actions")[0]["n"]
    assert n == 0
    assert not engine.store.query(
        "SELECT * FROM state_transitions WHERE status = 'completed' "
        "AND from_state IN ('call_middle', 'call_leaf', 'nap')"
    )


def test_cancel_of_a_parent_cancels_its_children(engine, tmp_path):
    spec = load_workflow(_tree(tmp_path))
    eid = engine.start(spec, {})
    _wait_for_leaf(engine.store, eid)
    t0 = time.perf_counter()
    assert engine.cancel(eid) == "cancelling"
    res = _wait(engine, eid)
    assert time.perf_counter() - t0 < 10
    assert res.status == "cancelled"
    assert engine.execution_row(eid)["status"] == "cancelled"
    kids = _descendants(engine.store, eid)
    assert len(kids) == 2
    for k in kids:
        assert k["status"] == "cancelled" and "cancelled" in k["error_message"], k
    assert engine.store.query("SELECT count(*) AS n FROM recovery_actions")[0]["n"] == 0


def test_cancel_of_a_child_stops_its_parent_without_retry(engine, tmp_path):
    spec = load_workflow(_tree(tmp_path))
    eid = engine.start(spec, {})
    _wait_for_leaf(engine.store, eid)
    leaf = next(k for k in _descendants(engine.store, eid) if k["workflow_name"] == "leaf")
    assert engine.cancel(leaf["execution_id"]) == "cancelling"
    res = _wait(engine, eid)
    assert res.status == "cancelled" and leaf["execution_id"] in res.error
    assert {k["status"] for k in _descendants(engine.store, eid)} == {"cancelled"}
    assert engine.store.query("SELECT count(*) AS n FROM recovery_actions")[0]["n"] == 0


def test_a_childs_own_timeout_is_a_normal_state_failure(engine, tmp_path):
    _tree(tmp_path, child_settings="[settings]\ntimeout_s = 1\n")
    parent = tmp_path / "direct.toml"
    parent.write_text(
        'name = "direct"\ndsl = "start->call_leaf; call_leaf->end; call_leaf->handled:@error; '
        'handled->end;"\n[states.call_leaf]\naction = "workflow"\nworkflow = "leaf.toml"\n'
        'on_error = "fallback"\n'
    )
    res = _wait(engine, engine.start(load_workflow(parent), {}))
    assert res.status == "completed", res.error
    assert "handled" in res.states_visited and "timed out" in res.final_context["error"]["message"]
    [leaf] = _descendants(engine.store, res.execution_id)
    assert leaf["status"] == "failed" and "timed out after 1 s" in leaf["error_message"]


def test_cli_run_timeout_ends_the_run_and_its_child(tmp_path, ray_cluster):
    from engine.store import Store

    parent = _tree(tmp_path)
    db = tmp_path / "cli.duckdb"
    env = dict(os.environ, WORKBENCH_DB=str(db), PYTHONPATH=str(ROOT), RAY_ADDRESS=ray_cluster.address)
    env.pop("OPENAI_API_KEY", None)
    env.pop("OPENAI_BASE_URL", None)
    t0 = time.perf_counter()
    p = subprocess.run(
        [sys.executable, "-m", "engine.cli", "run", str(parent), "--timeout", "3", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    wall = time.perf_counter() - t0
    assert p.returncode == 1, p.stderr
    out = json.loads(p.stdout)
    assert out["status"] == "failed" and "timed out after 3 s" in out["error"], out
    assert out["duration_ms"] < 8000, out["duration_ms"]
    assert wall < 60, f"the CLI took {wall:.1f}s"
    store = Store(db)
    try:
        kids = _descendants(store, out["execution_id"])
    finally:
        store.close()
    assert {k["workflow_name"] for k in kids} == {"middle", "leaf"}
    assert all(k["status"] not in ("running", "completed") for k in kids), kids


def test_cancel_of_an_orphaned_parent_cancels_its_recorded_children(tmp_path, ray_cluster):
    """The driving CLI is kill -9-ed mid-child; a cancel from another process ends the whole tree in the store."""
    from engine.executors import InlineExecutor
    from engine.runner import Engine
    from engine.store import Store

    parent = _tree(tmp_path, child_seconds=3.0)
    db = tmp_path / "cli.duckdb"
    env = dict(os.environ, WORKBENCH_DB=str(db), PYTHONPATH=str(ROOT), RAY_ADDRESS=ray_cluster.address)
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "run", str(parent), "--json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    log = tmp_path / "calls.log"
    try:
        deadline = time.monotonic() + 90
        while not (log.exists() and "leaf_started" in log.read_text()):
            assert time.monotonic() < deadline and proc.poll() is None, "the leaf never started"
            time.sleep(0.1)
        leaf_started = time.monotonic()
        time.sleep(0.5)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    store = Store(db)
    eng = Engine(store=store, executor=InlineExecutor())
    try:
        root = store.query("SELECT execution_id FROM workflow_executions WHERE parent_execution_id IS NULL")
        eid = root[0]["execution_id"]
        assert {k["status"] for k in _descendants(store, eid)} == {"running"}
        assert eng.cancel(eid) == "cancelled"
        assert eng.execution_row(eid)["status"] == "cancelled"
        kids = _descendants(store, eid)
        assert len(kids) == 2
        for k in kids:
            assert k["status"] == "cancelled" and eid in k["error_message"], k
    finally:
        eng.shutdown()
        store.close()
        # the dead driver's nap may hold a Ray CPU until it ends: leave the cluster as we found it
        time.sleep(max(0.0, leaf_started + 3.5 - time.monotonic()))


def test_ray_needed_only_by_a_child_is_connected_before_the_run_timeout_starts(tmp_path):
    """Ray is connected (or found unreachable) before the clock starts, also when only a child needs it:
    connecting inside the child blocked the driver loop, so the run 'timed out' instead of saying why."""
    parent = _tree(tmp_path)
    env = dict(os.environ, WORKBENCH_DB=str(tmp_path / "u.duckdb"), PYTHONPATH=str(ROOT), RAY_ADDRESS="127.0.0.1:9")
    env.pop("OPENAI_API_KEY", None)
    env.pop("OPENAI_BASE_URL", None)
    p = subprocess.run(
        [sys.executable, "-m", "engine.cli", "run", str(parent), "--timeout", "1", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 1, p.stderr
    out = json.loads(p.stdout)
    assert out["status"] == "failed" and "cannot reach the Ray cluster" in out["error"], out


def _signer_tree(tmp_path: Path) -> Path:
    (tmp_path / "signer.toml").write_text(
        'name = "signer"\ndsl = "start->sign; sign->end;"\n[states.sign]\naction = "approval"\nmessage = "Sign?"\n'
    )
    outer = tmp_path / "outer.toml"
    outer.write_text(
        'name = "outer"\ndsl = "start->call; call->after; after->end;"\n'
        '[states.call]\naction = "workflow"\nworkflow = "signer.toml"\n'
    )
    return outer


def test_cli_run_whose_sub_workflow_waits_for_a_person_returns_and_is_approved_through_the_parent(tmp_path):
    """The CLI stops driving when only a person can go on, also inside a sub-workflow (it hung forever)."""
    outer = _signer_tree(tmp_path)
    env = dict(os.environ, WORKBENCH_DB=str(tmp_path / "w.duckdb"), PYTHONPATH=str(ROOT))
    env.pop("OPENAI_API_KEY", None)
    env.pop("OPENAI_BASE_URL", None)

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "engine.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=90
        )

    p = cli("run", str(outer), "--json")
    assert p.returncode == 1, p.stderr
    out = json.loads(p.stdout)
    eid = out["execution_id"]
    assert out["status"] == "waiting" and [w["state"] for w in out["waiting_for"]] == ["sign"]
    assert f"workbench approve {eid} sign" in p.stderr
    p = cli("approve", eid, "sign", "--yes", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["status"] == "completed" and out["states_visited"] == ["start", "call", "after", "end"]
    assert out["final_context"]["sign_approved"] is True


def test_answering_a_waiting_sub_workflow_by_its_own_id_continues_the_whole_run(engine, tmp_path):
    outer = _signer_tree(tmp_path)
    eid = engine.start(load_workflow(outer), {}, RunOptions(detach_when_waiting=True))
    assert _wait(engine, eid).status == "waiting"
    [child] = _descendants(engine.store, eid)
    assert child["status"] == "waiting"
    assert engine.answer(child["execution_id"], "sign", "yes")["delivered"] == "resume"
    assert engine.resume(child["execution_id"]) == eid  # continued through the run that awaits it
    res = _wait(engine, eid)
    assert res.status == "completed" and res.states_visited == ["start", "call", "after", "end"]
    assert [k["status"] for k in _descendants(engine.store, eid)] == ["completed"]
