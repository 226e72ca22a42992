"""Analytics' "handled by auto-recovery" counts only what auto-recovery decided: a run started with
auto-recovery OFF whose step the workflow's own retry policy retried is not an automatic incident."""

from __future__ import annotations

from engine import analytics as A
from engine.runner import RunOptions
from engine.workflow_file import parse_workflow_text


def _spec(name: str, marker_dir, retry: bool):
    text = (
        f'name = "{name}"\ndsl = "start->a; a->end;"\n[states.a]\naction = "python"\n'
        'function = "tests.engine.functions:flaky"\nexecution = "inline"\n'
        f'params = {{marker_dir = "{marker_dir}", fail_times = 1}}\n'
    )
    if retry:
        text += "retry = { max_attempts = 3, backoff_s = 0.01 }\n"
    return parse_workflow_text(text)


def test_a_retry_policy_with_auto_recovery_off_is_not_counted_as_auto_recovery(inline_engine, tmp_path):
    eng = inline_engine
    off = eng.run(_spec("Policy only", tmp_path / "m1", retry=True), {}, RunOptions(auto_recovery=False))
    assert off.status == "completed" and off.retry_count == 1
    eng.store.flush()
    rec = A.recovery_stats(eng.store, A.resolve_scope(eng.store, "Policy only"))
    assert (rec["incidents"], rec["policy_incidents"], rec["automatic_incidents"]) == (1, 1, 0)
    assert rec["auto_recovery_rate"] is None  # nothing auto-recovery did: no rate to show

    on = eng.run(_spec("Auto", tmp_path / "m2", retry=False), {}, RunOptions(auto_recovery=True))
    assert on.status == "completed" and on.retry_count == 1
    eng.store.flush()
    rec = A.recovery_stats(eng.store, A.resolve_scope(eng.store, "Auto"))
    assert (rec["incidents"], rec["automatic_incidents"], rec["auto_recovered"], rec["policy_incidents"]) == (
        1,
        1,
        1,
        0,
    )
