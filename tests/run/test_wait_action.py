"""A ``wait`` state is a durable timer: it waits ``wait_s`` (or until the moment ``until`` names), the
run is ``waiting`` meanwhile, nobody is asked (no notification), answering ``continue`` ends it early,
and the end of the wait is recorded when it starts, so a run resumed later waits only what is left."""

from __future__ import annotations

import datetime as dt
import json
import re
import time

import pytest

from engine.run.people import CONTINUE, EXPIRED, TIMER, wait_until
from engine.run.state import RunError, RunOptions
from engine.workbench import run_state
from engine.workflow_file import StateBinding, parse_workflow_text

POLL = """
name = "poll until shipped"
dsl = "start->check; check->pause:shipped==False; pause->check; check->done; done->end;"
[states.check]
action = "python"
function = "tests.run.step_functions:count_until"
[states.pause]
action = "wait"
wait_s = 0.4
"""


def _requests(engine, eid):
    return engine.store.query(
        "SELECT request_id, state, kind, status, answer, answered_by, prompt, details FROM human_requests "
        "WHERE execution_id = ? ORDER BY created_at",
        [eid],
    )


def _spec(wait: str, extra_dsl: str = ""):
    return parse_workflow_text(
        f'name = "wait"\ndsl = "start->a; a->pause; pause->b; b->end;{extra_dsl}"\n'
        f'[states.a]\naction = "noop"\n[states.b]\naction = "noop"\n[states.pause]\naction = "wait"\n{wait}\n'
    )


def test_a_wait_state_waits_its_time_and_records_no_failure(inline_engine):
    t0 = time.monotonic()
    eid = inline_engine.start(_spec("wait_s = 0.8"), {})
    res = inline_engine.wait(eid, timeout=30)
    assert res.status == "completed", res.error
    assert time.monotonic() - t0 >= 0.8
    assert res.states_visited == ["start", "a", "pause", "b", "end"]
    (req,) = _requests(inline_engine, eid)
    assert (req["kind"], req["status"], req["answer"], req["answered_by"]) == (TIMER, "answered", EXPIRED, "engine")
    assert "waiting 0.8 s, until" in req["prompt"]
    events = inline_engine.store.query(
        "SELECT level, event_type FROM audit_logs WHERE execution_id = ? ORDER BY timestamp", [eid]
    )
    assert ("info", "wait_over") in [(e["level"], e["event_type"]) for e in events]
    assert not [e for e in events if e["event_type"] == "request_expired"]  # not an unanswered request


def test_the_run_is_waiting_meanwhile_and_continue_ends_the_wait_early(inline_engine):
    eid = inline_engine.start(_spec("wait_s = 600"), {})
    for _ in range(200):
        if _requests(inline_engine, eid):
            break
        time.sleep(0.05)
    row = inline_engine.execution_row(eid)
    assert row["status"] == "waiting"
    assert not run_state.is_waiting_for_person(inline_engine.store, row)  # nobody is asked
    assert re.fullmatch(
        r"its timer at 'pause' \(until \d{4}-\d\d-\d\d \d\d:\d\d UTC\)",
        run_state.waiting_text(_requests(inline_engine, eid)),
    )
    with pytest.raises(RunError, match="valid answer"):
        inline_engine.answer(eid, "pause", "yes", by="test")
    assert inline_engine.answer(eid, "pause", CONTINUE, by="test")["delivered"] == "live"
    res = inline_engine.wait(eid, timeout=30)
    assert res.status == "completed" and res.states_visited == ["start", "a", "pause", "b", "end"]
    with pytest.raises(RunError, match="no open request"):
        inline_engine.answer(eid, "pause", CONTINUE, by="late")


def test_a_poll_loop_waits_between_checks(inline_engine):
    t0 = time.monotonic()
    res = inline_engine.wait(inline_engine.start(parse_workflow_text(POLL), {"until": 3}), timeout=30)
    assert res.status == "completed", res.error
    assert res.states_visited == ["start", "check", "pause", "check", "pause", "check", "done", "end"]
    assert time.monotonic() - t0 >= 0.8  # two waits of 0.4 s
    assert len(_requests(inline_engine, res.execution_id)) == 2  # one timer per visit


def test_until_a_context_key_and_a_moment_already_past(inline_engine):
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    res = inline_engine.wait(inline_engine.start(_spec('until = "{due_at}"'), {"due_at": past}), timeout=30)
    assert res.status == "completed" and not _requests(inline_engine, res.execution_id)  # nothing to wait for
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=0.7)).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    t0 = time.monotonic()
    res = inline_engine.wait(inline_engine.start(_spec('until = "{due_at}"'), {"due_at": soon}), timeout=30)
    assert res.status == "completed" and time.monotonic() - t0 >= 0.5
    assert len(_requests(inline_engine, res.execution_id)) == 1


def test_an_unreadable_until_fails_the_state_saying_why(inline_engine):
    quiet = RunOptions(auto_recovery=False)  # else a data error with no @error path asks a person
    spec = _spec('until = "{due_at}"')
    res = inline_engine.wait(inline_engine.start(spec, {"due_at": "next tuesday"}, options=quiet), timeout=30)
    assert res.status == "failed"
    assert "'until' is 'next tuesday', not a date or time" in (res.error or "")
    res = inline_engine.wait(inline_engine.start(spec, {}, options=quiet), timeout=30)
    assert res.status == "failed" and "no such key" in (res.error or "")


def test_a_detached_run_waits_only_what_is_left_when_resumed(inline_engine):
    eid = inline_engine.start(_spec("wait_s = 61.5"), {}, options=RunOptions(detach_when_waiting=True))
    res = inline_engine.wait(eid, timeout=30)
    assert res.status == "waiting"  # more than a minute to wait: the drive stops (workbench run)
    (req,) = _requests(inline_engine, eid)
    assert req["status"] == "open"
    # the timer's end is recorded: pull it back as if the time had passed (newest row wins), then resume
    details = json.loads(req["details"]) if isinstance(req["details"], str) else req["details"]
    ends = dt.datetime.fromisoformat(details["expires_at"])
    assert 60 < (ends - dt.datetime.now(dt.UTC).replace(tzinfo=None)).total_seconds() <= 62
    (row,) = inline_engine.store.query("SELECT * FROM human_requests WHERE request_id = ?", [req["request_id"]])
    earlier = {**details, "expires_at": (ends - dt.timedelta(seconds=61.5)).isoformat()}
    keep = {k: v for k, v in row.items() if k not in ("seq", "updated_at") and v is not None}
    inline_engine.store.append("human_requests", {**keep, "details": earlier})
    assert "ended at" in (run_state.refusal(inline_engine, eid, "answer", "pause") or "")
    inline_engine.resume(eid)
    res = inline_engine.wait(eid, timeout=30)
    assert res.status == "completed" and res.states_visited[-2] == "b"


def test_a_short_wait_does_not_detach_a_cli_run(inline_engine):
    eid = inline_engine.start(_spec("wait_s = 0.5"), {}, options=RunOptions(detach_when_waiting=True))
    assert inline_engine.wait(eid, timeout=30).status == "completed"


def test_waits_send_no_waiting_notification(inline_engine):
    from engine.automation.notifier import waiting_events

    since = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=1)
    eid = inline_engine.start(_spec("wait_s = 600"), {})
    for _ in range(200):
        if _requests(inline_engine, eid):
            break
        time.sleep(0.05)
    assert not [k for k, _ in waiting_events(inline_engine.store, since, None) if eid in k]
    inline_engine.cancel(eid)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({}, "needs either 'wait_s'"),
        ({"wait_s": 5, "until": "2027-01-01"}, "not both"),
        ({"wait_s": 5, "timeout_s": 10}, "has no timeout_s"),
        ({"wait_s": 0}, "greater than 0"),
    ],
)
def test_a_wait_binding_says_what_it_needs(fields, message):
    with pytest.raises(ValueError, match=message):
        StateBinding(action="wait", **fields)


def test_wait_fields_belong_to_a_wait():
    with pytest.raises(ValueError, match="belong to action 'wait'"):
        StateBinding(action="noop", wait_s=5)


def test_wait_until_reads_iso_times_in_utc():
    assert wait_until("2027-01-31", {}) == dt.datetime(2027, 1, 31)
    assert wait_until("2027-01-31T09:00:00+01:00", {}) == dt.datetime(2027, 1, 31, 8)
    assert wait_until("{due}", {"due": "2027-01-31T09:00Z"}) == dt.datetime(2027, 1, 31, 9)
    with pytest.raises(ValueError, match="not a date or time"):
        wait_until("soon", {})


def test_a_wait_is_waiting_time_in_the_analytics_not_working_time(inline_engine):
    from engine.analytics import Scope
    from engine.records.analytics import state_attempt_figures

    eid = inline_engine.start(_spec("wait_s = 0.3"), {})
    assert inline_engine.wait(eid, timeout=30).status == "completed"
    wf = inline_engine.execution_row(eid)["workflow_id"]
    figures = state_attempt_figures(inline_engine.store, Scope(workflow_ids=(wf,))).set_index("state")
    assert bool(figures.loc["pause", "waits_for_people"]) and not bool(figures.loc["a", "waits_for_people"])
    assert bool(figures.loc["pause", "waits_for_timer"]) and not bool(figures.loc["a", "waits_for_timer"])


def test_the_analytics_say_a_wait_steps_time_is_a_timer_not_people(inline_engine):
    """A run with a wait step waited for a timer: the report's words say "people or timers", and the
    per-step insight says the step waited, not that people answered it."""
    from engine import analytics as A

    eid = inline_engine.start(_spec("wait_s = 0.3"), {})
    assert inline_engine.wait(eid, timeout=30).status == "completed"
    wf = inline_engine.execution_row(eid)["workflow_id"]
    rep = A.report(inline_engine.store, wf, since="all")
    assert rep["run_time"]["runs_on_timer"] == 1 and A.waiting_for(rep["run_time"]) == "people or timers"
    assert {r["state"]: r["waits_for_timer"] for r in rep["state_performance"]}["pause"] is True
    insights = " ".join(rep["ai_insights"])
    assert "waiting for people or timers" in insights
    assert "'pause' is a wait step: it waited" in insights and "People answer 'pause'" not in insights


def test_a_run_on_a_timer_is_not_listed_as_waiting_for_a_person(inline_engine):
    from engine.workbench.runs import waiting_runs

    eid = inline_engine.start(_spec("wait_s = 600"), {})
    for _ in range(200):
        if _requests(inline_engine, eid):
            break
        time.sleep(0.05)
    assert eid not in [r["execution_id"] for r in waiting_runs(inline_engine.store)]
    inline_engine.cancel(eid)


def test_cli_run_stops_driving_at_a_long_wait_and_says_how_to_go_on(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    wf = tmp_path / "remind.toml"
    wf.write_text(
        'name = "remind later"\ndsl = "start->send; send->pause; pause->remind; remind->end;"\n'
        '[states.pause]\naction = "wait"\nwait_s = 86400\n'
    )
    env = dict(os.environ, WORKBENCH_DB=str(tmp_path / "w.duckdb"), PYTHONPATH=str(root))
    env.pop("OPENAI_API_KEY", None)
    env.pop("OPENAI_BASE_URL", None)

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "engine.cli", *args], cwd=root, env=env, capture_output=True, text=True, timeout=90
        )

    p = cli("run", str(wf), "--json")
    assert p.returncode == 1, p.stderr
    out = json.loads(p.stdout)
    eid = out["execution_id"]
    assert out["status"] == "waiting" and [w["state"] for w in out["waiting_for"]] == ["pause"]
    assert "waiting at 'pause': waiting 24 h, until" in p.stderr
    assert f"workbench answer {eid} pause continue" in p.stderr and "waiting for a person" not in p.stderr
    p = cli("answer", eid, "pause", "continue", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["status"] == "completed" and out["states_visited"] == ["start", "send", "pause", "remind", "end"]


def test_a_drive_that_does_not_detach_sleeps_until_the_wait_is_over(inline_engine, monkeypatch):
    """In the service or the app (no detach) a waiting token is woken by its answer, a cancel or its
    expiry, not 4 times a second: 1,000 runs waiting for people cost the driver nothing meanwhile."""
    import asyncio

    import engine.run.people as people

    calls = []
    real = asyncio.wait_for

    def counting(aw, timeout):
        calls.append(timeout)
        return real(aw, timeout)

    monkeypatch.setattr(people.asyncio, "wait_for", counting)
    res = inline_engine.wait(inline_engine.start(_spec("wait_s = 1.5"), {}), timeout=30)
    assert res.status == "completed"
    assert 1 <= len(calls) <= 2, calls  # was one look every 0.25 s (7)
    assert calls[0] > 1.0


GIVING_UP = """
name = "poll with a limit"
dsl = "start->check; check->pause:shipped==False; pause->check; pause->support:@error; check->done; done->end; support->end;"
[states.check]
action = "python"
function = "tests.run.step_functions:count_until"
[states.pause]
action = "wait"
wait_s = 0.3
give_up_after_s = 0.8
"""


def test_a_poll_gives_up_after_its_limit_and_takes_its_error_path(inline_engine):
    t0 = time.monotonic()
    res = inline_engine.wait(inline_engine.start(parse_workflow_text(GIVING_UP), {"until": 1000}), timeout=30)
    took = time.monotonic() - t0
    assert res.status == "completed", res.error
    assert res.states_visited[-2] == "support"
    assert res.final_context["error"]["type"] == "WaitGaveUp"
    assert "gave up: 'pause' was first reached more than 0.8 s ago" in res.final_context["error"]["message"]
    # waits of 0.3, 0.3 and the 0.2 left: the last look comes at the limit, then the next wait gives up
    assert res.states_visited.count("check") == 4 and 0.8 <= took < 10
    recovery = inline_engine.store.query(
        "SELECT recovery_strategy AS strategy FROM recovery_actions WHERE execution_id = ?", [res.execution_id]
    )
    assert [r["strategy"] for r in recovery] == ["fallback"]


def test_a_poll_without_an_error_path_stops_saying_it_gave_up(inline_engine):
    spec = parse_workflow_text(GIVING_UP.replace(" pause->support:@error;", "").replace(" support->end;", ""))
    res = inline_engine.wait(inline_engine.start(spec, {"until": 1000}), timeout=30)
    assert res.status == "failed" and "WaitGaveUp" in (res.error or "")


def test_a_poll_done_in_time_never_gives_up(inline_engine):
    res = inline_engine.wait(inline_engine.start(parse_workflow_text(GIVING_UP), {"until": 2}), timeout=30)
    assert res.status == "completed" and res.states_visited[-2] == "done"


def test_give_up_belongs_to_a_wait():
    with pytest.raises(ValueError, match="belong to action 'wait'"):
        StateBinding(action="noop", give_up_after_s=60)


def test_the_service_gauges_tell_a_timer_from_a_person(inline_engine):
    from engine.service.metrics import ServiceMetrics

    metrics = ServiceMetrics(inline_engine, inline_engine.store)
    approval = parse_workflow_text(
        'name = "ask"\ndsl = "start->ask; ask->end;"\n[states.ask]\naction = "approval"\nmessage = "Ok?"\n'
    )
    on_timer = inline_engine.start(_spec("wait_s = 600"), {})
    asking = inline_engine.start(approval, {})
    for _ in range(200):
        if _requests(inline_engine, on_timer) and _requests(inline_engine, asking):
            break
        time.sleep(0.05)
    time.sleep(0.2)  # both drives have recorded their waits

    def gauge(name: str) -> float:
        return metrics.registry.get_sample_value(name) or 0.0

    assert gauge("workbench_runs_waiting") == 1  # the approval: a person is needed
    assert gauge("workbench_runs_on_timer") == 1
    inline_engine.cancel(on_timer)
    inline_engine.cancel(asking)


def test_the_graph_shows_a_step_on_its_timer_as_running_not_waiting_for_you(inline_engine):
    from engine.workbench import runs

    eid = inline_engine.start(_spec("wait_s = 600"), {})
    for _ in range(200):
        if _requests(inline_engine, eid):
            break
        time.sleep(0.05)
    row = inline_engine.execution_row(eid)
    statuses = runs.node_statuses(
        runs.transitions(inline_engine.store, eid), row, runs.open_requests(inline_engine.store, eid)
    )
    assert statuses["pause"] == "running" and statuses["a"] == "completed"
    inline_engine.cancel(eid)


def test_a_run_whose_driver_stopped_during_a_wait_says_when_its_wait_ends(inline_engine):
    from engine.workbench import runs

    eid = inline_engine.start(_spec("wait_s = 600"), {}, options=RunOptions(detach_when_waiting=True))
    assert inline_engine.wait(eid, timeout=30).status == "waiting"
    row = inline_engine.execution_row(eid)
    import socket

    gone = f"{socket.gethostname()}:999999999:abcdef"  # a process of this machine that no longer exists
    inline_engine._append_exec_row_raw(row, owner=gone)
    (r,) = [r for r in runs.interrupted_runs(inline_engine) if r["execution_id"] == eid]
    left = (r["timer_until"] - dt.datetime.now(dt.UTC).replace(tzinfo=None)).total_seconds()
    assert r["resumable"] and 590 < left <= 600


def test_a_resumed_run_whose_wait_is_over_records_that_it_is_over(inline_engine):
    eid = inline_engine.start(_spec("wait_s = 61"), {}, options=RunOptions(detach_when_waiting=True))
    assert inline_engine.wait(eid, timeout=30).status == "waiting"
    (req,) = _requests(inline_engine, eid)
    details = json.loads(req["details"]) if isinstance(req["details"], str) else req["details"]
    (row,) = inline_engine.store.query("SELECT * FROM human_requests WHERE request_id = ?", [req["request_id"]])
    keep = {k: v for k, v in row.items() if k not in ("seq", "updated_at") and v is not None}
    past = (dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=1)).isoformat()
    inline_engine.store.append("human_requests", {**keep, "details": {**details, "expires_at": past}})
    inline_engine.resume(eid)
    assert inline_engine.wait(eid, timeout=30).status == "completed"
    (req,) = _requests(inline_engine, eid)
    assert (req["status"], req["answer"], req["answered_by"]) == ("answered", EXPIRED, "engine")
    events = [
        a["event_type"]
        for a in inline_engine.store.query("SELECT event_type FROM audit_logs WHERE execution_id = ?", [eid])
    ]
    assert "wait_over" in events


def test_a_resumed_wait_until_a_moment_now_past_ends_its_recorded_wait(inline_engine, monkeypatch):
    """Found by looking at a service that took over a run: the wait's moment had passed, so the state went on
    at once and left its recorded request open for ever (listed as still waiting, found again and again)."""
    import engine.run.people as people

    due = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=90)).isoformat()
    eid = inline_engine.start(
        _spec('until = "{due_at}"'), {"due_at": due}, options=RunOptions(detach_when_waiting=True)
    )
    assert inline_engine.wait(eid, timeout=30).status == "waiting"
    real_now = people.now
    monkeypatch.setattr(people, "now", lambda: real_now() + dt.timedelta(seconds=120))  # the moment has passed
    inline_engine.resume(eid)
    assert inline_engine.wait(eid, timeout=30).status == "completed"
    (req,) = _requests(inline_engine, eid)
    assert (req["status"], req["answer"]) == ("answered", EXPIRED)
