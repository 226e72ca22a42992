"""The fan-in merge rule (engine.merge): token order, conflicts, and the runner, the History replay
(context_steps) and the optimizer (state_inputs) agreeing on a real run with conflicting branches."""

from __future__ import annotations

import json
import math

import pytest

from engine import api, merge
from engine import optimizer as O
from engine.merge import Branch, ContextReplay, merge_branches
from engine.workbench import runs
from engine.workflow_file import parse_workflow_text


# --------------------------------------------------------------------------------- token ids
def test_tokens_are_ordered_numerically_by_component():
    tokens = ["0.1-10", "0.1-2", "0", "0.1-1", "0.2-1", "0.1-2.1-10", "0.1-2.1-9", "0.1-2~comp", "0.1-11"]
    assert merge.sort_tokens(tokens) == [
        "0",
        "0.1-1",
        "0.1-2",
        "0.1-2~comp",
        "0.1-2.1-9",
        "0.1-2.1-10",
        "0.1-10",
        "0.1-11",
        "0.2-1",
    ]
    assert merge.token_sort_key("0.1-2") < merge.token_sort_key("0.1-10")  # not as text
    assert merge.token_sort_key("0.9-1") < merge.token_sort_key("0.10-1")
    assert runs.token_sort_key("0.1-2") < runs.token_sort_key("0.1-10")  # the app's timeline uses the same order


def test_token_ids_parents_and_positions():
    assert merge.branch_token("0", 1, 12) == "0.1-12"
    assert merge.branch_token("0.1-12", 3, 2) == "0.1-12.3-2"
    assert merge.parent_token("0.1-12.3-2") == "0.1-12"
    assert merge.parent_token("0.1-12") == "0"
    assert merge.parent_token("0") is None
    assert merge.parent_token("0.1-2~comp") == "0.1-2"
    assert merge.branch_position("0.1-12.3-2") == (3, 2)
    assert merge.branch_position("0.1-2~comp") is None and merge.branch_position("0") is None


# --------------------------------------------------------------------------------- the rule
def _branches(values: dict[int, object], n: int = 12, key: str = "pick") -> list[Branch]:
    out = []
    for i in range(1, n + 1):
        ctx = {"base": 1, f"own{i}": i}
        written = [f"own{i}"]
        if i in values:
            ctx[key] = values[i]
            written.append(key)
        out.append(Branch(f"b{i}", ctx, written))
    return out


def test_first_branch_in_branch_order_wins_and_every_value_is_listed():
    res = merge_branches({"base": 1}, _branches({10: "ten", 2: "two", 11: "eleven"}))
    assert res.context["pick"] == "two"
    assert res.conflicts == {"pick": {"b2": "two", "b10": "ten", "b11": "eleven"}}
    assert list(res.context["_conflicts"]["pick"]) == ["b2", "b10", "b11"]  # branch order
    assert all(res.context[f"own{i}"] == i for i in range(1, 13))
    assert res.context["all_ok"] is True and res.context["any_failed"] is False
    assert list(res.context["branch_status"]) == [f"b{i}" for i in range(1, 13)]


def test_equal_values_are_no_conflict_even_after_a_json_round_trip():
    res = merge_branches({}, _branches({3: (1, 2), 7: [1, 2]}))
    assert res.conflicts == {} and "_conflicts" not in res.context and res.context["pick"] == (1, 2)
    res = merge_branches({}, _branches({3: math.nan, 7: math.nan}))
    assert res.conflicts == {}


def test_unwritten_keys_failed_branches_and_inherited_conflicts():
    base = {"pick": "base", "_conflicts": {"older": {"x": 1, "y": 2}}}
    branches = [
        Branch("a", {"pick": "changed-but-not-written", "k": 1}, ["k"], "completed"),
        Branch("b", {"pick": "base", "k": 2}, ["k"], "failed"),
    ]
    res = merge_branches(base, branches)
    assert res.context["pick"] == "base"  # only written keys are merged
    assert res.context["k"] == 1 and res.conflicts == {"k": {"a": 1, "b": 2}}
    assert res.context["_conflicts"] == {"older": {"x": 1, "y": 2}, "k": {"a": 1, "b": 2}}
    assert res.context["any_failed"] is True and res.context["all_ok"] is False
    assert res.context["branch_status"] == {"a": "completed", "b": "failed"}


def _rows_for_conflicting_join(order: list[int]) -> list[dict]:
    """Recorded rows of `f->[b1..b12]; [b1..b12]->j`, the branch rows in the given time order."""
    rows = [
        {"token": "0", "from_state": "start", "status": "completed", "context_snapshot": "{}"},
        {"token": "0", "from_state": "f", "status": "completed", "context_snapshot": json.dumps({"a": 1})},
    ]
    values = {2: "two", 10: "ten", 11: "eleven"}
    for i in order:
        upd = {f"own{i}": i, **({"pick": values[i]} if i in values else {})}
        rows.append(
            {"token": f"0.1-{i}", "from_state": f"b{i}", "status": "completed", "context_snapshot": json.dumps(upd)}
        )
    status = {f"b{i}": "completed" for i in range(1, 13)}
    rows.append(
        {
            "token": "0",
            "from_state": "[" + ",".join(f"b{i}" for i in range(1, 13)) + "]",
            "status": "join",
            "context_snapshot": json.dumps({"all_ok": True, "any_failed": False, "branch_status": status}),
        }
    )
    return rows


@pytest.mark.parametrize("order", [list(range(1, 13)), list(range(12, 0, -1)), [10, 11, 1, 2, 3, 12, 4, 5, 6, 7, 8, 9]])
def test_replay_merges_in_branch_order_whatever_the_record_order(order):
    replay = ContextReplay({"init": True})
    for r in _rows_for_conflicting_join(order):
        replay.apply(r)
    ctx = replay.context("0")
    assert ctx["pick"] == "two"
    assert ctx["_conflicts"] == {"pick": {"b2": "two", "b10": "ten", "b11": "eleven"}}
    assert ctx["init"] is True and ctx["a"] == 1 and ctx["own12"] == 12
    assert replay.tokens() == ["0"]  # the branches are joined
    steps = runs.context_steps({"init": True}, _rows_for_conflicting_join(order))
    assert steps[-1]["context"] == ctx


def test_nested_joins_and_fallback_errors_replay_like_the_runner():
    rows = [
        {"token": "0", "from_state": "f", "status": "completed", "context_snapshot": "{}"},
        {"token": "0.1-1", "from_state": "p", "status": "completed", "context_snapshot": '{"x": 1}'},
        {
            "token": "0.1-1.1-2",
            "from_state": "q2",
            "status": "fallback",
            "error_type": "ValueError",
            "error_message": "bad data",
            "context_snapshot": "{}",
        },
        {"token": "0.1-1.1-1", "from_state": "q1", "status": "failed", "error_type": "ValueError"},
        {"token": "0.1-1.1-1", "from_state": "q1", "status": "completed", "context_snapshot": '{"y": "q1"}'},
        {"token": "0.1-1", "from_state": "[q1,h]", "status": "join", "context_snapshot": '{"all_ok": true}'},
        {"token": "0.1-2", "from_state": "r", "status": "completed", "context_snapshot": '{"x": 2}'},
        {"token": "0", "from_state": "[p,r]", "status": "join", "context_snapshot": '{"all_ok": true}'},
    ]
    replay = ContextReplay()
    for r in rows:
        replay.apply(r)
    ctx = replay.context("0")
    assert ctx["x"] == 1 and ctx["y"] == "q1"
    assert ctx["error"] == {"state": "q2", "type": "ValueError", "message": "bad data", "class": "data"}
    assert ctx["_conflicts"] == {"x": {"p": 1, "r": 2}}
    assert ctx["branch_status"] == {"p": "completed", "r": "completed"}


# --------------------------------------------------------------------------------- a real run
N_BRANCHES = 12
# the branches that write `pick`: b2 is first only in numeric order ("0.1-10" < "0.1-2" as text), and a
# last-writer-wins over text order would pick b5
PICKS = {2: 2, 5: 5, 10: 10}


def _conflicting_workflow() -> str:
    names = [f"b{i}" for i in range(1, N_BRANCHES + 1)]
    group = ",".join(names)
    states = []
    for i, s in enumerate(names, start=1):
        key, amount = ("pick", PICKS[i]) if i in PICKS else (f"own{i}", i)
        states.append(
            f'[states.{s}]\naction = "python"\nfunction = "tests.engine.functions:add"\n'
            f'params = {{ amount = {amount}, key = "{key}" }}\nexecution = "ray"\n'
        )
    states.append(
        '[states.after]\naction = "python"\nfunction = "tests.engine.functions:add"\n'
        'params = { amount = 0, key = "pick" }\nexecution = "ray"\n'
    )
    return (
        f'name = "conflicting-branches"\n'
        f'dsl = "start->fork; fork->[{group}]; [{group}]->after; after->end;"\n' + "\n".join(states)
    )


@pytest.mark.ray
def test_conflicting_branches_agree_in_run_history_replay_and_optimizer(engine):
    store = engine.store
    spec = parse_workflow_text(_conflicting_workflow())
    wid, ver = api.ensure_version(spec, store)
    res = engine.run(spec, {"seed": 1}, workflow_id=wid, version=ver)
    assert res.status == "completed", res.error
    final = res.final_context
    assert final["pick"] == 2  # branch b2 is before b5 and b10 in branch order
    assert final["_conflicts"] == {"pick": {"b2": 2, "b5": 5, "b10": 10}}
    assert final["branch_status"] == {f"b{i}": "completed" for i in range(1, N_BRANCHES + 1)}
    assert all(final[f"own{i}"] == i for i in range(1, N_BRANCHES + 1) if i not in PICKS)
    tokens = store.query(
        "SELECT DISTINCT token FROM state_transitions WHERE execution_id = ? AND token <> '0'", [res.execution_id]
    )
    assert {r["token"] for r in tokens} == {merge.branch_token("0", 1, i) for i in range(1, N_BRANCHES + 1)}
    warn = store.query(
        "SELECT message FROM audit_logs WHERE execution_id = ? AND event_type = 'merge_conflict'", [res.execution_id]
    )
    assert len(warn) == 1 and "pick" in warn[0]["message"]

    # the History replay rebuilds the same context, step by step
    steps = runs.context_steps({"seed": 1}, runs.transitions(store, res.execution_id))
    join = [s for s in steps if s["status"] == "join"]
    assert len(join) == 1
    assert join[0]["context"]["pick"] == 2 and join[0]["context"]["_conflicts"] == final["_conflicts"]
    assert steps[-1]["context"] == final

    # the optimizer sees the value the next state really read
    rows = [r for r in O.state_inputs(store, wid, ver) if r["execution_id"] == res.execution_id]
    after = [r for r in rows if r["state"] == "after"]
    assert len(after) == 1 and after[0]["input_hash"] == O._hash({"pick": 2})


def test_a_failed_branch_takes_the_conditional_join_and_the_replay_agrees(inline_engine):
    spec = parse_workflow_text("""
name = "failed-branch"
dsl = "start->[a,bad,c]; [a,bad,c]->alert:any_failed==True; [a,bad,c]->done; alert->end; done->end;"
[states.a]
action = "python"
function = "tests.engine.functions:add"
params = { amount = 1, key = "v" }
[states.c]
action = "python"
function = "tests.engine.functions:add"
params = { amount = 3, key = "v" }
[states.bad]
action = "python"
function = "tests.engine.functions:fail_with"
on_error = "abort"
""")
    res = inline_engine.run(spec, {})
    assert res.status == "completed", res.error
    assert "alert" in res.states_visited and "done" not in res.states_visited
    final = res.final_context
    assert final["branch_status"] == {"a": "completed", "bad": "failed", "c": "completed"}
    assert final["any_failed"] is True and final["all_ok"] is False
    assert final["v"] == 1 and final["_conflicts"] == {"v": {"a": 1, "c": 3}}
    steps = runs.context_steps({}, runs.transitions(inline_engine.store, res.execution_id))
    assert steps[-1]["context"] == final


def _add_state(name: str, key: str, amount: int) -> str:
    return (
        f'[states.{name}]\naction = "python"\nfunction = "tests.engine.functions:add"\n'
        f'params = {{ amount = {amount}, key = "{key}" }}\n'
    )


def test_nested_fan_outs_keep_every_conflict_and_the_replay_agrees(inline_engine):
    spec = parse_workflow_text(
        'name = "nested"\ndsl = "start->f; f->[p,r]; p->[q1,q2]; [q1,q2]->pj; [pj,r]->done; done->end;"\n'
        + _add_state("q1", "x", 1)
        + _add_state("q2", "x", 2)
        + _add_state("r", "x", 3)
        + _add_state("pj", "y", 5)
    )
    res = inline_engine.run(spec, {"n": 0})
    assert res.status == "completed", res.error
    final = res.final_context
    assert final["x"] == 1 and final["y"] == 5
    # the inner join's conflict (q1, q2) and the outer one (branch p carried q1's 1, r wrote 3)
    assert final["_conflicts"] == {"x": {"q1": 1, "q2": 2, "p": 1, "r": 3}}
    trans = runs.transitions(inline_engine.store, res.execution_id)
    assert {t["token"] for t in trans} == {"0", "0.1-1", "0.1-2", "0.1-1.1-1", "0.1-1.1-2"}
    assert runs.context_steps({"n": 0}, trans)[-1]["context"] == final
