"""The advisor on records written by the real runner (inline, and on the session's Ray cluster)."""

from __future__ import annotations

import pytest

from engine import library
from engine import optimizer as O
from engine.runner import RunOptions
from engine.workflow_file import parse_workflow_text

TOML = '''
name = "Runner records"
dsl = """
start->first;
first->second;
second->slow_a;
slow_a->slow_b;
slow_b->end;
"""
[states.first]
action = "python"
function = "tests.engine.functions:add"
params = { amount = 2, key = "total" }
[states.second]
action = "python"
function = "tests.engine.functions:add"
params = { amount = 3, key = "total" }
[states.slow_a]
action = "python"
function = "tests.engine.functions:sleep_and_mark"
params = { seconds = SLEEP, key = "a" }
[states.slow_b]
action = "python"
function = "tests.engine.functions:sleep_and_mark"
params = { seconds = SLEEP, key = "b" }
'''


def _spec(sleep: float):
    return parse_workflow_text(TOML.replace("SLEEP", str(sleep)))


def test_inline_records_prove_the_dependency(store, inline_engine):
    spec = _spec(0.01)
    wid, ver = library.save_workflow(store, spec)
    for _ in range(3):
        res = inline_engine.run(spec, {}, RunOptions(execution="inline"), workflow_id=wid, version=ver)
        assert res.status == "completed"
    io = O.state_io(store, wid, ver)
    assert io["second"].reads == {"total"} and io["first"].writes == {"total"}  # recorded by the runner
    rep = O.analyze(store, wid, slots=2, llm=False)
    reasons = {(n["first"], n["second"]): n["reason"] for n in rep.not_suggested}
    assert "reads total written by 'first'" in reasons[("first", "second")]
    # states run inline (driver threads) are counted as serial: no parallel gain is predicted for them
    assert not [s for s in rep.suggestions if s.kind == "parallelize"]


def _warm_two_workers(engine):
    """Ray starts worker processes lazily: until a second one exists, 'parallel' states queue."""
    from engine.workflow_file import StateBinding, WorkflowSpec

    b = StateBinding(
        action="python", function="tests.engine.functions:sleep_and_mark", execution="ray", params={"seconds": 0.2}
    )
    warm = WorkflowSpec(name="warm", dsl="start->[w1,w2];\n[w1,w2]->end;\n", states={"w1": b, "w2": b})
    for _ in range(2):
        engine.run(warm, {}, workflow_id="warm", version=1)


@pytest.mark.ray
def test_parallel_suggestion_on_ray_is_applied_and_faster(store, engine):
    _warm_two_workers(engine)
    spec = _spec(0.3)
    wid, v1 = library.save_workflow(store, spec)
    for _ in range(4):  # the first run may pay for a worker start
        assert engine.run(spec, {}, workflow_id=wid, version=v1).status == "completed"
    rep = O.analyze(store, wid, slots=2, llm=False)
    par = [s for s in rep.suggestions if s.kind == "parallelize"]
    assert [s.proposed_changes["states"] for s in par] == [["second", "slow_a", "slow_b"]]
    assert 250 <= par[0].gain_ms <= 400  # 0.3 + 0.3 + a few ms in sequence; the two sleeps overlap on 2 slots
    out = O.accept(store, par[0].id)
    spec2, _ = library.get_workflow(store, wid, out["version"])
    assert "second->[" not in spec2.dsl and "first->[second,slow_a,slow_b];" in spec2.dsl
    for _ in range(3):
        res = engine.run(spec2, {}, workflow_id=wid, version=out["version"])
        assert res.status == "completed" and res.final_context["total"] == 5
    cmp = O.compare_versions(store, wid, v1, out["version"], min_runs=3)
    assert cmp["speedup"] > 1.15
    assert "n = 4 vs 3" in cmp["statement"]
