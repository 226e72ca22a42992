"""Sub-workflows on a real local Ray: nesting depth, recursion, child ids, settings."""

from __future__ import annotations

import concurrent.futures
import time

import pytest

from engine.runner import RunOptions
from engine.workflow_file import WorkflowSettings, load_workflow, parse_workflow_text

pytestmark = pytest.mark.ray

GUARD_S = 90  # a regression (a run that never ends) fails here instead of hanging the suite


def _self_calling(path, settings: str = "") -> None:
    path.write_text(f'''
name = "recurse"
dsl = "start->again; again->end;"
[states.again]
action = "workflow"
workflow = "{path.name}"
{settings}''')


def _countdown(path, settings: str = "") -> None:
    """Calls itself while n > 0, decrementing n on a Ray worker: recursion that ends on its own."""
    path.write_text(f'''
name = "countdown"
dsl = "start->check; check->down:n>0; check->end; down->again; again->end;"
[states.down]
action = "python"
function = "tests.engine.functions:add"
params = {{ amount = -1, key = "n" }}
execution = "ray"
[states.again]
action = "workflow"
workflow = "{path.name}"
{settings}''')


def _descendants(store, root_id: str) -> list[dict]:
    """Every execution below root_id, breadth first."""
    out, frontier = [], [root_id]
    while frontier:
        rows = store.query(
            "SELECT execution_id, status, error_message, parent_execution_id FROM workflow_executions "
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


def test_self_calling_workflow_stops_at_the_default_depth_with_the_chain(engine, tmp_path):
    wf = tmp_path / "recurse.toml"
    _self_calling(wf)
    t0 = time.perf_counter()
    res = _wait(engine, engine.start(load_workflow(wf), {}))
    wall = time.perf_counter() - t0
    assert res.status == "failed"
    assert "depth limit of 10" in res.error and "max_subworkflow_depth" in res.error
    assert "recurse → recurse → recurse" in res.error and "calls itself" in res.error
    kids = _descendants(engine.store, res.execution_id)
    assert len(kids) == 10  # levels 1..10 ran; level 11 was refused
    assert len({k["execution_id"] for k in kids} | {res.execution_id}) == 11  # every id distinct
    assert all(k["status"] == "failed" and "depth limit" in k["error_message"] for k in kids)
    # the limit is not a transient failure: nothing was retried or escalated to a person
    assert engine.store.query("SELECT count(*) AS n FROM recovery_actions")[0]["n"] == 0
    assert engine.store.query("SELECT count(*) AS n FROM human_requests")[0]["n"] == 0
    assert wall < 30, f"took {wall:.1f}s"


def test_depth_limit_comes_from_settings_or_run_options(engine, tmp_path):
    wf = tmp_path / "recurse.toml"
    _self_calling(wf, "[settings]\nmax_subworkflow_depth = 3\n")
    res = _wait(engine, engine.start(load_workflow(wf), {}))
    assert res.status == "failed" and "depth limit of 3" in res.error
    assert len(_descendants(engine.store, res.execution_id)) == 3
    res = _wait(engine, engine.start(load_workflow(wf), {}, RunOptions(max_subworkflow_depth=2)))
    assert res.status == "failed" and "depth limit of 2" in res.error
    assert len(_descendants(engine.store, res.execution_id)) == 2
    assert WorkflowSettings().max_subworkflow_depth == 10


def test_mutual_recursion_names_both_workflows(engine, tmp_path):
    (tmp_path / "ping.toml").write_text(
        'name = "ping"\ndsl = "start->call; call->end;"\n'
        '[states.call]\naction = "workflow"\nworkflow = "pong.toml"\n'
        "[settings]\nmax_subworkflow_depth = 4\n"
    )
    (tmp_path / "pong.toml").write_text(
        'name = "pong"\ndsl = "start->call; call->end;"\n[states.call]\naction = "workflow"\nworkflow = "ping.toml"\n'
    )
    res = _wait(engine, engine.start(load_workflow(tmp_path / "ping.toml"), {}))
    assert res.status == "failed"
    assert "ping → pong → ping → pong → ping → pong" in res.error
    assert "'ping' calls itself through pong" in res.error


def test_recursion_that_ends_runs_deeper_than_the_old_id_cut(engine, tmp_path):
    """15 nested levels: child ids once collided after ~7 levels (cut to 60 characters) and the run hung."""
    wf = tmp_path / "countdown.toml"
    _countdown(wf, "[settings]\nmax_subworkflow_depth = 20\n")
    res = _wait(engine, engine.start(load_workflow(wf), {"n": 15}))
    assert res.status == "completed", res.error
    assert res.final_context["n"] == 0
    kids = _descendants(engine.store, res.execution_id)
    ids = [k["execution_id"] for k in kids]
    assert len(ids) == 15 and len(set(ids) | {res.execution_id}) == 16
    assert all(k["status"] == "completed" for k in kids)
    assert max(len(i) for i in ids) <= 64


def test_same_state_in_two_branches_gets_two_child_runs(engine, tmp_path):
    child = tmp_path / "child.toml"
    child.write_text(
        'name = "child"\ndsl = "start->bump; bump->end;"\n[states.bump]\naction = "python"\n'
        'function = "tests.engine.functions:add"\nparams = { amount = 5 }\n'
    )
    parent = parse_workflow_text(f'''
name = "two calls"
dsl = "start->[left,right]; left->call; right->call2; [call,call2]->end;"
[states.call]
action = "workflow"
workflow = "{child}"
[states.call2]
action = "workflow"
workflow = "{child}"
''')
    res = _wait(engine, engine.start(parent, {"total": 1}))
    assert res.status == "completed", res.error
    kids = _descendants(engine.store, res.execution_id)
    assert len(kids) == 2 and len({k["execution_id"] for k in kids}) == 2


def test_direct_recursion_is_a_validation_warning(tmp_path):
    wf = tmp_path / "recurse.toml"
    _self_calling(wf)
    report = load_workflow(wf).validate_all()
    assert not report.errors
    [warning] = [w for w in report.warnings if w.code == "recursive_sub_workflow"]
    assert "'again' runs this workflow itself" in warning.message and "max_subworkflow_depth" in warning.message
