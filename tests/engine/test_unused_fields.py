"""A field its action does not read is refused where a person writes it (a workflow file, the API, the
editor's form), with what was probably meant: ``prompt`` on an approval used to be ignored without a
word (its question is ``message``), as was ``query`` on a python step or ``params`` on an llm step.
What is already stored (a library version, a run's own copy of its spec) still loads and runs."""

from __future__ import annotations

import json

import pytest

from engine.workbench import drafts
from engine.workbench.common import ServiceError
from engine.workflow_file import (
    ACTION_FIELDS,
    StateBinding,
    WorkflowFileError,
    WorkflowSpec,
    parse_workflow_text,
    unused_field_problems,
)

APPROVAL_WITH_PROMPT = """
name = "Pay after approval"
dsl = "start->approve; approve->pay; pay->end;"
[states.approve]
action = "approval"
prompt = "Pay the invoice?"
"""


def test_a_file_with_a_field_its_action_ignores_is_refused_saying_what_was_meant():
    with pytest.raises(WorkflowFileError) as e:
        parse_workflow_text(APPROVAL_WITH_PROMPT, source="pay.toml")
    msg = str(e.value)
    assert "pay.toml: states.approve: action 'approval' does not use 'prompt'" in msg
    assert "an approval's question is 'message'" in msg


@pytest.mark.parametrize(
    "binding, unused",
    [
        ({"action": "python", "function": "m:f", "query": "SELECT 1"}, ["query"]),
        ({"action": "llm", "prompt": "Sum up {x}", "params": {"a": 1}}, ["params"]),
        ({"action": "http", "url": "https://example.com", "output": "json"}, ["output"]),
        ({"action": "noop", "message": "hello"}, ["message"]),
        ({"action": "approval", "message": "Pay?", "into": "ok", "function": "m:f"}, ["function", "into"]),
    ],
)
def test_each_action_names_the_fields_it_ignores(binding, unused):
    (problem,) = unused_field_problems({"s": StateBinding(**binding)})
    assert problem.startswith(f"states.s: action '{binding['action']}' does not use ")
    assert all(f"'{f}'" in problem for f in unused)


def test_fields_every_action_takes_and_defaults_are_not_complaints():
    ok = {
        "a": StateBinding(action="python", function="m:f", params={"n": 1}, timeout_s=5, on_error="skip"),
        "b": StateBinding(action="http", url="https://example.com", method="GET", into="page"),
        "c": StateBinding(action="approval", message="Pay?", timeout_s=3600, description="finance signs off"),
        "d": StateBinding(action="wait", wait_s=60, give_up_after_s=600),
        "e": StateBinding(action="noop", description="a marker", num_cpus=1),
    }
    assert unused_field_problems(ok) == []


def test_every_field_of_a_binding_belongs_to_some_action_or_to_all():
    """A field added to StateBinding must be placed in ACTION_FIELDS (or taken by every action)."""
    from engine.workflow_file import _EVERY_ACTION

    placed = set().union(*ACTION_FIELDS.values()) | _EVERY_ACTION
    assert set(StateBinding.model_fields) <= placed


def test_the_editor_form_refuses_what_the_action_ignores():
    with pytest.raises(ServiceError, match="action 'llm' does not use 'params'"):
        drafts.binding_from_form({"action": "llm", "prompt": "Sum up", "params": '{"a": 1}'})
    assert drafts.binding_from_form({"action": "llm", "prompt": "Sum up"}).prompt == "Sum up"


def test_a_stored_spec_with_an_ignored_field_still_loads_and_runs(inline_engine):
    """A version saved before the check (or a run's copy of its spec) must never fail to load or resume."""
    stored = {
        "name": "Saved before",
        "dsl": "start->a; a->end;",
        "states": {"a": {"action": "noop", "message": "ignored, as it always was"}},
    }
    spec = WorkflowSpec.model_validate(json.loads(json.dumps(stored)))
    eid = inline_engine.start(spec, {})
    assert inline_engine.wait(eid, timeout=30).status == "completed"
