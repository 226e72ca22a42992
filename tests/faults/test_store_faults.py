"""Store faults with real processes: rows acknowledged right before a normal exit, many processes
opening a fresh store at the same moment, `workbench translate` run back to back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.store import Store
from tests.fixtures.llm_server import Reply

ROOT = Path(__file__).resolve().parents[2]


def spawn(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.store.proc", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def exit_test_rows(db: Path) -> tuple[int, int]:
    s = Store(db)
    try:
        r = s.query("SELECT count(*) AS n, count(DISTINCT id) AS d FROM audit_logs WHERE event_type = 'exit-test'")[0]
        return r["n"], r["d"]
    finally:
        s.close()


# (rows appended in one call, seconds between the append and the exit). 5,000 rows wake the flusher
# at once, so its first segment is written while the interpreter shuts down; one row with a delay
# around the 0.25 s flush interval does the same by timing.
WORKLOAD = [(5000, 0.0), (5000, 0.02), (1, 0.0), (1, 0.2), (1, 0.24), (1, 0.26), (1, 0.3)]


@pytest.mark.parametrize("how, code", [("return", 0), ("sys_exit", 0), ("exception", 1)])
def test_rows_acknowledged_before_a_normal_exit_are_kept(tmp_path, how, code):
    db = tmp_path / "workbench.duckdb"
    Store(db).close()  # an existing store (opening a fresh one happens to load pandas, hiding the fault)
    procs = [
        spawn("append_exit", str(db), f"{how}{i}", str(n), str(delay), how) for i, (n, delay) in enumerate(WORKLOAD)
    ]
    acked = 0
    for p, (n, _) in zip(procs, WORKLOAD):
        out, err = p.communicate(timeout=120)
        assert p.returncode == code, err[-3000:]
        assert out.splitlines()[0] == "ack", err[-3000:]
        acked += n
    assert exit_test_rows(db) == (acked, acked)
    assert not (db.parent / "workbench_log" / "quarantine").exists()


@pytest.mark.parametrize("how, code", [("return", 0), ("sys_exit", 0), ("exception", 1)])
def test_rows_flushed_by_the_background_thread_during_shutdown_are_kept(tmp_path, how, code):
    """Deterministic form of the test above: the rows are appended from an exit hook and the
    background flusher converts them while the interpreter shuts down (where e.g. a first import
    that registers an exit hook is refused)."""
    db = tmp_path / "workbench.duckdb"
    Store(db).close()  # an existing store (opening a fresh one happens to load pandas, hiding the fault)
    workload = [(10, 0.0), (5000, 0.1)]
    procs = [
        spawn("append_exit", str(db), f"{how}{i}", str(n), str(delay), how, "--in-atexit")
        for i, (n, delay) in enumerate(workload)
    ]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == code, err[-3000:]
        assert out.splitlines()[0] == "ack", err[-3000:]
    total = sum(n for n, _ in workload)
    assert exit_test_rows(db) == (total, total)


def test_many_processes_open_a_fresh_store_at_once(tmp_path):
    """Ten processes import the store, say so, and open the same fresh store on one signal (all of
    them really at once: the signal waits for every one, where a fixed pause did not under load)."""
    n = 10
    db = tmp_path / "workbench.duckdb"
    go = tmp_path / "go"
    procs = [spawn("append_exit", str(db), f"p{i}", "20", "0", "close", str(go)) for i in range(n)]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("go.ready-*"))) < n:
        assert time.monotonic() < deadline, f"only {len(list(tmp_path.glob('go.ready-*')))} of {n} processes started"
        assert all(p.poll() is None for p in procs), [p.communicate()[1][-1500:] for p in procs if p.poll()]
        time.sleep(0.02)
    go.touch()  # every process has imported the store and opens it now
    failures = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        if p.returncode != 0:
            failures.append(err[-1500:])
    assert failures == [], f"{len(failures)} of {n} failed; first: {failures[:1]}"
    assert exit_test_rows(db) == (20 * n, 20 * n)
    assert not (db.parent / "workbench_log" / "quarantine").exists(), "a half-written segment was published"
    leftovers = [
        name
        for d in (db.parent / "workbench_log").iterdir()
        if d.is_dir()
        for name in os.listdir(d)
        if name.endswith((".tmp", ".opening"))
    ]
    assert leftovers == []


def test_workbench_translate_run_k_times_records_k_llm_calls(tmp_path, llm_server):
    k = 4  # back to back: each process opens the store the last one left (8 took ~20 s of imports)
    llm_server.responder = lambda req: Reply(
        json.dumps(
            {
                "dsl": "start->receive_order;\nreceive_order->ship_order;\nship_order->end;\n",
                "explanation": "Receives an order and ships it.",
                "suggestions": [],
            }
        )
    )
    db = tmp_path / "workbench.duckdb"
    env = {
        **os.environ,
        "WORKBENCH_DB": str(db),
        "OPENAI_BASE_URL": llm_server.url,
        "OPENAI_API_KEY": "sk-test-0123456789",
        "WORKBENCH_LLM_MAX_RETRIES": "0",
        "WORKBENCH_LLM_TIMEOUT": "10",
        "WORKBENCH_LLM_MODEL": "test-model",
    }
    env.pop("WORKBENCH_AI_OFFLINE", None)
    for i in range(k):
        p = subprocess.run(
            [sys.executable, "-m", "engine.cli", "translate", f"Receive order {i}, then ship it."],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert p.returncode == 0, p.stderr[-3000:]
        assert "receive_order" in p.stdout
    assert len(llm_server.chat_requests) == k
    s = Store(db)
    try:
        rows = s.query("SELECT operation, success, count(*) AS n FROM llm_calls GROUP BY ALL")
    finally:
        s.close()
    assert rows == [{"operation": "translate", "success": True, "n": k}]


def test_a_forked_child_does_not_keep_a_killed_parents_rows_locked(tmp_path):
    """The child of a fork inherits the WAL's lock; it must not keep it, or the rows of a parent
    killed with SIGKILL could not be converted until the child exits."""
    db = tmp_path / "workbench.duckdb"
    Store(db).close()
    p = spawn("fork_then_die", str(db))
    line = p.stdout.readline()  # not communicate(): the child keeps the pipes open
    assert line.startswith("child "), p.stderr.readline()
    child = int(line.split()[1])
    try:
        assert p.wait(timeout=60) == -9
        os.kill(child, 0)  # the child is still alive
        s = Store(db)
        try:
            n = s.query("SELECT count(*) AS n FROM audit_logs WHERE event_type = 'fork-test'")[0]["n"]
        finally:
            s.close()
        assert n == 5
    finally:
        os.kill(child, 9)
        p.stdout.close()
        p.stderr.close()
