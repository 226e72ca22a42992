"""The advisor on recorded fixture runs: parallelization proven from keys, dependent pairs refused,
reliability, caching, LLM cost, records, accepting, comparing versions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import library
from engine import optimizer as O
from engine.dsl.parser import parse_condition
from engine.workflow_file import WorkflowSpec, parse_workflow_text
from tests.analytics.conftest import D1, GAMMA_TOML, record_gamma
from tests.analytics.recorder import Recorder


def by_kind(report, kind):
    return [s for s in report.suggestions if s.kind == kind]


# --- parallelization --------------------------------------------------------------------------


def test_chain_and_segments(store, gamma):
    chains = O.find_chains(gamma["spec"])
    assert [c.states for c in chains] == [["a", "b", "c", "d", "e"]]
    assert chains[0].entry.source == "start" and chains[0].exit.target == "end"
    io = O.state_io(store, gamma["wid"], gamma["version"])
    assert io["b"].reads == {"x"} and io["a"].writes == {"x"} and io["b"].runs == 4
    segs, notes = O.segments(chains[0], io)
    assert segs == [["a"], ["b", "c", "d"], ["e"]]
    assert [(n["first"], n["second"]) for n in notes] == [("a", "b"), ("c", "e")]
    assert "reads x written by 'a'" in notes[0]["reason"]


def test_parallel_suggestion_with_predicted_gain_and_dsl(store, gamma):
    rep = O.analyze(store, "Gamma", slots=2, llm=False)
    par = by_kind(rep, "parallelize")
    assert len(par) == 1
    s = par[0]
    assert s.proposed_changes["states"] == ["b", "c", "d"]
    assert s.proposed_changes["add_parallel_group"] == {"states": ["b", "c", "d"], "fork_from": "a", "join_at": "e"}
    assert s.proposed_changes["dsl"] == "start->a;\na->[b,c,d];\n[b,c,d]->e;\ne->end;\n"
    # per run: 500 + 500 + 500 sequential; on 2 slots the makespan is 1000
    assert s.evidence["prediction"] == {
        "runs": 4,
        "sequential_ms": 1500.0,
        "parallel_ms": 1000.0,
        "gain_ms": 500.0,
        "slots": 2,
    }
    assert s.estimated_improvement == round(100 * 500 / 1900, 1)
    assert s.optimization_type == "performance" and s.automatic
    # the dependent pairs are reported, never grouped
    for sugg in par:
        states = set(sugg.proposed_changes["states"])
        assert not {"a", "b"} <= states and not {"c", "e"} <= states
    assert {(n["first"], n["second"]) for n in rep.not_suggested} >= {("a", "b"), ("c", "e")}
    # three slots run all three at once
    rep3 = O.analyze(store, "Gamma", slots=3, llm=False, save=False)
    assert by_kind(rep3, "parallelize")[0].gain_ms == 1000.0


def _io(name, reads=(), writes=(), unknown=0):
    return O.StateIO(name, runs=5, completions=5, reads=set(reads), writes=set(writes), unknown=unknown)


def test_dependency_rules():
    a = _io("a", writes={"total", "status"})
    assert O.dependency(a, _io("b", reads={"total"})) == "'b' reads total written by 'a'"
    assert O.dependency(a, _io("b", writes={"status"})) == "both write status"
    assert O.dependency(a, _io("b", reads={"other"}, writes={"x"})) is None
    # reading a key the later state writes is fine: branches start from a copy of the context
    assert O.dependency(_io("a", reads={"x"}), _io("b", writes={"x"})) is None
    cond = parse_condition("status=='ok'")
    assert "reads status" in O.dependency(a, _io("b"), (cond,))
    assert O.dependency(a, _io("b"), (parse_condition("order.total>5"),)) is None
    assert "natural-language" in O.dependency(a, _io("b"), (parse_condition('"looks fine"'),))
    assert "not recorded" in O.dependency(a, _io("b", unknown=1))


def test_chains_stop_at_conditions_groups_approvals_and_merges():
    spec = parse_workflow_text('''
name = "shapes"
dsl = """
start->a;
a->b:flag==True;
a->end;
b->c;
c->d;
d->[p,q];
[p,q]->r;
r->s;
s->ok;
ok->x:approved==False;
ok->t;
t->ok2;
ok2->end;
x->t;
"""
[states.ok]
action = "approval"
''')
    chains = O.find_chains(spec)
    # a has a condition (not plain); b..d is a chain whose last state d fans out -> d excluded;
    # p, q are branches; r is entered by a fan-in; ok is an approval; t has two ways in
    assert [c.states for c in chains] == [["b", "c"], ["s"], ["x"], ["ok2"]]
    assert chains[0].entry.condition.text == "flag==True"
    dsl = O.parallel_dsl(spec, ["b", "c"])
    assert "a->[b,c]:flag==True;" in dsl and "[b,c]->d;" in dsl and "b->c;" not in dsl
    with pytest.raises(O.OptimizerError, match="no longer consecutive"):
        O.parallel_dsl(spec, ["c", "d"])


def test_predicted_gain_counts_inline_states_as_serial():
    rows = [
        {"execution_id": "e1", "token": "0", "visit": 0, "from_state": s, "ms": ms, "executed_on": on}
        for s, ms, on in (("b", 400, "ray"), ("c", 300, "ray"), ("d", 200, "inline"))
    ]
    pred = O.predict_parallel_gain(rows, ["b", "c", "d"], slots=4)
    assert pred["sequential_ms"] == 900 and pred["parallel_ms"] == 600 and pred["gain_ms"] == 300
    assert O.predict_parallel_gain(rows[:2], ["b", "c", "d"], 4)["runs"] == 0  # d missing: not counted


def test_not_enough_runs(store):
    spec = parse_workflow_text(GAMMA_TOML)
    wid, ver = library.save_workflow(store, spec)
    rec = Recorder(store)
    record_gamma(store, rec, wid, ver, spec, n_runs=2)
    rec.write()
    rep = O.analyze(store, "Gamma", slots=2, llm=False)
    assert rep.score is None and not by_kind(rep, "parallelize")
    assert "Not enough runs" in rep.notes[0] and "2 finished run(s)" in rep.notes[0]


def test_small_gain_is_not_suggested(store):
    spec = parse_workflow_text(GAMMA_TOML)
    wid, ver = library.save_workflow(store, spec)
    rec = Recorder(store)
    record_gamma(store, rec, wid, ver, spec, durations={"b": 5, "c": 5, "d": 5})
    rec.write()
    rep = O.analyze(store, "Gamma", slots=2, llm=False)
    assert not by_kind(rep, "parallelize")
    assert any("too small" in n["reason"] for n in rep.not_suggested)


# --- reliability -------------------------------------------------------------------------------


def test_retry_and_timeout_suggestions(store, delta):
    rep = O.analyze(store, "Delta", slots=2, llm=False)
    retry = by_kind(rep, "retry")[0]
    # attempts 14, failed 3: p = 3/14; smallest k with p^k <= 1% is 3
    assert retry.proposed_changes["retry"] == {"max_attempts": 3, "backoff_s": 0.5, "backoff_factor": 2.0}
    assert retry.evidence["attempts"] == 14 and retry.evidence["failed_attempts"] == 3
    assert retry.evidence["visits"] == 12 and retry.evidence["visits_failed_after_recovery"] == 1
    p = 3 / 14
    assert retry.success_gain == pytest.approx((1 / 12 - p**3) * 100)
    assert retry.estimated_improvement == round((1 / 12 - p**3) * 100, 1)
    timeout = by_kind(rep, "timeout")[0]
    # completions 100..200 ms: p99 = 190 + 0.9*10 = 199; max(2*199, 199+1000, 1.2*200) = 1199 ms -> 2 s
    assert timeout.evidence["p99_ms"] == 199.0 and timeout.evidence["max_ms"] == 200.0
    assert timeout.proposed_changes["timeout_s"] == 2.0
    assert not by_kind(rep, "cache_state")  # same (no) inputs, different outputs: not deterministic
    assert rep.score_components["S_success_rate"] == round(11 / 12, 4)


def test_data_errors_get_an_error_path_not_retries(store, alpha):
    rep = O.analyze(store, "Alpha", slots=2, llm=False)
    fix = by_kind(rep, "fix_errors")
    assert [s.proposed_changes["state"] for s in fix] == ["parse"]
    assert fix[0].estimated_improvement == 20.0  # 1 of 5 finished runs stopped there
    assert not by_kind(rep, "retry")  # fetch failed once only; parse's errors are data errors
    assert not fix[0].automatic


# --- caching -----------------------------------------------------------------------------------


def test_state_inputs_replay_and_cache_suggestion(store, gamma):
    rows = O.state_inputs(store, gamma["wid"], gamma["version"])
    d = [r for r in rows if r["state"] == "d"]
    assert len(d) == 4 and len({r["input_hash"] for r in d}) == 2  # q = 1, 1, 2, 1
    b = [r for r in rows if r["state"] == "b"]
    assert len({r["input_hash"] for r in b}) == 1  # x = 1 every run (written by a)
    rep = O.analyze(store, "Gamma", slots=2, llm=False)
    cache = by_kind(rep, "cache_state")
    assert [s.proposed_changes["state"] for s in cache] == ["d"]  # b and c return different outputs
    assert cache[0].evidence["repeat_calls"] == 2 and cache[0].evidence["saved_ms_total"] == 1000.0
    assert cache[0].gain_ms == 250.0 and cache[0].proposed_changes["cache_key"] == ["q"]


def test_state_inputs_follow_branch_tokens(store):
    spec = parse_workflow_text("start->f;\nf->[p,q];\n[p,q]->j;\nj->end;\n", fmt="dsl")
    spec.name = "Forky"
    wid, ver = library.save_workflow(store, spec)
    rec = Recorder(store)
    t0 = D1
    rec.execution("F1", wid=wid, name="Forky", start=t0, duration_ms=100, spec=spec, initial_context={"k": 1})
    rec.step("F1", "f", wid=wid, start=t0, ms=1, to="[p,q]", updates={"a": 1})
    rec.step(
        "F1", "p", wid=wid, start=t0 + timedelta(milliseconds=2), ms=1, token="0.1-1", reads=["a"], updates={"pv": 2}
    )
    rec.step(
        "F1",
        "q",
        wid=wid,
        start=t0 + timedelta(milliseconds=3),
        ms=1,
        token="0.1-2",
        reads=["pv", "k"],
        updates={"qv": 3},
    )
    rec.step(
        "F1",
        "[p,q]",
        wid=wid,
        start=t0 + timedelta(milliseconds=5),
        ms=0,
        status="join",
        to="j",
        updates={"all_ok": True},
    )
    rec.step("F1", "j", wid=wid, start=t0 + timedelta(milliseconds=6), ms=1, reads=["pv", "qv"], updates={})
    rec.write()
    rows = {r["state"]: r for r in O.state_inputs(store, wid, ver)}
    assert rows["p"]["input_hash"] == O._hash({"a": 1})
    assert rows["q"]["input_hash"] == O._hash({"k": 1, "pv": O._MISSING})  # a sibling's write is not visible
    assert rows["j"]["input_hash"] == O._hash({"pv": 2, "qv": 3})  # merged at the join


# --- LLM ---------------------------------------------------------------------------------------


def test_llm_suggestions(store, alpha):
    rec = Recorder(store)
    for eid in ("E1", "E2"):  # the same question about the same context, asked twice
        rec.decision(eid, wid=alpha["wid"], at=D1, decided_by="ai", confidence=70, context_hash="same-ctx")
    rec.write()
    rep = O.analyze(store, "Alpha", slots=2, llm=False)
    cache = by_kind(rep, "llm_cache")[0]
    assert cache.evidence["repeated_decisions"] == 1
    # decision calls not from the cache: 0.01 + 0.02 + 0.03 over 3 calls -> 0.02 per call
    assert cache.cost_saving_usd == pytest.approx(0.02)
    assert cache.estimated_improvement == round(100 * 0.02 / 0.06, 1)
    model = by_kind(rep, "llm_model")[0]
    assert model.proposed_changes["model"] == {"from": "gpt-4o", "to": "gpt-4o-mini"}
    # 300 prompt + 60 completion tokens at gpt-4o-mini prices (0.15 / 0.60 per 1M)
    assert model.evidence["cost_with_cheaper_usd"] == pytest.approx((300 * 0.15 + 60 * 0.60) / 1e6)
    assert rep.score_components["C_avoidable_llm_cost_share"] == 1.0  # capped


# --- records, accepting, comparing -------------------------------------------------------------


def test_records_are_saved_once_and_keep_decisions(store, gamma):
    rep = O.analyze(store, "Gamma", slots=2, llm=False)
    n = len(rep.suggestions)
    assert len(O.list_records(store, gamma["wid"])) == n
    O.analyze(store, "Gamma", slots=2, llm=False)  # same evidence: nothing new
    assert store.query("SELECT count(*) AS n FROM optimization_records_history")[0]["n"] == n
    cache = by_kind(rep, "cache_state")[0]
    assert O.reject(store, cache.id)["status"] == "rejected"
    rep2 = O.analyze(store, "Gamma", slots=2, llm=False)
    assert by_kind(rep2, "cache_state")[0].status == "rejected"  # not reset to 'suggested'
    rec = O.get_record(store, cache.id[:6])  # a prefix is enough
    assert rec["status"] == "rejected" and rec["evidence"]["repeat_calls"] == 2


def test_accept_creates_a_new_version(store, gamma):
    rep = O.analyze(store, "Gamma", slots=2, llm=False)
    par = by_kind(rep, "parallelize")[0]
    out = O.accept(store, par.id)
    assert out["status"] == "implemented" and out["version"] == 2
    spec, meta = library.get_workflow(store, gamma["wid"])
    assert meta["version"] == 2 and spec.dsl == par.proposed_changes["dsl"]
    assert spec.states.keys() == gamma["spec"].states.keys()  # bindings kept
    rec = O.get_record(store, par.id)
    assert rec["status"] == "implemented" and rec["implemented_version"] == 2 and rec["implemented_at"]
    assert O.accept(store, par.id)["message"].startswith("already implemented")
    manual = by_kind(rep, "cache_state")[0]
    res = O.accept(store, manual.id)
    assert res["status"] == "accepted" and res["version"] is None
    assert library.get_workflow(store, gamma["wid"])[1]["version"] == 2  # no version for a manual change


def test_accept_retry_and_timeout_change_bindings(store, delta):
    rep = O.analyze(store, "Delta", slots=2, llm=False)
    O.accept(store, by_kind(rep, "retry")[0].id)
    O.accept(store, by_kind(rep, "timeout")[0].id)
    spec, meta = library.get_workflow(store, delta["wid"])
    assert meta["version"] == 3  # one version per accepted change, each on top of the latest
    assert spec.states["call"].retry.max_attempts == 3 and spec.states["call"].timeout_s == 2.0


def test_a_parallel_change_applies_to_its_analysed_version_after_a_later_edit(store, gamma):
    rep = O.analyze(store, "Gamma", slots=2, llm=False)
    par = by_kind(rep, "parallelize")[0]
    changed = gamma["spec"].model_dump(mode="json")
    changed["dsl"] = "start->a;\na->b;\nb->c:x>1;\nb->d;\nc->d;\nd->e;\ne->end;\n"  # b is conditional now
    library.save_workflow(store, WorkflowSpec.model_validate(changed), workflow_id=gamma["wid"])
    # the suggestion was made for v1: it is applied to v1 (issue 15), never to the later v2
    out = O.accept(store, par.id)
    assert out["built_from"] == 1 and out["version"] == 3
    assert library.get_workflow(store, gamma["wid"], 3)[0].dsl == par.proposed_changes["dsl"]


def _versions_runs(store, wid, durations_by_version, status_by_version=None):
    rec = Recorder(store)
    for ver, durs in durations_by_version.items():
        for i, d in enumerate(durs):
            status = (status_by_version or {}).get(ver, {}).get(i, "completed")
            rec.execution(
                f"V{ver}-{i}",
                wid=wid,
                name="Gamma",
                version=ver,
                status=status,
                start=D1 + timedelta(days=ver, minutes=i),
                duration_ms=d,
            )
    rec.write()


def test_compare_versions_significant(store, gamma):
    rep = O.analyze(store, "Gamma", slots=2, llm=False)
    par = by_kind(rep, "parallelize")[0]
    O.accept(store, par.id)
    # replace v1's fixture runs' durations with a spread: new ids, so v1 has 4 + 5 runs
    _versions_runs(store, gamma["wid"], {1: [1900, 1910, 1920, 1930, 1940], 2: [1400, 1410, 1420, 1430, 1440]})
    cmp = O.compare_versions(store, gamma["wid"], 1, 2)
    # v1: four runs of 1900 plus 1900..1940 -> median 1900; v2 median 1420
    assert cmp["a"]["median_ms"] == 1900 and cmp["b"]["median_ms"] == 1420
    assert cmp["duration_change_pct"] == round(100 * (1420 - 1900) / 1900, 2)
    t = cmp["duration_test"]
    assert t["method"] == "normal"  # v1 has ties (1900 five times)
    assert t["u"] == 45 and t["p_value"] < 0.01  # every v1 run slower than every v2 run: U = 9 * 5
    assert "significant at the 5% level" in cmp["statement"] and "n = 9 vs 5" in cmp["statement"]
    assert "Fisher's exact p = 1.000" in cmp["statement"]
    meas = O.record_actual_improvement(store, par.id)
    rec = O.get_record(store, par.id)
    assert rec["actual_improvement"] == pytest.approx(-cmp["duration_change_pct"])
    assert rec["status"] == "implemented" and rec["evidence"]["measured"]["n_b"] == 5
    assert meas["estimated_improvement"] == par.estimated_improvement


def test_compare_exact_and_not_enough_runs(store, gamma):
    wid = gamma["wid"]
    _versions_runs(
        store, wid, {5: [1900, 1910, 1920, 1930, 1940], 6: [1400, 1410, 1420, 1430, 1440], 7: [1000, 1010, 1020]}
    )
    cmp = O.compare_versions(store, wid, 5, 6)
    assert cmp["duration_test"]["method"] == "exact"
    assert cmp["duration_test"]["p_value"] == pytest.approx(2 / 252)
    assert cmp["speedup"] == round(1920 / 1420, 3)
    few = O.compare_versions(store, wid, 5, 7)
    assert few["duration_test"] is None and few["enough_runs"] is False
    assert few["statement"].startswith("Not enough runs to judge durations: version 5 has 5 and version 7 has 3")
    assert "not enough runs to judge" in few["statement"]


def test_compare_not_significant(store, gamma):
    _versions_runs(
        store,
        gamma["wid"],
        {5: [1000, 1300, 1100, 1250, 1200], 6: [1050, 1150, 1280, 1220, 1120, 1180]},
        {6: {4: "failed"}},
    )
    cmp = O.compare_versions(store, gamma["wid"], 5, 6)
    assert cmp["duration_test"]["u"] == 13  # pairs where v5 is slower, counted by hand
    assert cmp["duration_test"]["p_value"] > 0.05
    assert "not significant at the 5% level; the difference may be noise" in cmp["statement"]
    assert cmp["b"]["success_rate"] == 83.33 and cmp["success_test"]["p_value"] == pytest.approx(1.0)


def test_target_from_a_file(store, gamma, tmp_path):
    f = tmp_path / "gamma.toml"
    f.write_text(GAMMA_TOML)
    rep = O.analyze(store, str(f), slots=2, llm=False, save=False)
    assert rep.version == gamma["version"] and by_kind(rep, "parallelize")
    f.write_text(GAMMA_TOML.replace("e->end;", "e->f;\nf->end;"))
    with pytest.raises(O.OptimizerError, match="no recorded runs of this definition"):
        O.analyze(store, str(f), llm=False)
    with pytest.raises(O.OptimizerError, match="no recorded runs"):
        O.analyze(store, "Unknown workflow", llm=False)


# --- the narrative -------------------------------------------------------------------------------


def test_narrative_by_a_configured_model(store, gamma, llm_server, llm_settings):
    from engine.ai.llm import LLMService

    llm_server.reply_json(
        {
            "optimizations": [
                {
                    "type": "performance",
                    "title": "Parallel b, c, d",
                    "description": "They do not depend on each other.",
                    "estimated_improvement": 26,
                    "implementation_effort": "low",
                    "priority": 5,
                }
            ]
        }
    )
    rep = O.analyze(store, "Gamma", slots=2, llm=LLMService(llm_settings, store=store))
    assert rep.narrative_source == "test-model"
    assert "Parallel b, c, d: They do not depend on each other." in rep.narrative
    prompt = llm_server.last_user_message()
    assert "Total executions: 4" in prompt and "Run 'b', 'c' and 'd' in parallel" in prompt
    # the statistics are the same with or without the model
    assert rep.score == O.analyze(store, "Gamma", slots=2, llm=False).score


def test_narrative_falls_back_offline(store, gamma, llm_server, llm_settings):
    from engine.ai.llm import LLMService

    llm_server.reply("oops", status=500)
    rep = O.analyze(store, "Gamma", slots=2, llm=LLMService(llm_settings, store=store))
    assert rep.narrative_source == "offline" and "Run 'b', 'c' and 'd' in parallel" in rep.narrative


def test_cache_in_a_parallel_branch_counts_work_not_wall_time(store):
    fn = 'action = "python"\nfunction = "tests.engine.functions:add"\n'
    spec = parse_workflow_text(
        'name = "Branchy"\ndsl = "start->f; f->[p,q]; [p,q]->end;"\n' + "".join(f"[states.{s}]\n{fn}" for s in "fpq")
    )
    wid, ver = library.save_workflow(store, spec)
    rec = Recorder(store)
    for i in range(3):
        eid, t0 = f"B{i}", D1 + timedelta(hours=i)
        rec.execution(eid, wid=wid, name="Branchy", start=t0, duration_ms=500, spec=spec)
        rec.step(eid, "f", wid=wid, start=t0, ms=10, to="[p,q]", updates={"a": 1})
        rec.step(
            eid,
            "p",
            wid=wid,
            start=t0 + timedelta(milliseconds=20),
            ms=300,
            token="0.1-1",
            reads=["a"],
            updates={"pv": 2},
        )
        rec.step(eid, "q", wid=wid, start=t0 + timedelta(milliseconds=20), ms=400, token="0.1-2", updates={"qv": i})
        rec.step(eid, "[p,q]", wid=wid, start=t0 + timedelta(milliseconds=450), ms=0, status="join", to="end")
    rec.write()
    rep = O.analyze(store, "Branchy", slots=2, llm=False)
    cache = by_kind(rep, "cache_state")
    assert [s.proposed_changes["state"] for s in cache] == ["p"]  # q's output changes every run
    p = cache[0]
    assert p.optimization_type == "cost" and p.gain_ms == 0.0 and p.evidence["parallel_branch"]
    # two repeats of 300 ms saved out of 3 * (10 + 300 + 400) ms of recorded state time
    assert p.estimated_improvement == round(100 * 600 / 2130, 1)
    assert "parallel branch" in p.description
