"""Each page's logic with Streamlit's AppTest (custom components and run_every timers are covered in
the browser tests; here pages are rerun by hand)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from engine.workbench import library as wb_library
from engine.workbench import runs
from engine.workflow_file import WorkflowSpec, load_workflow
from tests.app.conftest import texts, wait_for

TEMPLATES = Path(__file__).resolve().parents[2] / "data" / "templates"
SALES = (
    "Load the weekly sales. Then, in parallel, compute the totals for the north, south, east and west "
    "regions. After that, combine them into a report."
)


def _button(at, label):
    return next(b for b in at.button if b.label == label)


def _save(store, path="order_processing.toml", **update):
    spec = load_workflow(TEMPLATES / path)
    if update:
        spec = spec.model_copy(update=update)
    return wb_library.save_workflow(store, spec)


# ----------------------------------------------------------------------------- Describe
def test_describe_translates_shows_provider_and_saves(page_test, app_engine):
    at = page_test("describe")
    at.run()
    at.text_area(key="desc.text").input(SALES)
    at.run()
    _button(at, "Translate").click()
    at.run()
    assert not at.exception
    assert "->[" in at.text_area(key="desc.dsl").value
    body = texts(at)
    assert "Translated by **offline**" in body and "Valid:" in body
    at.text_input(key="desc.name").input("Weekly sales")
    at.text_input(key="desc.tags").input("sales, weekly")
    _button(at, "Save workflow").click()
    at.run()
    assert "Saved **Weekly sales** as version 1" in texts(at)
    rows = wb_library.list_workflows(app_engine.store)
    assert [(r["name"], r["tags"]) for r in rows] == [("Weekly sales", ["sales", "weekly"])]
    _button(at, "Save workflow").click()  # unchanged: no duplicate
    at.run()
    assert len(wb_library.list_workflows(app_engine.store)) == 1 and "Already saved" in texts(at)


def test_describe_shows_dsl_errors_at_their_line(page_test, app_engine):
    at = page_test("describe")
    at.run()
    next(b for b in at.button if b.label == "Use this template" and b.key == "btn.desc.tpl.content_review").click()
    at.run()
    assert "From the template **Content review**" in texts(at)
    at.text_area(key="desc.dsl").input("start->a;\na->>b;\n")
    at.run()
    assert any("Line 2, column" in e.value for e in at.error)
    assert _button(at, "Save workflow").disabled


def test_describe_empty_translate_is_disabled(page_test, app_engine):
    at = page_test("describe")
    at.run()
    assert _button(at, "Translate").disabled
    assert not at.exception


# ----------------------------------------------------------------------------- Workflows
def test_workflows_library_versions_diff_and_archive(page_test, app_engine):
    store = app_engine.store
    at = page_test("workflows")
    at.run()
    assert any("No workflows match" in i.value for i in at.info)
    wid, _ = _save(store)
    spec, _ = wb_library.get_workflow(store, wid)
    wb_library.save_workflow(store, spec.model_copy(update={"description": "changed"}), wid, "new description")
    _save(store, "sales_report.toml")
    at = page_test("workflows")
    at.session_state["wb.workflow_id"] = wid
    at.run()
    assert not at.exception
    assert "Order processing" in [s.value for s in at.subheader]
    assert any(c.language == "diff" and "changed" in c.value for c in at.code)
    at.text_input(key="wf.text").input("regional")
    at.run()
    assert "1 workflow —" in texts(at)
    at.text_input(key="wf.text").input("")
    at.session_state["wb.workflow_id"] = wid
    at.run()
    _button(at, "Archive it").click()
    at.run()
    assert [r["workflow_id"] for r in wb_library.list_workflows(store, status="archived")] == [wid]
    at.selectbox(key="wf.status").select("archived")
    at.run()
    assert "1 workflow —" in texts(at)


# ----------------------------------------------------------------------------- Editor
def test_editor_binding_transitions_and_versions(page_test, app_engine):
    store = app_engine.store
    wid, _ = wb_library.save_workflow(store, WorkflowSpec(name="Edit me", dsl="start->greet;\ngreet->end;\n"))
    at = page_test("editor")
    at.session_state["wb.workflow_id"] = wid
    at.run()
    assert not at.exception
    assert at.selectbox(key="ed.pick").value == wid
    # pick the step (what a click in the graph does) and bind it to a python function
    at.session_state["ed.selected"] = "greet"
    at.run()
    at.selectbox(key="ed.b.greet.action").select("python")
    at.run()
    at.text_input(key="ed.b.greet.function").input("orders:notify")
    at.text_input(key="ed.b.greet.params").input(json.dumps({"template": "Hi {customer}"}))
    at.number_input(key="ed.b.greet.max_attempts").set_value(3)
    _button(at, "Apply to this step").click()
    at.run()
    assert at.session_state["ed.spec"]["states"]["greet"]["function"] == "orders:notify"
    assert at.session_state["ed.spec"]["states"]["greet"]["retry"]["max_attempts"] == 3
    # add a transition with the form: the DSL text follows
    at.selectbox(key="ed.t.add.src").select("greet")
    at.selectbox(key="ed.t.add.dst").select("new state…")
    at.run()
    at.text_input(key="ed.t.add.dst_new").input("audit")
    at.text_input(key="ed.t.add.cond").input("loud == True")
    _button(at, "Add transition").click()
    at.run()
    at.selectbox(key="ed.t.add.src").select("audit")
    at.selectbox(key="ed.t.add.dst").select("end")
    _button(at, "Add transition").click()
    at.run()
    assert "greet->audit:loud==True;" in at.text_area(key="ed.dsl").value
    assert any("Valid" in s.value for s in at.success)
    at.text_input(key="ed.note").input("bound greet")
    _button(at, "Save version").click()
    at.run()
    assert not at.exception
    spec, meta = wb_library.get_workflow(store, wid)
    assert meta["version"] == 2 and spec.states["greet"].function == "orders:notify"
    assert "audit" in spec.model.states
    assert [v["version"] for v in wb_library.list_versions(store, wid)] == [1, 2]


def test_editor_bad_binding_and_bad_dsl_are_messages(page_test, app_engine):
    at = page_test("editor")
    at.run()
    assert at.selectbox(key="ed.pick").value == "__draft__"
    at.session_state["ed.selected"] = "first_step"
    at.run()
    at.selectbox(key="ed.b.first_step.action").select("python")
    at.run()
    _button(at, "Apply to this step").click()
    at.run()
    assert any("needs 'function'" in e.value for e in at.error)
    at.text_area(key="ed.dsl").input("start->check;\ncheck->>done;\n")
    at.run()
    assert any(e.value.startswith("Line 2, column") for e in at.error)
    assert _button(at, "Save version").disabled
    assert not at.exception


def test_editor_new_draft_saves_a_new_workflow(page_test, app_engine):
    at = page_test("editor")
    at.run()
    at.text_area(key="ed.dsl").input("start->collect;\ncollect->end;\n")
    at.run()
    at.text_input(key="ed.w.name").input("Drafted")
    _button(at, "Apply workflow settings").click()
    at.run()
    _button(at, "Save version").click()
    at.run()
    rows = wb_library.list_workflows(app_engine.store)
    assert [(r["name"], r["version"]) for r in rows] == [("Drafted", 1)]


# ----------------------------------------------------------------------------- Run
def test_run_prefills_context_launches_and_monitors_to_completion(page_test, app_engine):
    wid, ver = _save(app_engine.store, "sales_report.toml")
    at = page_test("run")
    at.session_state["wb.workflow_id"] = wid
    at.run()
    assert not at.exception
    assert at.selectbox(key="run.wid").value == wid and at.selectbox(key="run.version").value == ver
    assert json.loads(at.text_area(key="run.context").value) == {}
    _button(at, "Launch").click()
    at.run()
    eid = at.session_state["wb.run_id"]
    row = runs.execution(app_engine.store, eid)
    assert row["workflow_id"] == wid and row["version"] == ver  # pinned to the chosen version
    wait_for(at, lambda a: any("completed" in m.value for m in a.markdown))
    body = texts(at)
    assert "Steps done 6" in body and "Errors / retries 0 / 0" in body
    assert at.get("plotly_chart"), "the timeline is drawn"


def test_run_approval_waits_and_approve_completes(page_test, app_engine):
    wid, _ = _save(app_engine.store)
    at = page_test("run")
    at.session_state["wb.workflow_id"] = wid
    at.run()
    order_id = at.number_input(key=f"{at.session_state['run.form']}.order_id")  # the template's typed [inputs]
    assert order_id.value == 1  # its default
    order_id.set_value(3)
    _button(at, "Launch").click()
    at.run()
    wait_for(at, lambda a: any(b.label == "Approve" for b in a.button))
    assert "Ship the available part of order 3" in texts(at)
    _button(at, "Approve").click()
    at.run()
    wait_for(at, lambda a: any("completed" in m.value for m in a.markdown))
    res = runs.execution(app_engine.store, at.session_state["wb.run_id"])
    assert res["final_context"]["approved"] is True


def test_run_escalation_answers_and_cancel(page_test, app_engine):
    spec = WorkflowSpec(
        name="Flaky",
        dsl="start->boom;boom->end;",
        states={"boom": {"action": "python", "function": "nope_module:missing", "on_error": "escalate"}},
    )
    wid, _ = wb_library.save_workflow(app_engine.store, spec)
    at = page_test("run")
    at.session_state["wb.workflow_id"] = wid
    at.run()
    _button(at, "Launch").click()
    at.run()
    wait_for(at, lambda a: any(b.label == "Abort the run" for b in a.button))
    assert {"Retry", "Skip the step", "Abort the run"} <= {b.label for b in at.button}
    _button(at, "Skip the step").click()
    at.run()
    wait_for(at, lambda a: any("completed" in m.value for m in a.markdown))


def test_run_bad_context_is_a_message(page_test, app_engine):
    wid, _ = _save(app_engine.store, inputs={})  # no typed [inputs]: the page offers the JSON box
    at = page_test("run")
    at.session_state["wb.workflow_id"] = wid
    at.run()
    at.text_area(key="run.context").input("{order_id: 3")
    at.run()
    assert any("not valid JSON" in e.value for e in at.error)
    _button(at, "Launch").click()
    at.run()
    assert any("not valid JSON" in e.value for e in at.error) and "wb.run_id" not in at.session_state
    assert not at.exception


# ----------------------------------------------------------------------------- History
def test_history_lists_drills_in_replays_context_and_reruns(page_test, app_engine):
    store = app_engine.store
    wid, ver = _save(store, "sales_report.toml")
    spec, _ = wb_library.get_workflow(store, wid)
    eid = runs.start_run(app_engine, spec, {}, runs.run_options(), wid, ver)
    assert app_engine.wait(eid, 30).status == "completed"
    at = page_test("history")
    at.session_state["wb.run_id"] = eid
    at.run()
    assert not at.exception
    body = texts(at)
    assert "1 run, newest first" in body and "Step by step" in [s.value for s in at.subheader]
    assert (
        at.select_slider(key=f"hist.step.{eid}").value == len(runs.context_steps({}, runs.transitions(store, eid))) - 1
    )
    at.selectbox(key="hist.status").select("failed")
    at.run()
    assert any("No runs match" in i.value for i in at.info)
    at.selectbox(key="hist.status").select("(all)")
    at.session_state["hist.selected"] = eid
    at.run()
    at.selectbox(key=f"hist.rerun_from.{eid}").select("combine_report")
    at.run()
    _button(at, "Re-run from here").click()
    at.run()
    new = at.session_state["hist.selected"]
    assert new != eid
    res = app_engine.wait(new, 30)
    assert res.status == "completed"
    assert runs.execution(store, new)["rerun_of"] == eid


def test_history_lists_interrupted_runs_after_a_restart_and_resumes_them(page_test, app_engine):
    from engine.runner import _now

    store = app_engine.store
    wid, ver = wb_library.save_workflow(store, WorkflowSpec(name="Left behind", dsl="start->a;a->b;b->end;"))
    store.append(
        "workflow_executions",
        {
            "execution_id": "ghost2",
            "workflow_id": wid,
            "workflow_name": "Left behind",
            "version": ver,
            "status": "running",
            "current_state": "a",
            "initial_context": {},
            "options": {},
            "owner": f"{socket.gethostname()}:999999:gone",
            "start_time": _now(),
            "updated_at": _now(),
            "seq": 1,
        },
    )
    store.flush()
    at = page_test("history")
    at.run()
    assert "1 interrupted run**" in texts(at)
    next(b for b in at.button if b.key == "btn.hist.resume_top.ghost2").click()
    at.run()
    assert app_engine.wait("ghost2", 30).status == "completed"
    at.run()
    assert "interrupted run**" not in texts(at)


# ----------------------------------------------------------------------------- Settings
def test_settings_never_show_the_key(page_test, app_engine, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret-123")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    at = page_test("settings")
    at.run()
    assert not at.exception
    body = texts(at) + "".join(str(t.value) for t in at.text_input)
    assert "sk-very-secret" not in body
    assert "set, from environment (OPENAI_API_KEY)" in body and "Provider: **local**" in body
    assert at.text_input(key="wb.llm_base_url").value == "http://127.0.0.1:9/v1"
    assert "Connected" in body and str(app_engine.store.path) in body


def test_settings_offline_by_default(page_test, app_engine, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    at = page_test("settings")
    at.run()
    assert "Provider: **offline**" in texts(at)
    at.slider(key="wb.decision_threshold").set_value(85)
    at.run()
    assert at.session_state["wb.decision_threshold"] == 85


# ----------------------------------------------------------------------------- the router
def test_main_router_shows_every_page_and_the_ray_status(app_engine):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app" / "main.py"), default_timeout=60)
    at.run()
    assert not at.exception
    assert "Describe a workflow" in [t.value for t in at.title]
    side = " ".join(c.value for c in at.sidebar.caption)
    assert "Ray ready" in side and "workbench.duckdb" in side
    at.switch_page("app_pages/history.py").run()
    assert "History" in [t.value for t in at.title] and not at.exception


def test_run_page_keeps_the_workflow_the_user_picks(page_test, app_engine):
    a, _ = _save(app_engine.store)
    b, _ = _save(app_engine.store, "sales_report.toml")
    at = page_test("run")
    at.run()
    first = at.selectbox(key="run.wid").value
    other = a if first == b else b
    at.selectbox(key="run.wid").select(other).run()
    at.run()
    assert at.selectbox(key="run.wid").value == other
    assert at.session_state["wb.workflow_id"] == other
