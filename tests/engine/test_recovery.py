"""Auto-recovery end to end on a real Ray: every strategy, a killed worker, a saga, an escalation."""

from __future__ import annotations

import time

import pytest

from engine.recovery import Failure, RecoveryEngine, classify
from engine.runner import RunOptions
from engine.workflow_file import StateBinding, parse_workflow_text


# ------------------------------------------------------------------ rules (no Ray)
@pytest.mark.parametrize(
    "etype,msg,cls",
    [
        ("ConnectionError", "", "transient"),
        ("TaskTimeout", "", "transient"),
        ("RuntimeError", "HTTP 503 from api", "transient"),
        ("RuntimeError", "rate limit exceeded", "transient"),
        ("ValueError", "bad", "data"),
        ("KeyError", "x", "data"),
        ("WorkerLost", "worker died", "resource"),
        ("MemoryError", "", "resource"),
        ("RuntimeError", "boom", "unknown"),
    ],
)
def test_error_classification(etype, msg, cls):
    assert classify(etype, msg) == cls


def _failure(etype, attempt=1, **kw):
    return Failure(
        state="s",
        error_type=etype,
        message="m",
        attempt=attempt,
        binding=kw.pop("binding", StateBinding()),
        has_fallback=kw.pop("has_fallback", False),
        compensable=kw.pop("compensable", []),
    )


def test_rules_retry_transient_then_fall_back_compensate_or_escalate():
    eng = RecoveryEngine()
    assert eng.decide(_failure("ConnectionError")).strategy == "retry"
    assert eng.decide(_failure("ConnectionError", attempt=5, has_fallback=True)).strategy == "fallback"
    assert eng.decide(_failure("ValueError", has_fallback=True)).strategy == "fallback"
    assert eng.decide(_failure("ValueError", compensable=["a"])).strategy == "compensate"
    assert eng.decide(_failure("ValueError")).strategy == "escalate"
    assert RecoveryEngine(escalate_unrecoverable=False).decide(_failure("ValueError")).strategy == "abort"


def test_the_policy_in_the_file_wins():
    eng = RecoveryEngine()
    d = eng.decide(_failure("ConnectionError", binding=StateBinding(on_error="skip")))
    assert d.strategy == "skip" and d.chosen_by == "policy"
    d = eng.decide(_failure("ValueError", binding=StateBinding(retry={"max_attempts": 3, "backoff_s": 0.1})))
    assert d.strategy == "retry" and d.chosen_by == "policy"
    assert 0.07 <= d.delay_s <= 0.13  # backoff with jitter


def test_history_stops_useless_retries():
    hist = {("s", "unknown"): {"retry": (0, 8)}}
    eng = RecoveryEngine(history=lambda state, cls: hist.get((state, cls), {}))
    d = eng.decide(_failure("RuntimeError", has_fallback=True))
    assert d.strategy == "fallback" and "0/8" in d.reasoning


def test_a_confident_feasible_ai_suggestion_is_taken_and_recorded():
    eng = RecoveryEngine(advisor=lambda f, h: {"strategy": "skip", "reasoning": "optional step", "confidence": 90})
    d = eng.decide(_failure("ValueError"))
    assert d.strategy == "skip" and d.chosen_by == "ai" and d.ai_suggested
    eng = RecoveryEngine(advisor=lambda f, h: {"strategy": "fallback", "reasoning": "x", "confidence": 99})
    d = eng.decide(_failure("ValueError"))  # no @error path: infeasible, rules stand
    assert d.strategy == "escalate" and d.ai_suggested and d.chosen_by == "rules"


# ------------------------------------------------------------------ end to end on Ray (each test marked ray)
def _wf(dsl: str, states: str, name="recovery") -> object:
    return parse_workflow_text(f'name = "{name}"\ndsl = """{dsl}"""\n{states}')


@pytest.mark.ray
def test_retry_transient_failures_without_a_policy(engine, tmp_path):
    spec = _wf(
        "start->call_api; call_api->end;",
        f'''
[states.call_api]
action = "python"
function = "tests.engine.functions:flaky"
params = {{ marker_dir = "{tmp_path / "m"}", fail_times = 2 }}
''',
    )
    res = engine.run(spec, {})
    assert res.status == "completed", res.error
    assert res.retry_count == 2 and res.final_context["flaky_calls"] == 3
    acts = engine.store.query(
        "SELECT recovery_strategy, error_class, success, chosen_by FROM recovery_actions "
        "WHERE execution_id = ? ORDER BY timestamp",
        [res.execution_id],
    )
    assert [a["recovery_strategy"] for a in acts] == ["retry", "retry"]
    assert [a["success"] for a in acts] == [False, True]
    assert {a["error_class"] for a in acts} == {"transient"}


@pytest.mark.ray
def test_a_killed_worker_is_retried_like_a_transient_error(engine, tmp_path):
    spec = _wf(
        "start->crunch; crunch->end;",
        f'''
[states.crunch]
action = "python"
function = "tests.engine.functions:crash_worker"
params = {{ marker_dir = "{tmp_path / "c"}", times = 1 }}
''',
    )
    t0 = time.perf_counter()
    res = engine.run(spec, {})
    assert time.perf_counter() - t0 < 60
    assert res.status == "completed", res.error
    assert res.final_context["survived"] is True
    act = engine.store.query(
        "SELECT error_type, error_class, recovery_strategy FROM recovery_actions WHERE execution_id = ?",
        [res.execution_id],
    )[0]
    assert act["error_type"] == "WorkerLost" and act["error_class"] == "resource"


@pytest.mark.ray
def test_skip_marks_the_state_skipped_and_continues(engine):
    spec = _wf(
        "start->enrich; enrich->report; report->end;",
        """
[states.enrich]
action = "python"
function = "tests.engine.functions:fail_with"
params = { error = "ValueError" }
on_error = "skip"
""",
    )
    res = engine.run(spec, {})
    assert res.status == "completed" and res.states_visited == ["start", "enrich", "report", "end"]
    st = engine.store.query(
        "SELECT status FROM state_transitions WHERE execution_id = ? AND from_state = 'enrich' ORDER BY timestamp",
        [res.execution_id],
    )
    assert [r["status"] for r in st][-1] == "skipped"


@pytest.mark.ray
def test_fallback_takes_the_error_transition(engine):
    spec = _wf(
        "start->send_email; send_email->done; send_email->queue_for_later:@error; queue_for_later->end; done->end;",
        """
[states.send_email]
action = "python"
function = "tests.engine.functions:fail_with"
params = { error = "ValueError", message = "mailbox does not exist" }
""",
    )
    res = engine.run(spec, {})
    assert res.status == "completed", res.error
    assert res.states_visited == ["start", "send_email", "queue_for_later", "end"]
    assert res.final_context["error"]["message"] == "mailbox does not exist"
    assert res.final_context["error"]["class"] == "data"
    row = engine.store.query(
        "SELECT transition_type, to_state FROM state_transitions WHERE execution_id = ? AND status = 'fallback'",
        [res.execution_id],
    )[0]
    assert row == {"transition_type": "error", "to_state": "queue_for_later"}


@pytest.mark.ray
def test_saga_compensates_completed_steps_in_reverse_order(engine, tmp_path):
    log = tmp_path / "saga.log"
    rec = 'action = "python"\nfunction = "tests.engine.functions:record_call"\n'
    spec = _wf(
        "start->reserve; reserve->charge; charge->ship; ship->end;",
        f'''
[states.reserve]
{rec}params = {{ log_file = "{log}", name = "reserve" }}
compensate = "release"
[states.charge]
{rec}params = {{ log_file = "{log}", name = "charge" }}
compensate = "refund"
[states.ship]
action = "python"
function = "tests.engine.functions:fail_with"
params = {{ error = "ValueError", message = "address invalid" }}
[states.release]
{rec}params = {{ log_file = "{log}", name = "release" }}
[states.refund]
{rec}params = {{ log_file = "{log}", name = "refund" }}
''',
    )
    res = engine.run(spec, {})
    assert res.status == "failed"
    assert "compensated" in res.error and "address invalid" in res.error
    assert log.read_text().split() == ["reserve", "charge", "refund", "release"]
    assert res.final_context["compensated"] == ["refund", "release"]
    act = engine.store.query(
        "SELECT recovery_strategy, success FROM recovery_actions WHERE execution_id = ?", [res.execution_id]
    )
    assert act == [{"recovery_strategy": "compensate", "success": True}]


@pytest.mark.ray
def test_abort_policy_stops_gracefully(engine):
    spec = _wf(
        "start->risky; risky->end;",
        """
[states.risky]
action = "python"
function = "tests.engine.functions:fail_with"
params = { error = "RuntimeError", message = "invariant broken" }
on_error = "abort"
""",
    )
    res = engine.run(spec, {})
    assert res.status == "failed" and "invariant broken" in res.error
    row = engine.execution_row(res.execution_id)
    assert row["status"] == "failed" and row["error_count"] == 1


@pytest.mark.ray
def test_escalation_waits_and_a_person_decides(engine, tmp_path):
    spec = _wf(
        "start->import_rows; import_rows->report; report->end;",
        """
[states.import_rows]
action = "python"
function = "tests.engine.functions:fail_with"
params = { error = "KeyError", message = "column 'amount' missing" }
""",
    )
    res = engine.run(spec, {}, RunOptions(detach_when_waiting=True))
    assert res.status == "waiting"
    (w,) = res.waiting_for
    assert w["kind"] == "escalation" and w["options"] == ["retry", "skip", "abort"]
    assert "column 'amount' missing" in w["prompt"]
    engine.answer(res.execution_id, "import_rows", "skip", by="test")
    res2 = engine.wait(engine.resume(res.execution_id), timeout=60)
    assert res2.status == "completed"
    assert res2.states_visited == ["start", "import_rows", "report", "end"]
    acts = engine.store.query(
        "SELECT recovery_strategy, chosen_by FROM recovery_actions WHERE execution_id = ? ORDER BY timestamp",
        [res.execution_id],
    )
    assert ("escalate", "rules") in {(a["recovery_strategy"], a["chosen_by"]) for a in acts}
    assert ("skip", "human") in {(a["recovery_strategy"], a["chosen_by"]) for a in acts}
    assert [a["recovery_strategy"] for a in acts] == ["escalate", "skip"]  # the answer is applied, not re-asked


def test_the_models_recovery_suggestion_is_used_and_recorded(inline_engine, llm_server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-recovery-key")
    llm_server.reply('{"strategy": "skip", "reasoning": "the enrichment is optional", "confidence": 88}')
    spec = _wf(
        "start->enrich; enrich->report; report->end;",
        """
[states.enrich]
action = "python"
function = "tests.engine.functions:fail_with"
params = { error = "ValueError", message = "no such customer" }
""",
    )
    res = inline_engine.run(spec, {}, RunOptions(execution="inline"))
    assert res.status == "completed", res.error
    assert res.states_visited == ["start", "enrich", "report", "end"]
    act = inline_engine.store.query(
        "SELECT recovery_strategy, chosen_by, ai_suggested, ai_reasoning, success "
        "FROM recovery_actions WHERE execution_id = ?",
        [res.execution_id],
    )
    assert act == [
        {
            "recovery_strategy": "skip",
            "chosen_by": "ai",
            "ai_suggested": True,
            "ai_reasoning": "the enrichment is optional",
            "success": True,
        }
    ]
    assert "no such customer" in llm_server.last_user_message()
    assert "sk-test-recovery-key" not in str(inline_engine.store.query("SELECT * FROM recovery_actions"))
