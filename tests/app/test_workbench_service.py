"""The workbench's read models and edit helpers (engine.workbench) and the graph/timeline views."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from engine.runner import RunOptions
from engine.workbench import ai as wb_ai
from engine.workbench import common, drafts, runs
from engine.workbench import library as wb_library
from engine.workflow_file import WorkflowSpec, load_workflow

TEMPLATES = Path(__file__).resolve().parents[2] / "data" / "templates"


def _run(engine, spec, ctx):
    res = engine.run(spec, ctx, RunOptions())
    engine.store.flush()
    return res


# ----------------------------------------------------------------------------- DSL and edits
def test_check_dsl_reports_line_and_column():
    chk = drafts.check_dsl("start->a;\na->>b;\nb->end;\n")
    assert not chk.ok and chk.graph is None
    assert chk.errors[0]["line"] == 2 and chk.errors[0]["column"] >= 1
    ok = drafts.check_dsl("start->a;a->end;")
    assert ok.ok and {n["id"] for n in ok.graph["nodes"]} == {"start", "a", "end"}
    assert not drafts.check_dsl("  ").ok


def test_transitions_add_replace_remove_keep_dsl_and_graph_in_step():
    dsl = "start->a;\na->end;\n"
    dsl = drafts.add_transition(dsl, "a", "b", "x > 3")
    assert "a->b:x>3;" in dsl
    dsl = drafts.add_transition(dsl, "b", "end")
    assert drafts.check_dsl(dsl).ok
    rows = drafts.transition_rows(drafts.check_dsl(dsl).model)
    i = next(r["index"] for r in rows if r["text"] == "a->b:x>3")
    dsl = drafts.replace_transition(dsl, i, "a", "[b,c]")
    assert "a->[b,c];" in dsl
    dsl = drafts.remove_transition(dsl, 0)
    assert not dsl.startswith("start->a")
    with pytest.raises(common.ServiceError, match="not a valid state name"):
        drafts.add_transition("start->a;a->end;", "a", "bad name")
    with pytest.raises(common.ServiceError, match="condition is not valid"):
        drafts.add_transition("start->a;a->end;", "a", "b", "x ==")
    with pytest.raises(common.ServiceError, match="fix the DSL first"):
        drafts.add_transition("start->->a;", "a", "b")


def test_rename_state_renames_bindings_and_compensations():
    spec = WorkflowSpec(
        dsl="start->a;a->b;b->end;", states={"a": {"action": "noop", "compensate": "b"}, "b": {"action": "noop"}}
    )
    new = drafts.rename_state(spec, "b", "undo_a")
    assert "a->undo_a;" in new.dsl and "undo_a" in new.states and new.states["a"].compensate == "undo_a"
    with pytest.raises(common.ServiceError):
        drafts.rename_state(spec, "a", "end")


def test_binding_from_form_validates_and_explains():
    b = drafts.binding_from_form(
        {
            "action": "python",
            "function": "orders:notify",
            "params": '{"template": "x"}',
            "retry": {"max_attempts": 3, "backoff_s": 1, "backoff_factor": 2},
            "timeout_s": 5,
        }
    )
    assert b.function == "orders:notify" and b.params == {"template": "x"} and b.retry.max_attempts == 3
    assert drafts.binding_from_form({"action": "noop", "retry": {"max_attempts": 1}}).retry is None
    with pytest.raises(common.ServiceError, match="needs 'function'"):
        drafts.binding_from_form({"action": "python"})
    with pytest.raises(common.ServiceError, match="params must be a JSON object"):
        drafts.binding_from_form({"action": "noop", "params": "{oops"})
    with pytest.raises(common.ServiceError, match="module:function|package.module"):
        drafts.binding_from_form({"action": "python", "function": "not a ref"})


def test_parse_context_json():
    assert common.parse_context_json('{"order_id": 3}') == {"order_id": 3}
    assert common.parse_context_json("") == {}
    with pytest.raises(common.ServiceError, match="line 1"):
        common.parse_context_json("{order_id: 3}")
    with pytest.raises(common.ServiceError, match="JSON object"):
        common.parse_context_json("[1]")


def test_suggested_context_asks_for_inputs_not_for_what_states_write():
    spec = load_workflow(TEMPLATES / "order_processing.toml")
    ctx = drafts.suggested_context(spec)
    assert ctx == {"order_id": None}  # validate_order reads context["order_id"]; the rest is written by states
    seed = load_workflow(TEMPLATES / "seed_request_validation.dsl")
    assert drafts.suggested_context(seed) == {"is_valid": True}
    assert drafts.suggested_context(spec, {"order_id": 3})["order_id"] == 3
    dotted = WorkflowSpec(dsl="start->a;a->b:order.total>100;a->end;b->end;")
    assert drafts.suggested_context(dotted) == {"order": {"total": 100}}


def test_templates_gallery_lists_bound_templates_first():
    t = drafts.templates()
    names = [x["name"] for x in t]
    assert {"Order processing", "Regional sales report", "Data quality suite"} <= set(names)
    assert t[0]["bound"] and all(x["bound"] for x in t)  # each seed_*.dsl has its bound .toml: shown once
    assert any(n.startswith("CI/CD pipeline") for n in names)


def test_translate_offline_returns_valid_dsl_and_provider():
    tr = wb_ai.translate(
        "Load the sales. Then, in parallel, total the north and south regions. After that, combine them into a report."
    )
    assert tr["valid"] and "->[" in tr["dsl"] and tr["provider"]
    with pytest.raises(common.ServiceError, match="describe the workflow"):
        wb_ai.translate("   ")


def test_workflow_labels_are_unique():
    labels = wb_library.workflow_labels(
        [
            {"workflow_id": "a-1", "name": "Same"},
            {"workflow_id": "b-2", "name": "Same"},
            {"workflow_id": "c-3", "name": "Other"},
        ]
    )
    assert labels == {"a-1": "Same (a-1)", "b-2": "Same (b-2)", "c-3": "Other"}


def test_key_never_leaves_the_settings(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value")
    s = wb_ai.ai_settings()
    assert s.api_key and "sk-secret" not in repr(s) and "sk-secret" not in json.dumps(s.describe())
    assert wb_ai.key_source() == "environment (OPENAI_API_KEY)"
    monkeypatch.delenv("OPENAI_API_KEY")
    assert wb_ai.key_source({"OPENAI_API_KEY": "x"}) == ".streamlit/secrets.toml"
    assert wb_ai.ai_settings(secrets={"OPENAI_API_KEY": "x"}).api_key


# ----------------------------------------------------------------------------- records of real runs
def test_fan_out_run_statuses_timeline_lanes_and_context_replay(app_engine):
    spec = load_workflow(TEMPLATES / "sales_report.toml")
    res = _run(app_engine, spec, {})
    assert res.status == "completed"
    ex = runs.execution(app_engine.store, res.execution_id)
    trans = runs.transitions(app_engine.store, res.execution_id)
    st = runs.node_statuses(trans, ex)
    assert all(st[s] == "completed" for s in spec.model.states), st
    rows = runs.timeline_rows(trans)
    lanes = {r["state"]: r["lane"] for r in rows}
    assert lanes["count_sales"] == "main" and lanes["combine_report"] == "main"
    assert {lanes[s].split(" (")[0] for s in ("north_sales", "south_sales", "east_sales", "west_sales")} == {
        "branch 1",
        "branch 2",
        "branch 3",
        "branch 4",
    }
    steps = runs.context_steps(ex["initial_context"], trans)
    last = steps[-1]["context"]
    # the join merged every branch's result, exactly like the engine's final context
    for k in ("north", "south", "east", "west", "sales_rows"):
        assert last[k] == ex["final_context"][k]
    north = next(s for s in steps if s["state"] == "north_sales")
    assert "north" in north["context"] and "south" not in north["context"]  # a branch sees only its own writes


def test_waiting_run_shows_the_waiting_state_and_answer_resumes(app_engine):
    spec = load_workflow(TEMPLATES / "order_processing.toml")
    eid = app_engine.start(spec, {"order_id": 3}, RunOptions())
    import time

    for _ in range(100):
        reqs = runs.open_requests(app_engine.store, eid)
        if reqs:
            break
        time.sleep(0.1)
    assert reqs and reqs[0]["kind"] == "approval" and "order 3" in reqs[0]["prompt"]
    ex = runs.execution(app_engine.store, eid)
    st = runs.node_statuses(runs.transitions(app_engine.store, eid), ex, reqs)
    assert st["wait_customer_decision"] == "waiting" and st["validate_order"] == "completed"
    assert runs.runs_needing_attention(app_engine.store)[0]["execution_id"] == eid
    assert runs.answer_request(app_engine, eid, "wait_customer_decision", "yes") == "live"
    res = app_engine.wait(eid, 20)
    assert res.status == "completed" and res.final_context["approved"] is True


def test_running_frontier_is_shown_as_running():
    trans = [
        {"from_state": "start", "to_state": "a", "status": "completed", "token": "0"},
        {"from_state": "a", "to_state": "[b,c]", "status": "completed", "token": "0"},
        {"from_state": "b", "to_state": None, "status": "completed", "token": "0.1-1"},
    ]
    st = runs.node_statuses(trans, {"status": "running"})
    assert st["a"] == "completed" and st["b"] == "completed" and st["c"] == "running"
    failed = trans + [{"from_state": "c", "to_state": None, "status": "failed", "token": "0.1-2"}]
    assert runs.node_statuses(failed, {"status": "recovering", "current_state": "c"})["c"] == "retrying"
    assert runs.node_statuses(failed, {"status": "failed"})["c"] == "failed"


def test_interrupted_runs_are_listed_and_resumable(app_engine):
    spec = WorkflowSpec(name="Interrupted", dsl="start->a;a->b;b->end;")
    wid, ver = wb_library.save_workflow(app_engine.store, spec)
    # a run recorded by a process that is gone (dead pid on this host) and left 'running' after step a
    dead = f"{socket.gethostname()}:999999:dead"
    from engine.runner import _now

    app_engine.store.append(
        "workflow_executions",
        {
            "execution_id": "ghost1",
            "workflow_id": wid,
            "workflow_name": spec.name,
            "version": ver,
            "status": "running",
            "current_state": "a",
            "initial_context": {},
            "options": {},
            "owner": dead,
            "start_time": _now(),
            "updated_at": _now(),
            "seq": 1,
        },
    )
    app_engine.store.flush()
    rows = runs.interrupted_runs(app_engine)
    assert [r["execution_id"] for r in rows] == ["ghost1"]
    assert runs.can_resume(app_engine, runs.execution(app_engine.store, "ghost1"))
    app_engine.resume("ghost1")
    assert app_engine.wait("ghost1", 20).status == "completed"
    app_engine.store.flush()
    assert runs.interrupted_runs(app_engine) == []


# ----------------------------------------------------------------------------- views
def test_graph_elements_shapes_status_colors_and_labels():
    from app.components.graph_view import STATUS_COLORS, graph_config, graph_elements

    chk = drafts.check_dsl("start->a;a->[b,c];[b,c]->d:ok==True;[b,c]->e;d->end;e->end;a->end:@error;")
    nodes, edges = graph_elements(
        chk.graph, {"a": "completed", "b": "running"}, selected="d", bindings={"a": {"action": "python"}}
    )
    by = {n["id"]: n for n in nodes}
    assert by["start"]["shape"] == "ellipse" and by["a"]["shape"] == "box"
    assert by["a"]["color"]["background"] == STATUS_COLORS["completed"][0] and "‹python›" in by["a"]["label"]
    assert by["b"]["color"]["background"] == STATUS_COLORS["running"][0]
    assert by["c"]["color"]["background"] == STATUS_COLORS["pending"][0]
    assert by["b"].get("shapeProperties", {}).get("borderDashes")  # parallel branch
    assert by["d"]["borderWidth"] == 5  # selected
    # the fan-in's condition is written once, in a box below the "all 2 done" marker
    texts = [x["label"] for x in nodes + edges if x.get("label")]
    assert texts.count("ok==True") == 1 and "all 2 done" in texts
    cond = next(n for n in nodes if n["label"] == "ok==True")
    assert any(e["from"] == cond["id"] and e["to"] == "d" for e in edges)
    assert any(e["to"] == "end" and e.get("dashes") is True for e in edges)  # @error path
    assert any(n["label"] == "on error" for n in nodes)
    cfg = graph_config(400)
    assert cfg["layout"]["hierarchical"]["direction"] == "UD" and cfg["physics"]["enabled"] is False


def test_agraph_double_click_is_patched_out():
    from app.components import agraph_safe

    assert agraph_safe.PATCHED
    js = next((agraph_safe._BUILD / "static" / "js").glob("main.*.js")).read_text()
    assert "window.open(" not in js and "setComponentValue" in js


def test_timeline_figure_puts_branches_on_their_own_rows(app_engine):
    from app.components.timeline import timeline_figure

    res = _run(app_engine, load_workflow(TEMPLATES / "sales_report.toml"), {})
    fig = timeline_figure(runs.transitions(app_engine.store, res.execution_id))
    ys = {y for tr in fig.data for y in tr.y}
    assert "count_sales" in ys and "north_sales (branch 1)" in ys and "west_sales (branch 4)" in ys
    assert timeline_figure([]) is None
