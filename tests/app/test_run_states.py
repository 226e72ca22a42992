"""Run states in the app (issue 15): actions check the run's CURRENT state and say why they cannot
apply; a cancelled run shows no Approve/Reject; a run waiting for a person is not "interrupted"; the
business outcome is shown beside the engine status; a re-run shows the steps it reused, links to its
source run (and back) and is found by the source's id; History lists inputs and outcomes."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from engine.workbench import library as wb_library
from engine.workbench import run_state, runs
from engine.workbench.common import ServiceError
from engine.workflow_file import WorkflowSpec, load_workflow
from tests.app.conftest import texts, wait_for

TEMPLATES = Path(__file__).resolve().parents[2] / "data" / "templates"


def _save(store, path="order_processing.toml"):
    return wb_library.save_workflow(store, load_workflow(TEMPLATES / path))


def _start(eng, path, ctx):
    wid, ver = _save(eng.store, path)
    spec, _ = wb_library.get_workflow(eng.store, wid, ver)
    return runs.start_run(eng, spec, ctx, runs.run_options(), wid, ver)


def _buttons(at):
    return {b.label for b in at.button}


def _wait_status(eng, eid, status, timeout=30.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = runs.execution(eng.store, eid)
        if row and row["status"] == status:
            return row
        time.sleep(0.1)
    raise AssertionError(f"{eid} never became {status}: {runs.execution(eng.store, eid)}")


def test_a_cancelled_run_shows_no_approve_and_answers_are_refused_with_the_reason(page_test, app_engine):
    eid = _start(app_engine, "order_processing.toml", {"order_id": 3})
    _wait_status(app_engine, eid, "waiting")
    at = page_test("run")
    at.session_state["wb.run_id"] = eid
    at.run()
    assert {"Approve", "Reject"} <= _buttons(at)
    app_engine.cancel(eid)
    _wait_status(app_engine, eid, "cancelled")
    wait_for(at, lambda a: "Approve" not in _buttons(a) and "Cancelled:" in texts(a))
    assert not at.error, [e.value for e in at.error]  # a cancel is not shown as a red error
    with pytest.raises(ServiceError, match="cancelled: it takes no answers"):
        runs.answer_request(app_engine, eid, "wait_customer_decision", "yes")
    assert "is already cancelled" in run_state.refusal(app_engine, eid, "cancel")
    assert "re-run it instead" in run_state.refusal(app_engine, eid, "resume")


def test_a_run_waiting_for_a_person_is_not_interrupted(page_test, app_engine):
    from engine.runner import _now

    store = app_engine.store
    wid, ver = wb_library.save_workflow(store, WorkflowSpec(name="Asks", dsl="start->ask;ask->end;"))
    gone = f"{socket.gethostname()}:999999:gone"  # the CLI that started it has exited
    store.append(
        "workflow_executions",
        {
            "execution_id": "asking1",
            "workflow_id": wid,
            "workflow_name": "Asks",
            "version": ver,
            "status": "waiting",
            "current_state": "ask",
            "initial_context": {"order_id": 7},
            "options": {},
            "owner": gone,
            "start_time": _now(),
            "updated_at": _now(),
            "seq": 1,
        },
    )
    store.append(
        "human_requests",
        {
            "request_id": "req-asking1",
            "execution_id": "asking1",
            "state": "ask",
            "kind": "approval",
            "prompt": "Go on?",
            "options": ["yes", "no"],
            "status": "open",
            "created_at": _now(),
            "updated_at": _now(),
        },
    )
    store.flush()
    assert [r["execution_id"] for r in runs.interrupted_runs(app_engine)] == []
    assert "waiting for an approval at 'ask'" in run_state.refusal(app_engine, "asking1", "resume")
    at = page_test("history")
    at.session_state["hist.selected"] = "asking1"
    at.run()
    body = texts(at)
    assert "interrupted" not in body
    assert "waiting for an approval at 'ask'" in body
    assert "Resume" not in _buttons(at) and "Approve" in _buttons(at)
    table = at.dataframe[0].value
    assert table.loc[0, "inputs"] == "order_id=7"


def test_outcome_beside_the_status_and_in_history(page_test, app_engine):
    eid = _start(app_engine, "order_processing.toml", {"order_id": 5})  # the card is declined
    assert app_engine.wait(eid, 60).status == "completed"
    at = page_test("history")
    at.session_state["hist.selected"] = eid
    at.run()
    assert not at.exception
    assert "outcome **notify_payment_failure**" in texts(at)
    table = at.dataframe[0].value
    assert table.loc[0, "outcome"] == "notify_payment_failure" and table.loc[0, "inputs"] == "order_id=5"


def test_a_rerun_shows_reused_steps_links_both_ways_and_is_found_by_its_source(page_test, app_engine):
    store = app_engine.store
    eid = _start(app_engine, "sales_report.toml", {})
    assert app_engine.wait(eid, 60).status == "completed"
    assert run_state.refusal(app_engine, eid, "rerun", "nowhere").startswith("'nowhere' never ran")
    new = app_engine.rerun(eid, "combine_report")
    assert app_engine.wait(new, 60).status == "completed"
    row = runs.execution(store, new)
    trans = runs.run_transitions(store, row)
    statuses = runs.node_statuses(trans, row)
    assert statuses["count_sales"] == statuses["north_sales"] == "reused" and statuses["combine_report"] == "completed"
    steps = runs.context_steps(row["initial_context"], trans)
    assert steps[0]["reused"] and "north" in steps[-1]["context"]  # the reused updates are in the context

    at = page_test("history")
    at.session_state["hist.selected"] = new
    at.run()
    body = texts(at)
    assert f"Re-run of `{eid}` from 'combine_report'" in body and "reused from it: " in body
    assert "Open the source run" in _buttons(at)
    at.text_input(key="hist.text").input(eid)  # searching the source's id finds its re-run too
    at.run()
    ids = set(at.dataframe[0].value["execution"])
    assert ids == {eid, new}
    at.session_state["hist.selected"] = eid
    at.run()
    assert f"Re-run as `{new}` from 'combine_report'" in texts(at)


def test_history_shows_what_each_step_printed(page_test, app_engine):
    store = app_engine.store
    spec = WorkflowSpec(
        name="Talks",
        dsl="start->talk;talk->quiet;quiet->end;",
        states={
            "talk": {"action": "python", "function": "tests.run.step_functions:chatty", "params": {"word": "hi"}},
        },
    )
    wid, ver = wb_library.save_workflow(store, spec)
    eid = runs.start_run(app_engine, spec, {}, runs.run_options(), wid, ver)
    assert app_engine.wait(eid, 60).status == "completed"
    at = page_test("history")
    at.session_state["hist.selected"] = eid
    at.run()
    assert not at.exception
    at.select_slider(key=f"hist.step.{eid}").set_value(1)  # talk (step 0 is start)
    at.run()
    printed = [c.value for c in at.code]
    assert any("hi line 0" in v and "hi warns on stderr" in v for v in printed), (printed, texts(at)[-1500:])
    at.select_slider(key=f"hist.step.{eid}").set_value(2)  # quiet
    at.run()
    assert "Nothing: this step printed no output." in texts(at)
