"""A sub-workflow's child run is checked against the child workflow's own ``[inputs]`` (like every start):
bad input fails the parent's ``workflow`` state with the field named; defaults apply to the child."""

from __future__ import annotations

from engine.runner import RunOptions
from engine.workflow_file import load_workflow
from tests.automation.conftest import REGION_INPUT

NO_AUTO = RunOptions(auto_recovery=False)  # a failed state ends the run (no person asked)

CHILD = f"""
name = "child-with-inputs"
dsl = "start->a; a->end;"
{REGION_INPUT}
[inputs.limit]
type = "integer"
default = 100
min = 1
[states.a]
action = "noop"
"""


def _parent(tmp_path, params: str):
    (tmp_path / "child.toml").write_text(CHILD)
    (tmp_path / "parent.toml").write_text(
        f'name = "parent"\ndsl = "start->call; call->end;"\n'
        f'[states.call]\naction = "workflow"\nworkflow = "child.toml"\nparams = {params}\n'
    )
    return load_workflow(tmp_path / "parent.toml")


def _child_rows(store, parent_id):
    return store.query(
        "SELECT execution_id, status FROM workflow_executions WHERE parent_execution_id = ?", [parent_id]
    )


def test_a_child_with_invalid_inputs_fails_the_parent_state_naming_the_field(inline_engine, tmp_path):
    spec = _parent(tmp_path, '{ region = "mars" }')
    eid = inline_engine.start(spec, {}, options=NO_AUTO)
    res = inline_engine.wait(eid, timeout=60)
    assert res.status == "failed"
    assert "region" in (res.error or "") and "child-with-inputs" in (res.error or ""), res.error
    step = inline_engine.store.query(
        "SELECT status, error_type, error_message FROM state_transitions WHERE execution_id = ? AND from_state = 'call' "
        "ORDER BY started_at DESC LIMIT 1",
        [eid],
    )[0]
    assert step["status"] == "failed" and step["error_type"] == "InputValidationError"
    assert "input 'region'" in step["error_message"]
    assert _child_rows(inline_engine.store, eid) == []  # nothing of the child was started or recorded


def test_a_missing_required_child_input_is_named_too(inline_engine, tmp_path):
    spec = _parent(tmp_path, "{ limit = 5 }")
    res = inline_engine.wait(inline_engine.start(spec, {}, options=NO_AUTO), timeout=60)
    assert res.status == "failed" and "input 'region'" in (res.error or ""), res.error


def test_a_child_with_valid_inputs_runs_with_its_defaults_applied(inline_engine, tmp_path):
    spec = _parent(tmp_path, '{ region = "eu" }')
    eid = inline_engine.start(spec, {})
    res = inline_engine.wait(eid, timeout=60)
    assert res.status == "completed", res.error
    assert res.final_context["region"] == "eu" and res.final_context["limit"] == 100
    assert [r["status"] for r in _child_rows(inline_engine.store, eid)] == ["completed"]
