"""The run-side CLI in real subprocesses: run --json, exit codes, approve from another process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "data" / "templates"


def _cli(args, db: Path, env_extra=None, timeout=180):
    env = dict(os.environ, WORKBENCH_DB=str(db), PYTHONPATH=str(ROOT))
    env.pop("OPENAI_API_KEY", None)
    env.pop("OPENAI_BASE_URL", None)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize(
    "ctx,last", [({"is_valid": True}, "send_notification"), ({"is_valid": False}, "send_rejection")]
)
def test_seed_example_runs_unbound_from_the_cli(tmp_path, ctx, last):
    p = _cli(
        ["run", str(TEMPLATES / "seed_request_validation.dsl"), "--context", json.dumps(ctx), "--json"],
        tmp_path / "w.duckdb",
    )
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["status"] == "completed"
    assert out["states_visited"][-2] == last
    assert set(out) >= {
        "execution_id",
        "status",
        "states_visited",
        "final_context",
        "duration_ms",
        "error_count",
        "retry_count",
    }
    assert "completed" in p.stderr and "validate_input" in p.stderr  # a progress line per state


def test_failed_run_exits_1_and_bad_context_is_explained(tmp_path):
    db = tmp_path / "w.duckdb"
    p = _cli(["run", str(TEMPLATES / "seed_request_validation.dsl"), "--json"], db)
    assert p.returncode == 1 and json.loads(p.stdout)["status"] == "failed"
    p = _cli(["run", str(TEMPLATES / "seed_request_validation.dsl"), "--context", "{not json"], db)
    assert p.returncode == 1 and "--context is not valid JSON" in p.stderr
    p = _cli(["run", str(tmp_path / "missing.toml")], db)
    assert p.returncode == 1 and "no such file" in p.stderr
    p = _cli(["run"], db)
    assert p.returncode == 2


@pytest.mark.ray
def test_approval_from_another_process_resumes_the_run(tmp_path, ray_cluster):
    db = tmp_path / "w.duckdb"
    env = {"RAY_ADDRESS": ray_cluster.address}
    p = _cli(["run", str(TEMPLATES / "order_processing.toml"), "--context", '{"order_id": 3}', "--json"], db, env)
    assert p.returncode == 1, p.stderr
    out = json.loads(p.stdout)
    assert out["status"] == "waiting"
    assert "workbench approve" in p.stderr and "wait_customer_decision" in p.stderr
    assert "SIGTERM handler" not in p.stderr  # Ray's notice about the engine's own thread is not for users
    eid = out["execution_id"]
    started = next(r for r in json.loads(_cli(["history", "--json"], db).stdout) if r["execution_id"] == eid)
    time.sleep(1.0)
    p = _cli(["approve", eid, "wait_customer_decision", "--yes", "--json"], db, env)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["status"] == "completed"
    # the approving process started its own engine (and connected Ray): the run keeps its recorded start,
    # and its duration spans the wait (was the approving process's drive only, started at the approval)
    done = next(r for r in json.loads(_cli(["history", "--json"], db).stdout) if r["execution_id"] == eid)
    assert done["start_time"] == started["start_time"]
    assert done["duration_ms"] >= 1000
    audit = _cli(["show", eid], db).stdout
    assert audit.count("run_started") == 1 and "run_resumed" in audit
    assert out["states_visited"][-3:] == ["send_confirmation", "notify_fulfillment", "end"]
    assert out["final_context"]["approved"] is True
    p = _cli(["show", eid], db)
    assert p.returncode == 0 and "human_answer" in p.stdout
    p = _cli(["history", "--json"], db)
    rows = json.loads(p.stdout)
    assert [r["status"] for r in rows if r["execution_id"] == eid] == ["completed"]


def test_unreachable_ray_cluster_gives_a_clear_error(tmp_path):
    wf = tmp_path / "wf.toml"
    wf.write_text(
        'name = "needs ray"\ndsl = "start->work; work->end;"\n[states.work]\naction = "python"\n'
        'function = "tests.engine.functions:add"\nexecution = "ray"\n'
    )
    p = _cli(["run", str(wf), "--json"], tmp_path / "w.duckdb", {"RAY_ADDRESS": "127.0.0.1:9"}, timeout=60)
    assert p.returncode == 1
    out = json.loads(p.stdout)
    assert out["status"] == "failed"
    assert "cannot reach the Ray cluster at 127.0.0.1:9" in out["error"]
    assert "RAY_ADDRESS" in out["error"]
