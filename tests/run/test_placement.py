"""Adaptive placement of ``execution = "auto"`` states (engine/placement.py).

The old rule ran a state inline only after >= 5 recorded Ray runs of that very state, read through a
60-s cache per workflow version: a 200-way fan-out of one function never qualified, and nothing a
process measured counted for the next minute. These tests pin what replaced it: learning per state
and per function from the process's own measurements as they arrive (and from the records at start);
timeouts, llm/http and anything that blocked once stay on Ray."""

from __future__ import annotations

import pytest

from engine.placement import PlacementLearner, function_key
from engine.workflow_file import StateBinding, parse_workflow_text

FN = "tests.run.placement_functions"


def _py(function: str = "quick", **extra) -> StateBinding:
    return StateBinding(action="python", function=f"{FN}:{function}", execution="auto", **extra)


# ------------------------------------------------------------------ the learner itself (no Ray)
def test_branches_calling_one_function_share_what_is_learned():
    learner = PlacementLearner(cheap_ms=5, min_samples=3)
    b = _py()
    for s in ("s0", "s1", "s2"):  # one measurement each of three states
        assert not learner.is_cheap("wf", s, b)
        learner.observe("wf", s, b, 0.4, ok=True)
    # a state never run before, calling the same function, is already known to be cheap
    assert learner.is_cheap("wf", "s199", b)
    # the same function with other params is another function
    assert not learner.is_cheap("wf", "s199", _py(params={"n": 10}))
    assert function_key(_py(params={"n": 10})) != function_key(b)


def test_slow_or_failing_states_stay_on_ray_and_a_state_s_own_history_wins():
    learner = PlacementLearner(cheap_ms=5, min_samples=3)
    fast, slow = _py(), _py("sleepy", params={"seconds": 0.02})
    for i in range(5):
        learner.observe("wf", f"s{i}", slow, 21.0, ok=True)
        for _ in range(3):
            learner.observe("wf", f"f{i}", fast, 0.5, ok=True)
    assert learner.is_cheap("wf", "f9", fast) and not learner.is_cheap("wf", "s9", slow)
    # one state of the fast function turns out slow on its own (its context differs): it leaves, the
    # others stay, and a state new to the function goes by the function's typical call (still fast)
    for _ in range(3):
        learner.observe("wf", "f0", fast, 30.0, ok=True)
    assert not learner.is_cheap("wf", "f0", fast) and learner.is_cheap("wf", "f1", fast)
    assert learner.is_cheap("wf", "f9", fast)
    # a failure in the window: not cheap
    learner.observe("wf", "f1", fast, 0.5, ok=False)
    assert not learner.is_cheap("wf", "f1", fast)


def test_anything_that_blocked_once_is_pinned_to_ray():
    learner = PlacementLearner(cheap_ms=5, blocked_ms=50, min_samples=3)
    b = _py()
    for i in range(10):
        learner.observe("wf", f"s{i}", b, 0.3, ok=True)
    assert learner.is_cheap("wf", "s0", b)
    learner.observe("wf", "s3", b, 120.0, ok=True, inline=True)  # blocked a driver thread once
    for i in range(30):
        learner.observe("wf", f"s{i}", b, 0.3, ok=True)
    assert not learner.is_cheap("wf", "s3", b) and not learner.is_cheap("wf", "s4", b)
    # a timeout (or a lost worker) pins too, wherever it ran
    other = _py("sleepy")
    for i in range(5):
        learner.observe("wf", f"o{i}", other, 0.3, ok=True)
    learner.observe("wf", "o1", other, None, ok=False, blocked=True)
    assert not learner.is_cheap("wf", "o2", other)
    # a worker's slow first call (its imports) on Ray is only slow, not blocking
    warm = _py(params={"x": 1})
    learner.observe("wf", "w0", warm, 400.0, ok=True)
    for i in range(40):
        learner.observe("wf", f"w{i % 4}", warm, 0.3, ok=True)
    assert learner.is_cheap("wf", "w9", warm)


def test_timeouts_llm_http_and_pinned_executions_are_never_inlined():
    learner = PlacementLearner(cheap_ms=5, min_samples=1)
    for b in (
        _py(timeout_s=5),
        StateBinding(action="python", function=f"{FN}:quick", execution="ray"),
        StateBinding(action="llm", prompt="hi", execution="auto"),
        StateBinding(action="http", url="http://127.0.0.1/x", execution="auto"),
    ):
        for _ in range(5):
            learner.observe("wf", "s", b, 0.1, ok=True)
        assert not learner.is_cheap("wf", "s", b), b


def test_the_records_seed_the_learner_once_per_workflow():
    learner = PlacementLearner(cheap_ms=5, min_samples=3)
    fast, slow = _py(), _py("sleepy", params={"seconds": 0.5})
    rows = [{"from_state": "a", "n": 4, "p95": 0.8, "ok": True}, {"from_state": "b", "n": 4, "p95": 510.0, "ok": True}]
    assert learner.needs_seed("wf")
    learner.seed("wf", rows, {"a": fast, "b": slow})
    assert not learner.needs_seed("wf")
    assert learner.is_cheap("wf", "a", fast) and learner.is_cheap("wf", "z", fast)  # z: same function
    assert not learner.is_cheap("wf", "b", slow)
    learner.seed("wf", [{"from_state": "b", "n": 100, "p95": 0.1, "ok": True}], {"b": slow})  # once only
    assert not learner.is_cheap("wf", "b", slow)


# ------------------------------------------------------------------ the engine on a real Ray cluster
def _fan(n: int, *, sleepy_seconds: float | None = None, timeout_state: bool = False):
    names = [f"b{i}" for i in range(n)]
    text = f'name = "fan"\ndsl = "start->[{",".join(names)}]; [{",".join(names)}]->end;"\n'
    for i, s in enumerate(names):
        text += f'[states.{s}]\naction = "python"\nexecution = "auto"\n'
        if sleepy_seconds is not None and i == 0:
            text += f'function = "{FN}:sleepy"\nparams = {{ seconds = {sleepy_seconds} }}\n'
        else:
            text += f'function = "{FN}:quick"\n'
        if timeout_state and i == 1:
            text += "timeout_s = 30\n"
    return parse_workflow_text(text)


def _placed(store, execution_id: str) -> dict[str, str]:
    store.flush()
    rows = store.query(
        "SELECT from_state, executed_on FROM state_transitions WHERE execution_id = ? AND from_state LIKE 'b%'",
        [execution_id],
    )
    return {r["from_state"]: r["executed_on"] for r in rows}


@pytest.mark.ray
def test_auto_runs_a_new_fan_out_inline_from_its_second_run(engine, store):
    """Run 1 measures every branch on Ray; run 2, seconds later, runs them inline — except the state with
    a timeout (a driver thread cannot be killed). The old 60-s cache and >= 5 runs per state kept run 2
    (and the next four) entirely on Ray."""
    engine._placement = PlacementLearner(cheap_ms=100, blocked_ms=2_000)  # generous: a loaded machine
    spec = _fan(8, timeout_state=True)
    first = engine.run(spec, {})
    assert first.status == "completed", first.error
    assert set(_placed(store, first.execution_id).values()) == {"ray"}
    second = engine.run(spec, {})
    assert second.status == "completed", second.error
    placed = _placed(store, second.execution_id)
    assert placed.pop("b1") == "ray"
    assert set(placed.values()) == {"inline"}, placed


@pytest.mark.ray
def test_a_state_that_blocked_inline_once_goes_back_to_ray_for_good(engine, store):
    """The sleepy branch counts as cheap on Ray (thresholds set so), runs inline, blocks a driver thread
    once there: from then on it runs on Ray, while its quick siblings stay inline."""
    engine._placement = PlacementLearner(cheap_ms=400, blocked_ms=250)
    spec = _fan(4, sleepy_seconds=0.3)  # on Ray it is 'cheap' (< 400 ms), inline it blocks (>= 250 ms)
    first = engine.run(spec, {})
    assert first.status == "completed", first.error
    for _ in range(3):  # the sleepy function needs its own min_samples on Ray
        res = engine.run(spec, {})
        assert res.status == "completed", res.error
        if _placed(store, res.execution_id)["b0"] == "inline":
            break
    assert _placed(store, res.execution_id)["b0"] == "inline"  # learned cheap on Ray, then it blocked inline
    later = engine.run(spec, {})
    assert later.status == "completed", later.error
    placed = _placed(store, later.execution_id)
    assert placed.pop("b0") == "ray"
    assert set(placed.values()) == {"inline"}, placed
