"""An approval nobody answers in time (``timeout_s``) fails with ``ApprovalTimeout``: its ``@error``
path is taken, a retry policy asks again, and with neither the run stops saying why. The moment it
expires is recorded with the request, so a run resumed later (another process) expires it too."""

from __future__ import annotations

import time

import pytest

from engine.durations import duration_text
from engine.run.people import EXPIRED, expiry_of
from engine.run.state import RunError
from engine.workflow_file import StateBinding, parse_workflow_text

ESCALATING = """
name = "purchase approval"
dsl = "start->approve; approve->order:approved==True; approve->drop; approve->escalate:@error; order->end; drop->end; escalate->end;"
[states.approve]
action = "approval"
message = "Approve purchase {po}?"
timeout_s = 0.6
"""


def _requests(engine, eid):
    return engine.store.query(
        "SELECT request_id, status, answer, answered_by, prompt, details FROM human_requests "
        "WHERE execution_id = ? ORDER BY created_at",
        [eid],
    )


def test_an_unanswered_approval_takes_its_error_path_and_records_the_expiry(inline_engine):
    eid = inline_engine.start(parse_workflow_text(ESCALATING), {"po": 17})
    res = inline_engine.wait(eid, timeout=30)
    assert res.status == "completed"
    assert res.states_visited[-2] == "escalate"
    assert res.final_context["error"]["type"] == "ApprovalTimeout"
    assert "approved" not in res.final_context  # neither yes nor no
    (req,) = _requests(inline_engine, eid)
    assert (req["status"], req["answer"], req["answered_by"]) == ("answered", EXPIRED, "engine")
    assert "Approve purchase 17?" in req["prompt"] and "no answer within 0.6 s" in req["prompt"]
    events = inline_engine.store.query(
        "SELECT event_type, message FROM audit_logs WHERE execution_id = ? ORDER BY timestamp", [eid]
    )
    expired = [e for e in events if e["event_type"] == "request_expired"]
    assert expired and "nobody answered the approval of 'approve' within 0.6 s" in expired[0]["message"]
    with pytest.raises(RunError, match=r"the approval of 'approve' .* expired at .* \(nobody answered within 0.6 s\)"):
        inline_engine.answer(eid, "approve", "yes", by="late")


def test_an_answer_in_time_wins_and_nothing_expires(inline_engine):
    spec = parse_workflow_text(ESCALATING.replace("timeout_s = 0.6", "timeout_s = 30"))
    eid = inline_engine.start(spec, {"po": 3})
    for _ in range(100):
        if _requests(inline_engine, eid):
            break
        time.sleep(0.05)
    assert inline_engine.answer(eid, "approve", "yes", by="test")["delivered"] == "live"
    res = inline_engine.wait(eid, timeout=30)
    assert res.status == "completed" and res.states_visited[-2] == "order"
    assert [r["answer"] for r in _requests(inline_engine, eid)] == ["yes"]


def test_a_retry_policy_asks_again_with_a_request_of_its_own(inline_engine):
    # 3 s per request: the second one must still be open when the test answers it, on a loaded machine too
    spec = parse_workflow_text(
        ESCALATING.replace("timeout_s = 0.6", "timeout_s = 3") + "retry = { max_attempts = 2 }\n"
    )
    eid = inline_engine.start(spec, {"po": 5})
    for _ in range(400):
        if len(_requests(inline_engine, eid)) == 2:
            break
        time.sleep(0.05)
    second = _requests(inline_engine, eid)[1]
    assert second["request_id"].endswith("#2") and second["status"] == "open"
    inline_engine.answer(eid, "approve", "yes", by="test")
    res = inline_engine.wait(eid, timeout=30)
    assert res.status == "completed" and res.states_visited[-2] == "order"
    assert [r["answer"] for r in _requests(inline_engine, eid)] == [EXPIRED, "yes"]


def test_without_an_error_path_the_run_fails_naming_the_missing_path(inline_engine):
    spec = parse_workflow_text(ESCALATING.replace(" approve->escalate:@error;", "").replace(" escalate->end;", ""))
    res = inline_engine.wait(inline_engine.start(spec, {"po": 1}), timeout=30)
    assert res.status == "failed"
    assert "ApprovalTimeout" in (res.error or "")
    recovery = inline_engine.store.query("SELECT recovery_strategy AS strategy, reasoning FROM recovery_actions")
    assert [r["strategy"] for r in recovery] == ["abort"]
    assert "no 'approve->…:@error' path" in recovery[0]["reasoning"]


def test_a_detached_run_expires_its_approval_when_it_is_resumed_later(inline_engine):
    from engine.run.state import RunOptions

    spec = parse_workflow_text(ESCALATING)
    eid = inline_engine.start(spec, {"po": 9}, options=RunOptions(detach_when_waiting=True))
    res = inline_engine.wait(eid, timeout=30)
    assert res.status == "waiting"  # the driver stopped: nobody drives the run while it waits
    (req,) = _requests(inline_engine, eid)
    assert req["status"] == "open" and expiry_of(req) is not None
    from engine.workbench import run_state

    row = inline_engine.execution_row(eid)
    assert run_state.is_waiting_for_person(inline_engine.store, row)
    assert "answer it" in (run_state.refusal(inline_engine, eid, "resume") or "")
    time.sleep(0.8)  # the expiry passes while nobody drives the run
    # its time is up: no late answer, and the run may be resumed (the app shows Resume)
    with pytest.raises(RunError, match=r"expired at .* it can no longer be answered; the run goes on without it"):
        inline_engine.answer(eid, "approve", "yes", by="late")
    assert not run_state.is_waiting_for_person(inline_engine.store, row)
    # no longer "answer it": only a live driver would stop a resume (this test's engine is that owner)
    assert "answer it" not in (run_state.refusal(inline_engine, eid, "resume") or "")
    assert "expired at" in (run_state.refusal(inline_engine, eid, "approve", "approve") or "")
    inline_engine.resume(eid)
    res = inline_engine.wait(eid, timeout=30)
    assert res.status == "completed" and res.states_visited[-2] == "escalate"
    assert [r["answer"] for r in _requests(inline_engine, eid)] == [EXPIRED]


def test_only_an_approval_may_wait_longer_than_a_day():
    assert StateBinding(action="approval", timeout_s=2 * 86_400).timeout_s == 172_800
    with pytest.raises(ValueError, match="only an approval may wait longer"):
        StateBinding(action="python", function="m:f", timeout_s=2 * 86_400)
    with pytest.raises(ValueError):
        StateBinding(action="approval", timeout_s=31 * 86_400)


def test_waits_read_as_people_say_them():
    shown = [duration_text(s) for s in (172_800, 7_200, 5_400, 95_400, 190_800, 90, 45)]
    assert shown == ["2 d", "2 h", "1.5 h", "26.5 h", "2 d 5 h", "1.5 min", "45 s"]
