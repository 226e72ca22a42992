"""Per-step logs: what a state's code prints is captured per attempt, recorded with the step, and
readable through engine.records.step_logs and ``workbench logs``."""

from __future__ import annotations

import json
import os

import pytest

from engine import records
from engine.workflow_file import parse_workflow_text

FN = "tests.run.step_functions"


def _spec(function: str, *, execution: str = "inline", params: dict | None = None, name: str = "logs", dsl=None):
    text = (
        f'name = "{name}"\ndsl = "{dsl or "start->a; a->end;"}"\n[states.a]\naction = "python"\n'
        f'function = "{FN}:{function}"\nexecution = "{execution}"\n'
    )
    if params:
        text += "params = {" + ", ".join(f"{k} = {json.dumps(v)}" for k, v in params.items()) + "}\n"
    return parse_workflow_text(text)


@pytest.mark.ray
def test_what_a_function_prints_on_a_ray_worker_is_recorded_with_its_step(engine, store):
    res = engine.run(_spec("chatty", execution="ray", params={"word": "ray", "lines": 3}), {})
    assert res.status == "completed", res.error
    store.flush()
    [entry] = records.step_logs(store, res.execution_id)
    assert (entry["state"], entry["attempt"], entry["status"], entry["executed_on"]) == ("a", 1, "completed", "ray")
    assert entry["text"].splitlines() == ["ray line 0", "ray line 1", "ray line 2", "ray warns on stderr"]
    assert records.step_logs(store, res.execution_id, state="start") == []


def test_inline_states_keep_their_own_output_and_secrets_never_reach_it(inline_engine, store, monkeypatch):
    """Two branches print at the same time on two threads of the driver process: each step's log has
    only its own lines; a secret the function prints is redacted before it is recorded."""
    monkeypatch.setenv("WORKBENCH_SECRET_LOG_TOKEN", "s3cr3t-value-123")
    text = (
        'name = "branches"\ndsl = "start->[a,b]; [a,b]->end;"\n'
        f'[states.a]\naction = "python"\nfunction = "{FN}:chatty"\nexecution = "inline"\n'
        'params = { word = "alpha", lines = 20, pause = 0.005, token = "{secret:LOG_TOKEN}" }\n'
        f'[states.b]\naction = "python"\nfunction = "{FN}:chatty"\nexecution = "inline"\n'
        'params = { word = "beta", lines = 20, pause = 0.005 }\n'
    )
    res = inline_engine.run(parse_workflow_text(text), {})
    assert res.status == "completed", res.error
    store.flush()
    logs = {e["state"]: e["text"] for e in records.step_logs(store, res.execution_id)}
    assert set(logs) == {"a", "b"}
    assert logs["a"].count("alpha line") == 20 and "beta" not in logs["a"]
    assert logs["b"].count("beta line") == 20 and "alpha" not in logs["b"]
    assert "s3cr3t-value-123" not in logs["a"] and "the token is [redacted:LOG_TOKEN]" in logs["a"]
    dumped = json.dumps(store.query("SELECT * FROM step_logs"), default=str)
    assert "s3cr3t-value-123" not in dumped


def test_output_is_bounded_to_its_end_per_attempt(inline_engine, store):
    res = inline_engine.run(_spec("flood", params={"size": 300_000}), {})
    assert res.status == "completed", res.error
    store.flush()
    [entry] = records.step_logs(store, res.execution_id)
    first, rest = entry["text"].split("\n", 1)
    assert first.startswith("[… ") and "earlier characters not kept" in first
    assert len(rest) <= 64 * 1024 and rest.endswith("THE LAST LINE\n")


def test_each_failed_attempt_keeps_what_it_printed(inline_engine, store, tmp_path):
    spec = _spec("fail_after_printing", params={"marker_dir": str(tmp_path / "m"), "fail_times": 2})
    res = inline_engine.run(spec, {})
    assert res.status == "completed" and res.retry_count == 2, res.error
    store.flush()
    entries = records.step_logs(store, res.execution_id, state="a")
    assert [(e["attempt"], e["status"]) for e in entries] == [(1, "failed"), (2, "failed"), (3, "completed")]
    assert [e["text"] for e in entries] == [f"attempt {n} starting\n" for n in (1, 2, 3)]


def test_a_state_that_prints_nothing_records_no_log(inline_engine, store):
    res = inline_engine.run(
        parse_workflow_text(
            'name = "quiet"\ndsl = "start->a; a->end;"\n[states.a]\naction = "python"\n'
            'function = "tests.engine.functions:add"\nexecution = "inline"\n'
        ),
        {},
    )
    assert res.status == "completed"
    store.flush()
    assert records.step_logs(store, res.execution_id) == []


def test_workbench_logs_prints_a_runs_output(inline_engine, store, capsys, monkeypatch):
    from engine.cli import main

    monkeypatch.setenv("WORKBENCH_SERVER", "local")  # this process's store, never a service found by chance

    res = inline_engine.run(_spec("chatty", params={"word": "cli"}), {})
    store.flush()
    capsys.readouterr()
    assert main(["logs", res.execution_id, "--state", "a"]) == 0
    out = capsys.readouterr().out
    assert "── a · attempt 1 · completed on inline" in out and "cli line 0\ncli warns on stderr\n" in out
    assert main(["logs", res.execution_id, "--json"]) == 0
    [entry] = json.loads(capsys.readouterr().out)
    assert entry["state"] == "a" and entry["text"].startswith("cli line 0")
    assert main(["logs", res.execution_id, "--state", "start"]) == 0
    assert "no output was recorded by state 'start'" in capsys.readouterr().err
    assert main(["logs", "no-such-run"]) == 1


def test_logs_through_the_service_that_holds_the_store(tmp_path):
    """Under ``make run`` the service holds the store: ``workbench logs`` (another process) asks it
    (GET /executions/{id}/logs), and so can any API client."""
    import subprocess
    import sys
    import time

    from engine.client import WorkbenchClient
    from tests.service.conftest import REPO, start_server, stop_server

    server = start_server(tmp_path, args=["--no-ray"], ready_path="/health")
    try:
        toml = (
            'name = "served logs"\ndsl = "start->a; a->end;"\n[states.a]\naction = "python"\n'
            f'function = "{FN}:chatty"\nexecution = "inline"\nparams = {{ word = "served" }}\n'
        )
        with WorkbenchClient(server.url, timeout=60) as c:
            eid = c.run_definition(toml=toml, execution="inline")["execution_id"]
            deadline = time.monotonic() + 60
            while c.execution(eid)["status"] != "completed" and time.monotonic() < deadline:
                time.sleep(0.2)
            assert c.execution(eid)["status"] == "completed"
            [entry] = c.logs(eid, state="a")
            assert entry["text"] == "served line 0\nserved warns on stderr\n"
            assert c.logs(eid, state="start") == []
        env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_DB"}
        env.update(WORKBENCH_SERVER=server.url, PYTHONPATH=str(REPO))
        p = subprocess.run(
            [sys.executable, "-m", "engine.cli", "logs", eid, "--state", "a"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert p.returncode == 0, p.stderr
        assert "served line 0\nserved warns on stderr\n" in p.stdout
        p = subprocess.run(
            [sys.executable, "-m", "engine.cli", "logs", "no-such-run"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert p.returncode == 1 and "no-such-run" in p.stderr
    finally:
        stop_server(server)


def test_capture_passes_output_on_and_only_takes_the_running_threads(capsys):
    """The state's output still reaches the process's stream; another thread printing meanwhile is not
    in the state's log; a stream replaced since (as pytest does) gets a router again."""
    import sys
    import threading

    from engine.step_logs import run_captured

    started, go_on = threading.Event(), threading.Event()

    def other():
        started.wait(10)
        print("from another thread")
        go_on.set()

    t = threading.Thread(target=other)
    t.start()

    def state(payload):
        print("from the state")
        started.set()
        go_on.wait(10)
        sys.stderr.write("to stderr\n")
        sys.stdout.write("no newline at the end")
        return {"status": "completed"}

    out = run_captured(state, {})
    t.join(10)
    assert out["logs"] == "from the state\nto stderr\nno newline at the end"
    seen = capsys.readouterr()
    assert "from the state" in seen.out and "from another thread" in seen.out and "to stderr" in seen.err
    assert run_captured(lambda p: {"status": "completed"}, {}) == {"status": "completed"}  # nothing printed: no key


def test_a_nested_capture_adds_to_the_outer_attempt():
    from engine.step_logs import run_captured

    def inner(payload):
        print("inner")
        return {"status": "completed"}

    def outer(payload):
        print("outer")
        res = run_captured(inner, payload)
        assert "logs" not in res
        return {"status": "completed"}

    assert run_captured(outer, {})["logs"] == "outer\ninner\n"


def test_branch_end_states_before_a_join_keep_their_logs(inline_engine, store):
    """The states that end parallel branches (recorded where the branch stops, before the join) keep
    what they printed, like the state after the join."""
    text = 'name = "joined"\ndsl = "start->[a,b]; [a,b]->c; c->end;"\n' + "".join(
        f'[states.{s}]\naction = "python"\nfunction = "{FN}:chatty"\nexecution = "inline"\n'
        f'params = {{ word = "{s}-word" }}\n'
        for s in "abc"
    )
    res = inline_engine.run(parse_workflow_text(text), {})
    assert res.status == "completed", res.error
    store.flush()
    logs = {e["state"]: e["text"] for e in records.step_logs(store, res.execution_id)}
    assert set(logs) == {"a", "b", "c"}
    for s in "abc":
        assert logs[s].splitlines() == [f"{s}-word line 0", f"{s}-word warns on stderr"]
