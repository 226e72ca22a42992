"""A spec's validation and dump are computed once per spec *content* and shared by its runs
(engine.run.state.spec_facts): 200 concurrent runs of one workflow no longer validate and dump it 200
times. The cache must never hide an edit, even one made in place on the same object."""

from __future__ import annotations

import json

import pytest

from engine import records
from engine.errors import DSLError
from engine.run import state as run_state
from engine.workflow_file import parse_workflow_text

FN = "tests.run.step_functions"


def _spec(word: str = "first"):
    return parse_workflow_text(
        f'name = "facts"\ndsl = "start->a; a->end;"\n[states.a]\naction = "python"\n'
        f'function = "{FN}:chatty"\nexecution = "inline"\nparams = {{ word = "{word}" }}\n'
    )


def _recorded_spec(store, execution_id: str) -> dict:
    store.flush()
    row = records.execution_as_stored(store, execution_id)
    return json.loads(row["options"])["_spec"]


def test_runs_of_one_spec_content_share_one_validation_and_dump(monkeypatch):
    spec = _spec()
    first = run_state.spec_facts(spec)
    assert run_state.spec_facts(spec) is first
    assert run_state.spec_facts(_spec()) is first  # another object with the same content
    assert first.dump == spec.model_dump(mode="json") and not first.report.errors
    assert run_state.spec_facts(_spec("other")) is not first
    monkeypatch.setattr(run_state, "SPEC_FACTS_TTL_S", 0.0)  # expired: validated again
    assert run_state.spec_facts(spec) is not first


def test_an_edit_in_place_is_recorded_and_validated_again(inline_engine, store):
    spec = _spec()
    res = inline_engine.run(spec, {})
    assert res.status == "completed", res.error
    assert _recorded_spec(store, res.execution_id)["states"]["a"]["params"] == {"word": "first"}

    spec.states["a"].params["word"] = "edited"  # the same object, changed in place
    res = inline_engine.run(spec, {})
    assert res.status == "completed", res.error
    assert res.final_context.get("said_edited") is True
    assert _recorded_spec(store, res.execution_id)["states"]["a"]["params"] == {"word": "edited"}

    spec.states["a"].function = "os:getcwd"  # now refused: a standard-library function
    with pytest.raises(DSLError, match="standard-library"):
        inline_engine.start(spec, {})
