"""Run engine faults: nothing lost, nothing hung (issue 10).

The driver thread and its poller must survive anything a state or a caller's thread does; every
run ends with a final record and a done-signal; bad state results are clear data errors (never a
"lost worker" retried five times); record ids stay unique across a resume; finished runs keep only
a small summary in memory. Real components: a real local Ray (``engine``), real DuckDB/WAL stores,
the real CLI in separate processes.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import pytest

from engine.runner import RunError, RunOptions
from engine.workflow_file import parse_workflow_text

ROOT = Path(__file__).resolve().parents[2]
FN = "tests.faults.runner_functions"


def _spec(
    function: str,
    *,
    execution: str = "inline",
    params: dict | None = None,
    fallback: bool = False,
    name: str = "fault",
    timeout_s: float | None = None,
):
    dsl = "start->a; a->end;" + (" a->oops:@error; oops->end;" if fallback else "")
    text = (
        f'name = "{name}"\ndsl = "{dsl}"\n[states.a]\naction = "python"\nfunction = "{function}"\n'
        f'execution = "{execution}"\n'
    )
    if timeout_s is not None:
        text += f"timeout_s = {timeout_s}\n"
    if params:
        text += "params = {" + ", ".join(f"{k} = {json.dumps(v)}" for k, v in params.items()) + "}\n"
    return parse_workflow_text(text)


def _cli(args, db: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, WORKBENCH_DB=str(db), PYTHONPATH=str(ROOT))
    env.pop("OPENAI_API_KEY", None)
    env.pop("OPENAI_BASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def _failed_attempts(store, execution_id: str, state: str = "a") -> list[dict]:
    return store.query(
        "SELECT error_type, error_message, attempt FROM state_transitions WHERE execution_id = ? "
        "AND from_state = ? AND status = 'failed' ORDER BY attempt",
        [execution_id, state],
    )


def _final_record(store, execution_id: str) -> dict:
    return store.query(
        "SELECT status, error_message, end_time FROM workflow_executions WHERE execution_id = ?", [execution_id]
    )[0]


# --------------------------------------------------------------------- 2. the poller and pruning
@pytest.mark.slow
def test_poller_and_pruning_survive_threads_starting_runs_and_a_cancel_from_the_cli_process_works(
    inline_engine, store, monkeypatch
):
    """Three threads start runs past the retained-runs cap (so pruning happens while they insert)
    while the poller ticks; afterwards `workbench cancel` from another process stops a run driven
    here (the poller must still be alive to pick the request up). The cap is lowered to 1,000 for
    this engine (the pruning is the point, not its size: 10,500 runs took ~40 s here); 1,000 also
    equals the finished-summaries bound, so both the cap's pruning in ``_register`` and the
    summaries' pruning in ``_retire`` run while the threads insert."""
    cap = 1_000
    monkeypatch.setattr("engine.run.driver.MAX_RETAINED_RUNS", cap)
    monkeypatch.setattr(inline_engine, "max_finished_summaries", cap)
    per_thread = (cap + cap // 20) // 3  # 5 % past the cap
    spec = _spec("tests.engine.functions:add", params={"amount": 1})
    errors: list[BaseException] = []
    ids: list[str] = []
    lock = threading.Lock()

    def starter(n: int) -> None:
        for _ in range(n):
            try:
                eid = inline_engine.start(spec, {})
            except BaseException as exc:
                errors.append(exc)
                continue
            with lock:
                ids.append(eid)

    threads = [threading.Thread(target=starter, args=(per_thread,)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    for eid in ids[-200:]:  # runs started last still finish
        assert inline_engine.wait(eid, 120).status == "completed"

    slow = inline_engine.start(_spec(f"{FN}:sleep_for", params={"seconds": 30}), {})
    deadline = time.time() + 30
    while (inline_engine.execution_row(slow) or {}).get("status") != "running" and time.time() < deadline:
        time.sleep(0.1)
    store.flush()
    p = _cli(["cancel", slow], store.path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "cancel requested"
    res = inline_engine.wait(slow, 30)  # before the fix: TimeoutError (the poller was dead)
    assert res.status == "cancelled" and res.error == "cancelled by request"
    assert inline_engine._thread.is_alive()
    # an answer given in another process reaches a run waiting here the same way
    asking = parse_workflow_text(
        'name = "ask"\ndsl = "start->ask; ask->end;"\n[states.ask]\naction = "approval"\nmessage = "go on?"\n'
    )
    waiting = inline_engine.start(asking, {})
    deadline = time.time() + 30
    while not store.query("SELECT 1 FROM human_requests WHERE execution_id = ? AND status = 'open'", [waiting]):
        assert time.time() < deadline, "the approval request was never recorded"
        time.sleep(0.1)
    store.flush()
    p = _cli(["approve", waiting, "ask", "--yes"], store.path)
    assert p.returncode == 0 and "pick it up" in p.stdout, p.stdout + p.stderr
    res = inline_engine.wait(waiting, 30)
    assert res.status == "completed" and res.final_context["approved"] is True
    # before the fix: RuntimeError('dictionary changed size during iteration') from the pruning
    assert not errors, f"engine.start raised while other threads started runs: {errors[:3]}"
    assert len(ids) == 3 * per_thread > cap
    assert len(inline_engine.execs) <= cap  # finished runs past the cap were forgotten (pruned)


def test_cli_cancel_of_a_run_driven_by_another_process_is_quiet_and_takes_effect(inline_engine, store):
    """`workbench cancel` used to end with nanobind's leak report (DuckDB objects still alive when
    the interpreter finalised): the CLI process must close everything it opened."""
    eid = inline_engine.start(_spec(f"{FN}:sleep_for", params={"seconds": 30}), {})
    deadline = time.time() + 30
    while (inline_engine.execution_row(eid) or {}).get("status") != "running" and time.time() < deadline:
        time.sleep(0.1)
    store.flush()
    p = _cli(["cancel", eid], store.path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "cancel requested"
    assert "nanobind" not in p.stderr + p.stdout and "leaked" not in p.stderr
    assert inline_engine.wait(eid, 30).status == "cancelled"


# --------------------------------------------------------------------- 3. a state cannot freeze the process
@pytest.mark.parametrize(
    "function,raised", [(f"{FN}:system_exit", "SystemExit"), (f"{FN}:keyboard_interrupt", "KeyboardInterrupt")]
)
def test_inline_state_raising_system_exit_fails_the_state_and_the_driver_lives_on(
    inline_engine, store, function, raised
):
    eid = inline_engine.start(_spec(function), {}, RunOptions(auto_recovery=False))
    res = inline_engine.wait(eid, 30)  # before the fix: the driver thread died and this timed out
    assert res.status == "failed"
    assert f"StateExited: '{function}' raised {raised}" in res.error
    assert inline_engine._thread.is_alive()
    assert _final_record(store, eid)["status"] == "failed"
    assert [r["error_type"] for r in _failed_attempts(store, eid)] == ["StateExited"]
    nxt = inline_engine.run(_spec("tests.engine.functions:add"), {"total": 1})  # the process still runs runs
    assert nxt.status == "completed" and nxt.final_context["total"] == 2


@pytest.mark.ray
def test_system_exit_on_ray_is_one_failed_attempt_not_a_lost_worker(engine, store):
    res = engine.wait(engine.start(_spec(f"{FN}:system_exit", execution="ray", fallback=True), {}), 300)
    assert res.status == "completed" and res.states_visited[-2] == "oops"  # took the @error path
    attempts = _failed_attempts(store, res.execution_id)
    # before the fix: Ray took sys.exit as "exit this worker": WorkerLost, retried 5 times as a crash
    assert {r["error_type"] for r in attempts} == {"StateExited"} and len(attempts) <= 2, attempts
    assert "raised SystemExit" in attempts[0]["error_message"]
    rec = store.query("SELECT DISTINCT error_class FROM recovery_actions WHERE execution_id = ?", [res.execution_id])
    assert "resource" not in {r["error_class"] for r in rec}


@pytest.mark.parametrize("execution", ["inline", pytest.param("ray", marks=pytest.mark.ray)])
def test_cyclic_result_is_a_clear_state_failure_and_the_run_ends(request, store, execution):
    eng = request.getfixturevalue("engine" if execution == "ray" else "inline_engine")
    eid = eng.start(_spec(f"{FN}:cyclic", execution=execution), {}, RunOptions(auto_recovery=False))
    res = eng.wait(eid, 60)  # before the fix: never signalled (the CLI hung, the record stayed 'running')
    assert res.status == "failed"
    assert "DataError" in res.error and "refers to itself at ['graph']['self']" in res.error
    row = _final_record(store, eid)
    assert row["status"] == "failed" and row["end_time"] is not None


@pytest.mark.ray
@pytest.mark.parametrize(
    "function,message",
    [
        ("tuple_key", "dict key (1, 2) of type tuple at ['table']"),
        ("int_key", "dict key 1 of type int at ['counts']"),
        ("deep", "nested more than 200 levels deep"),
    ],
)
def test_unstorable_result_on_ray_is_a_data_error_not_retried_as_a_crash(engine, store, function, message):
    res = engine.wait(engine.start(_spec(f"{FN}:{function}", execution="ray", fallback=True), {}), 300)
    assert res.status == "completed" and res.states_visited[-2] == "oops"
    attempts = _failed_attempts(store, res.execution_id)
    assert [r["error_type"] for r in attempts] == ["DataError"], attempts  # one attempt: retrying cannot help
    assert message in attempts[0]["error_message"]
    rec = store.query("SELECT error_class FROM recovery_actions WHERE execution_id = ?", [res.execution_id])
    assert [r["error_class"] for r in rec] == ["data"]


def test_inline_states_stuck_past_their_timeout_do_not_stall_later_inline_states(inline_engine):
    """A thread running a timed-out state cannot be killed; ten of them used to hold every thread of
    the inline pool, so every later inline state of the process waited for them."""
    stuck = _spec(f"{FN}:sleep_for", params={"seconds": 15}, timeout_s=0.3)
    ids = [inline_engine.start(stuck, {}, RunOptions(auto_recovery=False)) for _ in range(10)]
    for eid in ids:
        res = inline_engine.wait(eid, 60)
        assert res.status == "failed" and "TaskTimeout" in res.error
    t0 = time.monotonic()
    eid = inline_engine.start(_spec("tests.engine.functions:add"), {"total": 41})
    res = inline_engine.wait(eid, 10)  # before the fix: queued behind the stuck threads (~15 s)
    assert res.status == "completed" and res.final_context["total"] == 42
    assert time.monotonic() - t0 < 10


def test_cli_run_whose_inline_state_outlives_the_run_timeout_exits(tmp_path):
    """The run fails at its --timeout; the abandoned state's thread must not keep the process alive
    (it used to wait at interpreter exit for the state's code to return)."""
    wf = tmp_path / "stuck.toml"
    wf.write_text(
        f'name = "stuck"\ndsl = "start->a; a->end;"\n[states.a]\naction = "python"\n'
        f'function = "{FN}:sleep_for"\nparams = {{ seconds = 300 }}\nexecution = "inline"\n'
    )
    t0 = time.monotonic()
    p = _cli(["run", str(wf), "--timeout", "2", "--json", "--no-recovery"], tmp_path / "w.duckdb", timeout=120)
    assert p.returncode == 1, p.stderr
    out = json.loads(p.stdout)
    assert out["status"] == "failed" and "timed out after 2 s" in out["error"]
    assert time.monotonic() - t0 < 100  # before the fix: ~300 s (subprocess timeout)


def test_a_run_whose_records_cannot_be_written_still_ends(inline_engine, store):
    """Even the drive's own first record failing (here: the store is closed) ends the run."""
    spec = _spec("tests.engine.functions:add")
    store.close()
    eid = inline_engine.start(spec, {})
    res = inline_engine.wait(eid, 30)  # before the fix: the exception escaped _drive; nobody was told
    assert res.status == "failed" and "closed" in res.error
    assert inline_engine._thread.is_alive()


def test_a_listener_raising_system_exit_neither_hangs_the_run_nor_kills_the_driver(inline_engine, store):
    def listener(event: dict) -> None:
        raise SystemExit(f"listener quits at {event['status']}")

    eid = inline_engine.start(_spec("tests.engine.functions:add"), {"total": 1}, on_step=listener)
    res = inline_engine.wait(eid, 30)  # before the fix: the end was never signalled, the loop thread died
    assert res.status == "completed" and res.final_context["total"] == 2
    assert _final_record(store, eid)["status"] == "completed"
    assert inline_engine._thread.is_alive()
    assert inline_engine.run(_spec("tests.engine.functions:add"), {}).status == "completed"


def test_the_driver_loop_survives_a_base_exception_escaping_a_callback(inline_engine):
    """Last line of defence: asyncio re-raises SystemExit/KeyboardInterrupt out of run_forever."""

    def boom() -> None:
        raise KeyboardInterrupt("escaped a callback on the driver loop")

    inline_engine._loop.call_soon_threadsafe(boom)
    time.sleep(0.5)
    assert inline_engine._thread.is_alive()  # before the fix: the driver thread had ended
    eid = inline_engine.start(_spec("tests.engine.functions:add"), {})
    assert inline_engine.wait(eid, 30).status == "completed"


def test_unstorable_initial_context_is_refused_at_start(inline_engine):
    ctx: dict = {"a": {}}
    ctx["a"]["again"] = ctx
    with pytest.raises(RunError, match="the initial context refers to itself"):
        inline_engine.start(_spec("tests.engine.functions:add"), ctx)
    with pytest.raises(RunError, match="dict key 3 of type int"):
        inline_engine.start(_spec("tests.engine.functions:add"), {"m": {3: "x"}})


# --------------------------------------------------------------------- 8. record ids across a resume
def test_transition_ids_stay_unique_when_another_process_resumes_the_run(tmp_path):
    """Run until an approval (CLI process 1 detaches), approve from CLI process 2 (which resumes the
    run): every state_transitions id is recorded once."""
    wf = tmp_path / "approve.toml"
    wf.write_text(
        'name = "approve then work"\n'
        'dsl = "start->a; a->ask; ask->b:approved==True; ask->end; b->c; c->end;"\n'
        '[states.a]\naction = "python"\nfunction = "tests.engine.functions:add"\nexecution = "inline"\n'
        '[states.ask]\naction = "approval"\nmessage = "go on?"\n'
        '[states.b]\naction = "python"\nfunction = "tests.engine.functions:add"\nexecution = "inline"\n'
        '[states.c]\naction = "python"\nfunction = "tests.engine.functions:add"\nexecution = "inline"\n'
    )
    db = tmp_path / "w.duckdb"
    p = _cli(["run", str(wf), "--json"], db)
    out = json.loads(p.stdout)
    assert out["status"] == "waiting", p.stderr
    eid = out["execution_id"]
    p = _cli(["approve", eid, "ask", "--yes", "--json"], db)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["status"] == "completed"
    from engine.store import Store

    with Store(db) as st:
        rows = st.query("SELECT id, from_state, status FROM state_transitions WHERE execution_id = ?", [eid])
        seqs = [
            r["seq"]
            for r in st.query(
                "SELECT seq FROM workflow_executions_history WHERE execution_id = ? ORDER BY updated_at", [eid]
            )
        ]
    ids = [r["id"] for r in rows]
    assert {r["from_state"] for r in rows} >= {"a", "b", "c"}
    assert len(ids) == len(set(ids)), f"repeated ids: {sorted(i for i in ids if ids.count(i) > 1)}"
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))  # the newest row is also the highest seq


# --------------------------------------------------------------------- 9. memory of finished runs
def test_finished_runs_keep_a_small_summary_and_wait_still_returns_the_full_result(inline_engine, store):
    spec = _spec(f"{FN}:big_context", params={"size": 200_000})

    def runs(n: int, first: int) -> list[str]:
        out = []
        for i in range(first, first + n):
            res = inline_engine.run(spec, {"n": i})
            assert res.status == "completed" and len(res.final_context["blob"]) == 200_000
            out.append(res.execution_id)
        return out

    tracemalloc.start()  # before any run: blocks freed later are then counted too
    try:
        early = runs(60, 0)  # fills the engine's small cache of recent results
        store.flush()
        gc.collect()
        before = tracemalloc.take_snapshot()
        runs(100, 60)
        store.flush()
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    growth = sum(s.size_diff for s in after.compare_to(before, "filename"))
    per_run = growth / 100
    # before the fix each finished run kept its ~200 KB final context (and its spec) in memory
    assert per_run < 20_000, f"{per_run:.0f} bytes retained per finished run"
    old = inline_engine.wait(early[0])  # long retired: read back from the store
    assert old.final_context["n"] == 0 and len(old.final_context["blob"]) == 200_000
    assert old.states_visited == ["start", "a", "end"]


def test_waiting_for_many_runs_started_together_reads_no_store_while_their_results_fit(
    inline_engine, store, monkeypatch
):
    """200 runs started at once, then awaited one by one (the benchmark's W3, an API client's batch):
    each result comes from memory. Each store read costs ~7 ms: reading back all but the last 64
    (the old cache) made W3 with `auto` 1.5 s instead of 0.8 s. A result past the byte budget is
    still read back from the store."""
    from engine.run import driver

    reads: list[str] = []
    real = driver.records.execution

    def counted(store_, execution_id):
        reads.append(execution_id)
        return real(store_, execution_id)

    monkeypatch.setattr(driver.records, "execution", counted)

    def all_finished(ids: list[str]) -> None:
        deadline = time.monotonic() + 60
        while set(ids) & set(inline_engine.live_executions()) and time.monotonic() < deadline:
            time.sleep(0.02)

    small = _spec(f"{FN}:big_context", params={"size": 100})
    ids = [inline_engine.start(small, {"n": i}) for i in range(200)]
    all_finished(ids)  # each is retired to a summary before anyone waits
    results = [inline_engine.wait(i, 60) for i in ids]
    assert [r.final_context["n"] for r in results] == list(range(200))
    assert all(r.states_visited == ["start", "a", "end"] for r in results)
    assert reads == []

    monkeypatch.setattr(driver, "RECENT_RESULTS_BYTES", 40_000)  # ~10 results of 2 KB … then the oldest go
    big = _spec(f"{FN}:big_context", params={"size": 2_000})
    ids = [inline_engine.start(big, {"n": i}) for i in range(30)]
    all_finished(ids)
    results = [inline_engine.wait(i, 60) for i in ids]
    assert [r.final_context["n"] for r in results] == list(range(30))
    assert len(results[0].final_context["blob"]) == 2_000 and results[0].states_visited == ["start", "a", "end"]
    assert ids[0] in reads and ids[-1] not in reads  # the oldest from the store, the newest from memory


def test_finished_summaries_are_bounded_and_older_runs_are_read_back_from_the_store(inline_engine, store, monkeypatch):
    """Driver memory is flat after warm-up: past MAX_FINISHED_SUMMARIES, the oldest finished runs leave
    ``Engine.execs`` (their records stay in the store) and ``wait`` still answers for them."""
    from engine import runner

    monkeypatch.setattr(inline_engine, "max_finished_summaries", 20)  # per engine (engine.run.driver)
    spec = _spec(f"{FN}:big_context", params={"size": 1_000})
    ids = [inline_engine.run(spec, {"n": i}).execution_id for i in range(50)]
    finished = [k for k, e in inline_engine.execs.items() if isinstance(e, runner._FinishedRun)]
    assert len(finished) <= 20, f"{len(finished)} finished summaries kept"
    assert ids[0] not in inline_engine.execs and ids[-1] in inline_engine.execs
    store.flush()
    old = inline_engine.wait(ids[0])
    assert old.status == "completed" and old.final_context["n"] == 0
    assert old.states_visited == ["start", "a", "end"]
    with pytest.raises(runner.RunError):
        inline_engine.wait("no-such-run")
