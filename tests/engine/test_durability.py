"""Durability with real processes: kill -9 then resume; a read-only reader while a run records."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.ray, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
WORKBENCH = [sys.executable, "-m", "engine.cli"]


def _env(db: Path, ray_cluster) -> dict:
    env = dict(os.environ, WORKBENCH_DB=str(db), PYTHONPATH=str(ROOT), RAY_ADDRESS=ray_cluster.address)
    env.pop("OPENAI_API_KEY", None)
    env.pop("OPENAI_BASE_URL", None)
    return env


def _chain_file(tmp_path: Path, log: Path, slow_s: float) -> Path:
    wf = tmp_path / "chain.toml"
    states = ""
    for name, fn, extra in (
        ("first", "record_call", ""),
        ("second", "record_call", ""),
        ("slow", "slow_then_record", f", seconds = {slow_s}"),
        ("third", "record_call", ""),
    ):
        states += textwrap.dedent(f'''
            [states.{name}]
            action = "python"
            function = "tests.engine.functions:{fn}"
            params = {{ log_file = "{log}", name = "{name}"{extra} }}
            execution = "ray"
            ''')
    wf.write_text(
        'name = "durable chain"\ndsl = "start->first; first->second; second->slow; slow->third; third->end;"\n' + states
    )
    return wf


def _wait_for(pred, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_kill_9_then_resume_does_not_rerun_completed_states(tmp_path, ray_cluster):
    db = tmp_path / "workbench.duckdb"
    log = tmp_path / "calls.log"
    wf = _chain_file(tmp_path, log, slow_s=3.0)
    proc = subprocess.Popen(
        [*WORKBENCH, "run", str(wf), "--json"],
        cwd=ROOT,
        env=_env(db, ray_cluster),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(lambda: log.exists() and "second" in log.read_text().split(), 60, "the first two states")
        time.sleep(0.3)  # 'slow' is now in flight
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    from engine.executors import ray_executor
    from engine.runner import Engine
    from engine.store import Store

    store = Store(db)  # a new process-level view: converts the dead writer's log
    eng = Engine(store=store, executor=ray_executor())
    try:
        rows = store.query("SELECT execution_id, status FROM workflow_executions")
        assert len(rows) == 1 and rows[0]["status"] == "running"
        eid = rows[0]["execution_id"]
        done = {
            r["from_state"]
            for r in store.query(
                "SELECT from_state FROM state_transitions WHERE execution_id = ? AND status = 'completed'", [eid]
            )
        }
        assert {"start", "first", "second"} <= done
        res = eng.wait(eng.resume(eid), timeout=60)
        assert res.status == "completed", res.error
        calls = log.read_text().split()
        assert calls.count("first") == 1 and calls.count("second") == 1  # not re-run
        assert calls.count("third") == 1
        assert 1 <= calls.count("slow") <= 2  # at most the state in flight repeats
        assert res.states_visited == ["start", "first", "second", "slow", "third", "end"]
        audit = store.query(
            "SELECT message FROM audit_logs WHERE execution_id = ? AND event_type = 'run_resumed'", [eid]
        )
        assert audit and "will be reused" in audit[0]["message"]
    finally:
        eng.shutdown()
        store.close()


READER = textwrap.dedent("""
    import duckdb, json, sys, time
    path, seconds = sys.argv[1], float(sys.argv[2])
    counts, errors = [], []
    deadline = time.time() + seconds
    con = duckdb.connect(path, read_only=True)   # held open the whole time, like a notebook
    while time.time() < deadline:
        try:
            counts.append(con.execute("SELECT count(*) FROM state_transitions").fetchone()[0])
        except Exception as exc:
            errors.append(repr(exc)[:200])
        time.sleep(0.2)
    print(json.dumps({"counts": counts, "errors": errors}))
""")


def test_a_reader_process_queries_while_a_run_records(tmp_path, ray_cluster, store):
    from engine.executors import ray_executor
    from engine.runner import Engine
    from engine.workflow_file import load_workflow

    log = tmp_path / "calls.log"
    wf = _chain_file(tmp_path, log, slow_s=2.0)
    eng = Engine(store=store, executor=ray_executor())
    try:
        eng.run(load_workflow(ROOT / "data" / "templates" / "seed_request_validation.dsl"), {"is_valid": True})
        store.flush()
        reader = subprocess.Popen(
            [sys.executable, "-c", READER, str(store.path), "6"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.0)
        res = eng.run(load_workflow(wf), {})  # records while the reader holds the file open
        assert res.status == "completed"
        out, err = reader.communicate(timeout=30)
        assert reader.returncode == 0, err
        data = json.loads(out)
        assert not data["errors"], data["errors"]
        assert data["counts"][0] >= 1 and data["counts"][-1] > data["counts"][0], data["counts"]
        assert store.query("SELECT count(*) AS n FROM state_transitions")[0]["n"] == data["counts"][-1]
    finally:
        eng.shutdown()
