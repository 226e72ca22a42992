"""Schedule arithmetic against croniter itself, the workflow-file shapes, and the catch-up policies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from engine.automation import schedules
from engine.automation.specs import next_fire, parse_every, upcoming
from engine.workflow_file import WorkflowFileError, parse_workflow_text
from tests.automation.conftest import NOOP_TOML


def _croniter_next(expr: str, tz: str, start: datetime, n: int, seconds_first: bool = False) -> list[datetime]:
    it = croniter(expr, start.astimezone(ZoneInfo(tz)), second_at_beginning=seconds_first)
    return [it.get_next(datetime).astimezone(UTC) for _ in range(n)]


@pytest.mark.parametrize(
    ("expr", "tz", "start"),
    [
        ("0 7 * * 1-5", "Europe/Paris", datetime(2026, 3, 27, 12, tzinfo=UTC)),  # spring forward 29 March
        ("30 2 * * *", "Europe/Paris", datetime(2026, 3, 27, 12, tzinfo=UTC)),  # 02:30 does not exist on the 29th
        ("30 1 * * *", "America/New_York", datetime(2026, 10, 30, 12, tzinfo=UTC)),  # 01:30 twice on 1 November
        ("*/15 9-17 * * mon-fri", "Asia/Kolkata", datetime(2026, 12, 4, 10, tzinfo=UTC)),
        ("0 0 1 * *", "UTC", datetime(2026, 12, 2, tzinfo=UTC)),
    ],
)
def test_cron_next_fire_times_match_croniter_in_the_schedules_zone(expr, tz, start):
    ours = upcoming(expr, None, tz, 8, after=start)
    assert ours == _croniter_next(expr, tz, start, 8)
    assert all(t.tzinfo is not None for t in ours)


def test_dst_day_in_paris_fires_at_local_seven_on_both_sides_of_the_change():
    times = upcoming("0 7 * * *", None, "Europe/Paris", 4, after=datetime(2026, 3, 27, 12, tzinfo=UTC))
    assert [t.astimezone(ZoneInfo("Europe/Paris")).hour for t in times] == [7, 7, 7, 7]
    assert [t.hour for t in times] == [6, 5, 5, 5]  # 28 March at UTC+1, then UTC+2 from the 29th (02:00)


def test_six_field_cron_has_the_seconds_first():
    start = datetime(2026, 12, 2, 3, 0, 1, tzinfo=UTC)
    ours = upcoming("*/20 * * * * *", None, "UTC", 4, after=start)
    assert ours == _croniter_next("*/20 * * * * *", "UTC", start, 4, seconds_first=True)
    assert [t.second for t in ours] == [20, 40, 0, 20]


def test_interval_fires_at_multiples_of_its_length():
    assert parse_every("15m") == 900 and parse_every("1h30m") == 5400 and parse_every("2s") == 2
    t = next_fire(None, 900, "UTC", datetime(2026, 12, 2, 3, 7, 12, tzinfo=UTC))
    assert t == datetime(2026, 12, 2, 3, 15, tzinfo=UTC)
    assert next_fire(None, 900, "UTC", t) == t + timedelta(minutes=15)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('cron = "0 7 * *"', "4 fields"),
        ('cron = "61 7 * * *"', "not a valid cron"),
        ('every = "soon"', "not a duration"),
        ('every = "0s"', "at least"),
        ('cron = "0 7 * * *"\nevery = "1h"', "exactly one"),
        ('cron = "0 7 * * *"\ntimezone = "Mars/Olympus"', "unknown time zone"),
        ('every = "1h"\ncatchup = "all"', "catchup"),
        ('every = "1h"\nwhen = "now"', "when"),
    ],
)
def test_bad_schedules_are_refused_with_the_reason(entry, message):
    with pytest.raises(WorkflowFileError, match=message):
        parse_workflow_text(NOOP_TOML.format(name="x", extra=f"[[schedules]]\n{entry}\n"))


def test_schedules_and_triggers_round_trip_through_the_workflow_file():
    extra = """
[[schedules]]
id = "weekday"
cron = "0 7 * * 1-5"
timezone = "Europe/Paris"
context = { region = "EU" }
catchup = "run_once"
[[triggers]]
type = "webhook"
id = "tickets"
auth = "hmac"
secret = "{secret:TICKET_HOOK}"
[[triggers]]
type = "file"
id = "inbox"
folder = "data/inbox"
glob = "*.csv"
"""
    spec = parse_workflow_text(NOOP_TOML.format(name="x", extra=extra))
    again = parse_workflow_text(spec.to_toml())
    assert again.schedules == spec.schedules and again.triggers == spec.triggers
    assert spec.schedules[0].context == {"region": "EU"}
    with pytest.raises(WorkflowFileError, match="reference"):
        parse_workflow_text(NOOP_TOML.format(name="x", extra=extra.replace("{secret:TICKET_HOOK}", "hunter2")))


def _register(store, every: str = "10s", catchup: str = "skip", overlap: str = "allow") -> str:
    from engine import library

    extra = f'[[schedules]]\nid = "s"\nevery = "{every}"\ncatchup = "{catchup}"\noverlap = "{overlap}"\n'
    spec = parse_workflow_text(NOOP_TOML.format(name="c", extra=extra))
    wid, _ = library.save_workflow(store, spec)
    schedules.sync_from_library(store)
    return f"{wid}:s"


def test_catchup_skip_records_missed_slots_and_runs_only_the_recent_ones(store):
    sid = _register(store, "10s", "skip")
    t0 = datetime.now(UTC)
    first = schedules.claim_due(store, t0 + timedelta(seconds=25), grace=30)
    assert len(first) >= 2 and len({c.fire_time for c in first}) == len(first)
    assert schedules.claim_due(store, t0 + timedelta(seconds=25), grace=30) == []  # same moment: nothing new
    later = schedules.claim_due(store, t0 + timedelta(hours=1), grace=30)  # an hour "down"
    assert [c.fire_time for c in later] == sorted(c.fire_time for c in later) and 3 <= len(later) <= 4
    assert all((t0 + timedelta(hours=1) - c.fire_time).total_seconds() <= 30 for c in later)
    skipped = store.query("SELECT * FROM schedule_fires WHERE schedule_id = ? AND status = 'skipped'", [sid])
    assert len(skipped) == 1 and "missed while no service ran" in skipped[0]["message"]
    assert "catchup = skip" in skipped[0]["message"]


def test_catchup_run_once_runs_one_catch_up_slot(store):
    sid = _register(store, "10s", "run_once")
    t0 = datetime.now(UTC)
    schedules.claim_due(store, t0, grace=0)
    later = schedules.claim_due(store, t0 + timedelta(hours=1), grace=0)
    assert len(later) == 1 and "catch-up" in later[0].note
    rows = store.query("SELECT status FROM schedule_fires WHERE schedule_id = ? ORDER BY fire_time", [sid])
    assert [r["status"] for r in rows][-2:] == ["skipped", "claimed"]


def test_paused_schedule_does_not_fire_and_resumes_without_catching_up(store):
    sid = _register(store, "10s", "run_once")
    schedules.set_enabled(store, sid, False)
    t0 = datetime.now(UTC)
    assert schedules.claim_due(store, t0 + timedelta(minutes=5), grace=0) == []
    schedules.sync_from_library(store)  # a pause survives the file sync
    assert schedules.get_schedule(store, sid)["enabled"] is False
    resumed = schedules.set_enabled(store, sid, True)
    since = schedules._aware(resumed["active_since"])
    # a 10 s slot may fall in the next second (then it runs: it is after the resume); none from the pause
    claims = schedules.claim_due(store, datetime.now(UTC) + timedelta(seconds=1), grace=0)
    assert len(claims) <= 1 and all(c.fire_time > since for c in claims), claims


def test_api_schedule_add_list_remove_and_file_schedule_cannot_be_removed(store):
    sid = _register(store)
    wid = sid.split(":")[0]
    added = schedules.add_schedule(store, wid, {"id": "morning", "cron": "0 7 * * 1-5", "timezone": "Europe/Paris"})
    assert added["schedule_id"] == f"{wid}:morning" and len(added["next_fires"]) == 3
    ids = {r["schedule_id"] for r in schedules.list_schedules(store, wid)}
    assert ids == {sid, f"{wid}:morning"}
    with pytest.raises(schedules.ScheduleError, match="workflow file"):
        schedules.remove_schedule(store, sid)
    schedules.remove_schedule(store, f"{wid}:morning")
    assert {r["schedule_id"] for r in schedules.list_schedules(store, wid)} == {sid}
    with pytest.raises(schedules.ScheduleError, match="no workflow"):
        schedules.add_schedule(store, "nope", {"every": "1h"})


def test_a_new_version_with_other_schedules_replaces_them_and_the_diff_shows_it(store):
    from engine import library

    def spec(extra):
        return parse_workflow_text(NOOP_TOML.format(name="versions", extra=extra))

    wid, _ = library.save_workflow(store, spec('[[schedules]]\nid = "a"\nevery = "1h"\n'))
    schedules.sync_from_library(store)
    library.save_workflow(store, spec('[[schedules]]\nid = "b"\ncron = "0 6 * * *"\n'), workflow_id=wid)
    schedules.sync_from_library(store)
    assert [r["schedule_id"] for r in schedules.list_schedules(store, wid)] == [f"{wid}:b"]
    diff = library.diff_versions(store, wid, 1, 2)
    assert (
        '-[[schedules]] {"every": "1h", "id": "a"}' in diff
        and '+[[schedules]] {"cron": "0 6 * * *", "id": "b"}' in diff
    )
    library.archive_workflow(store, wid)
    assert schedules.list_schedules(store, wid) == []


def test_a_slot_claimed_by_a_dead_service_is_taken_over_once_with_its_execution_id(store):
    import os
    import socket

    sid = _register(store, "10s", "skip")
    t0 = datetime.now(UTC)
    dead = f"{socket.gethostname()}:999999:gone"  # no lease row and no such process on this machine
    live = f"{socket.gethostname()}:{os.getpid()}:here"
    claims = schedules.claim_due(store, t0 + timedelta(seconds=25), grace=60, owner=dead)
    assert claims
    later = t0 + timedelta(seconds=45)
    assert schedules.reclaim_orphans(store, live, now=t0 + timedelta(seconds=26), grace=60) == []  # too fresh
    taken = schedules.reclaim_orphans(store, live, now=later, grace=60)
    assert sorted(c.execution_id for c in taken) == sorted(c.execution_id for c in claims)
    assert all("taken over" in c.note for c in taken)
    assert schedules.reclaim_orphans(store, "someone-else", now=later, grace=60) == []  # the live taker holds them
    by_live = schedules.claim_due(store, later, grace=60, owner=live)  # a live claimer is never overtaken
    assert by_live and schedules.reclaim_orphans(store, "other", now=later + timedelta(seconds=30), grace=60) == []
    rows = store.query("SELECT status FROM schedule_fires WHERE schedule_id = ?", [sid])
    assert {r["status"] for r in rows} == {"claimed"}


def test_an_orphaned_claim_past_the_grace_is_recorded_failed(store):
    import socket

    sid = _register(store, "10s", "skip")
    t0 = datetime.now(UTC)
    dead = f"{socket.gethostname()}:999999:gone"
    assert schedules.claim_due(store, t0 + timedelta(seconds=15), grace=60, owner=dead)
    assert schedules.reclaim_orphans(store, "me", now=t0 + timedelta(hours=1), grace=60) == []
    rows = store.query("SELECT status, message FROM schedule_fires WHERE schedule_id = ?", [sid])
    assert {r["status"] for r in rows} == {"failed"} and all("stopped before starting" in r["message"] for r in rows)


def test_overlap_skip_starts_no_new_run_while_the_last_one_is_live(store):
    sid = _register(store, "10s", "skip", overlap="skip")
    wid = sid.split(":")[0]
    t0 = datetime.now(UTC)
    first = schedules.claim_due(store, t0 + timedelta(seconds=25), grace=60)
    assert len(first) == 1  # one run at a time: only the newest due slot
    assert schedules.claim_due(store, t0 + timedelta(seconds=45), grace=60) == []  # claimed, not started yet
    eid = first[0].execution_id
    store.append("execution_starters", {"execution_id": eid, "workflow_id": wid, "started_by": f"schedule:{sid}"})
    store.append("workflow_executions", {"execution_id": eid, "workflow_id": wid, "status": "running"})
    assert schedules.claim_due(store, t0 + timedelta(seconds=65), grace=60) == []  # still running
    skipped = store.query("SELECT message FROM schedule_fires WHERE schedule_id = ? AND status = 'skipped'", [sid])
    assert len(skipped) == 2 and all("overlap = skip" in r["message"] for r in skipped)
    store.append("workflow_executions", {"execution_id": eid, "workflow_id": wid, "status": "completed"})
    assert len(schedules.claim_due(store, t0 + timedelta(seconds=85), grace=60)) == 1


def test_file_scan_hashes_a_file_again_only_when_it_changed(tmp_path, monkeypatch):
    import os

    from engine.automation import triggers

    monkeypatch.setenv("WORKBENCH_DATA_DIRS", str(tmp_path))
    f = tmp_path / "a.csv"
    f.write_text("x\n1\n")
    old = f.stat().st_mtime - 5
    os.utime(f, (old, old))
    reads = []
    real = triggers._sha256
    monkeypatch.setattr(triggers, "_sha256", lambda p: reads.append(p) or real(p))
    trig = {"trigger_id": "t", "definition": {"folder": str(tmp_path), "glob": "*.csv"}}
    first = triggers.scan(trig)
    assert [v.sha256 for v in triggers.scan(trig)] == [v.sha256 for v in first] and len(reads) == 1
    f.write_text("x\n2\n")
    os.utime(f, (old + 1, old + 1))
    assert triggers.scan(trig)[0].sha256 != first[0].sha256 and len(reads) == 2
