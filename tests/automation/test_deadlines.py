"""Deadlines (SLA): a slow state or run past its deadline_s gets one audit row and one notification."""

from __future__ import annotations

from tests.app.conftest import app_engine, page_test  # noqa: F401 (fixtures)
from tests.automation.test_notify import Receiver, rows, scan_until, write_settings

SLOW = """
name = "Slow report"
dsl = "start->fetch; fetch->crunch; crunch->end;"
[settings]
deadline_s = {run_deadline}
[states.fetch]
action = "noop"
[states.crunch]
action = "python"
function = "tests.engine.functions:sleep_and_mark"
params = {{ seconds = {seconds} }}
execution = "inline"
deadline_s = {state_deadline}
[notifications]
channels = ["ops-hook"]
on = ["deadline"]
"""


def _audits(store, eid):
    return store.query(
        "SELECT state, message, metadata FROM audit_logs WHERE execution_id = ? AND event_type = 'deadline_missed' "
        "ORDER BY timestamp",
        [eid],
    )


def test_a_state_still_going_past_its_deadline_notifies_and_audits_once(tmp_path, monkeypatch, store, inline_engine):
    from engine.automation.notifier import Notifier
    from engine.workflow_file import parse_workflow_text

    receiver = Receiver()
    try:
        write_settings(tmp_path, monkeypatch, None, receiver)
        spec = parse_workflow_text(SLOW.format(run_deadline=60, seconds=4, state_deadline=0.8))
        eid = inline_engine.start(spec, {})
        n = Notifier(store)
        try:
            scan_until(store, lambda: receiver.posts, "the deadline notification", notifier=n)
            row = inline_engine.execution_row(eid)
            assert row["status"] == "running"  # noticed while the state is still going
            post = receiver.posts[0]
            assert post["event"] == "deadline" and post["state"] == "crunch" and post["deadline_s"] == 0.8
            assert post["elapsed_s"] > 0.8 and eid in post["link"]
            audits = _audits(store, eid)
            assert len(audits) == 1 and audits[0]["state"] == "crunch"
            assert "is still going" in audits[0]["message"] and "0.8 s" in audits[0]["message"]
            inline_engine.wait(eid, timeout=60)
            for _ in range(3):  # the visit ended late: the same miss, not a new one
                n.scan_once(wait=True)
        finally:
            n.stop()
        assert len(_audits(store, eid)) == 1 and len(receiver.posts) == 1
        assert [(r["event"], r["status"]) for r in rows(store, eid)] == [("deadline", "claimed"), ("deadline", "sent")]

        from engine import analytics

        misses = analytics.deadline_misses(store, analytics.Scope())
        assert list(misses["execution_id"]) == [eid] and list(misses["state"]) == ["crunch"]
        assert float(misses["deadline_s"].iloc[0]) == 0.8
    finally:
        receiver.close()


def test_a_run_past_its_deadline_and_late_states_found_after_the_fact(tmp_path, monkeypatch, store, inline_engine):
    """No notifier ran during the run: the misses are still found from the records afterwards."""
    from engine.automation.notifier import Notifier
    from engine.workflow_file import parse_workflow_text

    receiver = Receiver()
    try:
        write_settings(tmp_path, monkeypatch, None, receiver)
        late = inline_engine.run(parse_workflow_text(SLOW.format(run_deadline=0.5, seconds=1.0, state_deadline=0.6)))
        in_time = inline_engine.run(parse_workflow_text(SLOW.format(run_deadline=30, seconds=0.1, state_deadline=20)))
        assert late.status == in_time.status == "completed"
        scan_until(store, lambda: len(receiver.posts) >= 2, "two deadline notifications")
        Notifier(store).scan_once(wait=True)  # a restarted service: nothing new
        scopes = sorted((a["state"] or "(run)") for a in _audits(store, late.execution_id))
        assert scopes == ["(run)", "crunch"]
        assert all("ended after" in a["message"] for a in _audits(store, late.execution_id))
        assert _audits(store, in_time.execution_id) == []
        assert sorted(p.get("state") or "(run)" for p in receiver.posts) == ["(run)", "crunch"]
    finally:
        receiver.close()


def test_deadlines_are_recorded_even_without_channels(tmp_path, monkeypatch, store, inline_engine):
    from engine.workflow_file import parse_workflow_text

    write_settings(tmp_path, monkeypatch, None, None)
    text = SLOW.format(run_deadline=0.3, seconds=0.6, state_deadline=100).split("[notifications]")[0]
    eid = inline_engine.run(parse_workflow_text(text)).execution_id
    scan_until(store, lambda: _audits(store, eid), "the audit row")
    assert rows(store, eid) == [] and len(_audits(store, eid)) == 1


def test_deadline_s_is_validated():
    import pytest

    from engine.workflow_file import WorkflowFileError, parse_workflow_text

    with pytest.raises(WorkflowFileError, match="deadline_s"):
        parse_workflow_text(SLOW.format(run_deadline=-1, seconds=1, state_deadline=1))
    spec = parse_workflow_text(SLOW.format(run_deadline=5, seconds=1, state_deadline=2))
    again = parse_workflow_text(spec.to_toml())
    assert again.settings.deadline_s == 5 and again.states["crunch"].deadline_s == 2


def test_the_analytics_page_lists_deadline_misses(page_test, app_engine, tmp_path, monkeypatch):  # noqa: F811
    from engine.workflow_file import parse_workflow_text

    write_settings(tmp_path, monkeypatch, None, None)
    text = SLOW.format(run_deadline=0.3, seconds=0.6, state_deadline=100).split("[notifications]")[0]
    eid = app_engine.run(parse_workflow_text(text)).execution_id
    scan_until(app_engine.store, lambda: _audits(app_engine.store, eid), "the audit row")
    at = page_test("analytics")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Deadline misses" in [s.value for s in at.subheader]
    tables = [d.value for d in at.dataframe if "deadline_s" in d.value.columns]
    assert len(tables) == 1 and list(tables[0]["execution_id"]) == [eid]
    assert list(tables[0]["state"]) == ["(whole run)"]
