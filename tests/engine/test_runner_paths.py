"""Runner semantics without Ray (inline executor): paths, joins, merge rule, failures, bounds."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.runner import RunOptions
from engine.workflow_file import load_workflow, parse_workflow_text, spec_from_dsl

TEMPLATES = Path(__file__).resolve().parents[2] / "data" / "templates"


def _run(engine, dsl_or_spec, ctx=None, **opts):
    spec = spec_from_dsl(dsl_or_spec) if isinstance(dsl_or_spec, str) else dsl_or_spec
    return engine.run(spec, ctx or {}, RunOptions(**opts))


@pytest.mark.parametrize(
    "ctx,path",
    [
        (
            {"is_valid": True},
            ["start", "receive_request", "validate_input", "process_data", "send_notification", "end"],
        ),
        ({"is_valid": False}, ["start", "receive_request", "validate_input", "log_error", "send_rejection", "end"]),
    ],
)
def test_seed_request_validation_takes_the_conditioned_path(inline_engine, ctx, path):
    res = _run(inline_engine, load_workflow(TEMPLATES / "seed_request_validation.dsl"), ctx)
    assert res.status == "completed"
    assert res.states_visited == path


@pytest.mark.parametrize(
    "ctx,expected_last",
    [
        ({"order_valid": True, "all_available": True, "payment_success": True}, "notify_fulfillment"),
        ({"order_valid": True, "all_available": True, "payment_success": False}, "notify_payment_failure"),
        ({"order_valid": True, "all_available": False, "some_available": True}, "wait_customer_decision"),
        (
            {"order_valid": True, "all_available": False, "some_available": False, "none_available": True},
            "notify_out_of_stock",
        ),
        ({"order_valid": False}, "order_error"),
    ],
)
def test_seed_order_processing_paths(inline_engine, ctx, expected_last):
    res = _run(inline_engine, load_workflow(TEMPLATES / "seed_order_processing.dsl"), ctx)
    assert res.status == "completed", res.error
    assert res.states_visited[-2] == expected_last


def test_seed_cicd_runs_branches_and_takes_the_join_condition(inline_engine):
    spec = load_workflow(TEMPLATES / "seed_cicd_pipeline.dsl")
    ctx = {"quality_pass": True, "all_tests_pass": True, "any_test_fail": False, "smoke_pass": True, "approved": True}
    res = _run(inline_engine, spec, ctx)
    assert res.status == "completed", res.error
    for s in ("run_unit_tests", "run_integration_tests", "run_security_scan", "build_image", "deploy_production"):
        assert s in res.states_visited
    assert res.final_context["all_ok"] is True and res.final_context["any_failed"] is False
    assert set(res.final_context["branch_status"]) == {"run_unit_tests", "run_integration_tests", "run_security_scan"}
    res = _run(inline_engine, spec, dict(ctx, all_tests_pass=False, any_test_fail=True))
    assert res.states_visited[-2:] == ["notify_failure", "end"]


def test_seed_support_tickets(inline_engine):
    spec = load_workflow(TEMPLATES / "seed_support_tickets.dsl")
    res = _run(inline_engine, spec, {"urgency": "high"})
    assert res.states_visited[1:4] == ["classify_ticket", "urgent_assignment", "notify_escalation"]
    res = _run(inline_engine, spec, {"urgency": "normal", "solution_found": True, "customer_satisfied": True})
    assert "mark_resolved" in res.states_visited


def test_no_matching_condition_fails_naming_state_and_conditions(inline_engine):
    res = _run(inline_engine, "start->a; a->b:x==1; a->c:x==2; b->end; c->end;", {"x": 3})
    assert res.status == "failed"
    assert "'a'" in res.error and "x==1 → False" in res.error and "x==2 → False" in res.error


def test_unconditional_transition_is_the_default_wherever_it_is_written(inline_engine):
    res = _run(inline_engine, "start->a; a->dflt; a->b:x==1; b->end; dflt->end;", {"x": 1})
    assert res.states_visited == ["start", "a", "b", "end"]
    res = _run(inline_engine, "start->a; a->dflt; a->b:x==1; b->end; dflt->end;", {"x": 2})
    assert res.states_visited == ["start", "a", "dflt", "end"]


def test_condition_on_missing_value_fails_with_a_clear_message(inline_engine):
    res = _run(inline_engine, "start->a; a->b:order.total>100; a->end; b->end;", {})
    assert res.status == "failed"
    assert "order.total" in res.error and "not in the context" in res.error


def test_loops_are_bounded_by_max_steps(inline_engine):
    res = _run(inline_engine, "start->a; a->a:spin==True; a->end;", {"spin": True}, max_steps=25)
    assert res.status == "failed" and "25 steps" in res.error


def test_loop_with_python_counter_terminates(inline_engine):
    spec = parse_workflow_text("""
name = "counter"
dsl = "start->inc; inc->inc:total<5; inc->end;"
[states.inc]
action = "python"
function = "tests.engine.functions:add"
params = { amount = 1 }
""")
    res = _run(inline_engine, spec, {"total": 0}, execution="inline")
    assert res.status == "completed"
    assert res.final_context["total"] == 5
    assert res.states_visited.count("inc") == 5


def _merge_spec():
    return parse_workflow_text("""
name = "merge"
dsl = "start->[left,right]; [left,right]->done; done->end;"
[states.left]
action = "python"
function = "tests.engine.functions:add"
params = { amount = 1, key = "shared" }
[states.right]
action = "python"
function = "tests.engine.functions:add"
params = { amount = 10, key = "shared" }
""")


def test_fan_in_merge_keeps_both_conflicting_values(inline_engine):
    res = _run(inline_engine, _merge_spec(), {"shared": 0}, execution="inline")
    assert res.status == "completed", res.error
    ctx = res.final_context
    assert ctx["shared"] == 1  # the first branch's value wins…
    assert ctx["_conflicts"]["shared"] == {"left": 1, "right": 10}  # …and no value is lost
    audit = inline_engine.store.query("SELECT message FROM audit_logs WHERE event_type = 'merge_conflict'")
    assert audit and "shared" in audit[0]["message"]


def test_failed_branch_only_takes_a_conditional_join(inline_engine):
    base = '''
name = "branches"
dsl = """start->[good,bad]; [good,bad]->publish; [good,bad]->alert:any_failed==True; publish->end; alert->end;"""
[states.bad]
action = "python"
function = "tests.engine.functions:fail_with"
params = { error = "ValueError", message = "broken input" }
on_error = "abort"
'''
    res = _run(inline_engine, parse_workflow_text(base), {}, execution="inline")
    assert res.status == "completed", res.error
    assert res.states_visited[-2:] == ["alert", "end"]
    assert res.final_context["branch_status"] == {"good": "completed", "bad": "failed"}
    only_default = base.replace("[good,bad]->alert:any_failed==True; ", "").replace(" alert->end;", "")
    res = _run(inline_engine, parse_workflow_text(only_default), {}, execution="inline")
    assert res.status == "failed"
    assert "bad" in res.error and "broken input" in res.error


def test_branch_chains_and_nested_fan_out(inline_engine):
    dsl = "start->split; split->[a1,b1]; a1->a2; a2->[x,y]; [x,y]->a3; b1->b2; [a3,b2]->join; join->end;"
    res = _run(inline_engine, dsl)
    assert res.status == "completed", res.error
    for s in ("a1", "a2", "x", "y", "a3", "b1", "b2", "join"):
        assert s in res.states_visited
    tokens = {r["token"] for r in inline_engine.store.query("SELECT token FROM state_transitions")}
    assert {"0", "0.1-1", "0.1-2", "0.1-1.1-1", "0.1-1.1-2"} <= tokens


def test_records_per_state_with_transition_and_keys(inline_engine):
    spec = _merge_spec()
    res = _run(inline_engine, spec, {"shared": 0}, execution="inline")
    rows = inline_engine.store.query(
        "SELECT from_state, to_state, transition_type, keys_read, keys_written, status FROM state_transitions "
        "WHERE execution_id = ? ORDER BY timestamp",
        [res.execution_id],
    )
    by_state = {r["from_state"]: r for r in rows}
    assert by_state["start"]["to_state"] == "[left,right]" and by_state["start"]["transition_type"] == "parallel"
    assert '"shared"' in by_state["left"]["keys_read"] and '"shared"' in by_state["left"]["keys_written"]
    assert by_state["[left,right]"]["to_state"] == "done"
    ex = inline_engine.store.query(
        "SELECT status, states_visited, final_context FROM workflow_executions WHERE execution_id = ?",
        [res.execution_id],
    )[0]
    assert ex["status"] == "completed"


def test_natural_language_condition_without_ai_waits_for_a_person(inline_engine):
    spec = spec_from_dsl(
        'start->read_email; read_email->escalate:"the customer sounds angry"; '
        "read_email->reply; escalate->end; reply->end;"
    )
    res = inline_engine.run(spec, {"email": "I am furious"}, RunOptions(ai_decisions=False, detach_when_waiting=True))
    assert res.status == "waiting"
    assert res.waiting_for[0]["kind"] == "decision" and res.waiting_for[0]["state"] == "read_email"
    info = inline_engine.answer(res.execution_id, "read_email", "true", by="test")
    assert info["delivered"] == "resume"
    res2 = inline_engine.wait(inline_engine.resume(res.execution_id))
    assert res2.status == "completed"
    assert res2.states_visited == ["start", "read_email", "escalate", "end"]
    assert res2.final_context == {"email": "I am furious"}


def test_invalid_workflow_is_refused_before_running(inline_engine):
    from engine.errors import DSLError

    with pytest.raises(DSLError) as err:
        inline_engine.start(spec_from_dsl("start->a; a->b;"), {})
    assert "has no outgoing transition" in err.value.format() and "never reaches 'end'" in err.value.format()


def test_an_engine_built_on_the_inline_executor_runs_python_states(inline_engine):
    spec = parse_workflow_text("""
name = "inline executor"
dsl = "start->inc; inc->end;"
[states.inc]
action = "python"
function = "tests.engine.functions:add"
params = { amount = 2 }
""")
    res = inline_engine.run(spec, {"total": 1})  # execution "auto": the executor itself is in-process
    assert res.status == "completed", res.error
    assert res.final_context["total"] == 3


def test_whole_context_reads_count_as_reading_every_key():
    from engine.actions.tracking import TrackingDict

    for read in (dict, lambda c: {**c}, lambda c: __import__("json").dumps(c), list):
        ctx = TrackingDict({"a": 1, "b": 2})
        read(ctx)
        assert ctx.keys_read == {"a", "b"}
    ctx = TrackingDict({"a": 1, "b": 2})
    ctx.get("a")
    assert ctx.keys_read == {"a"}
