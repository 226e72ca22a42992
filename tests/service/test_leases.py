"""Ownership of a run is a lease in the records (engine/leases.py), so it works across machines.

Real store files; "another machine" is a run whose owner names another host (what a process there
writes), its liveness known only from the lease it renews in the shared records."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time

from engine import leases
from engine.service.adopt import orphaned_runs

ELSEWHERE = "build-host-7:4242:ab12cd"


def _run_row(execution_id: str, owner: str, status: str = "running") -> dict:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return {
        "execution_id": execution_id,
        "workflow_id": "wf",
        "workflow_name": "wf",
        "version": 1,
        "status": status,
        "initial_context": {},
        "options": {},
        "owner": owner,
        "start_time": now,
        "updated_at": now,
        "seq": 1,
    }


def test_an_owner_on_another_machine_is_alive_while_its_lease_is_renewed_and_orphaned_once_it_expires(store):
    assert leases.owner_alive(store, ELSEWHERE, "me")  # no lease written (older records): trusted
    leases.renew(store, ELSEWHERE, ttl_s=60)
    assert leases.owner_alive(store, ELSEWHERE, "me")
    leases.renew(store, ELSEWHERE, ttl_s=0.3)  # the newest row wins
    time.sleep(0.5)
    assert not leases.owner_alive(store, ELSEWHERE, "me")
    leases.renew(store, ELSEWHERE, ttl_s=60)  # renewed again: alive again
    assert leases.owner_alive(store, ELSEWHERE, "me")


def test_on_this_machine_a_dead_process_is_orphaned_at_once_and_an_expired_lease_wins_over_a_live_pid(store):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    dead = f"{socket.gethostname()}:{proc.pid}:dead00"
    leases.renew(store, dead, ttl_s=60)
    assert not leases.owner_alive(store, dead, "me")  # fresh lease, but the process is gone
    stuck = f"{socket.gethostname()}:{os.getpid()}:stuck0"
    leases.renew(store, stuck, ttl_s=0.2)
    time.sleep(0.4)
    assert not leases.owner_alive(store, stuck, "me")  # alive PID, but it stopped renewing
    leases.release(store, ELSEWHERE)
    assert not leases.owner_alive(store, ELSEWHERE, "me")


def test_orphaned_runs_are_those_whose_owner_lost_its_lease(store):
    leases.renew(store, ELSEWHERE, ttl_s=0.3)
    live = "other-host:1:live00"
    leases.renew(store, live, ttl_s=60)
    store.append("workflow_executions", _run_row("r-orphan", ELSEWHERE))
    store.append("workflow_executions", _run_row("r-live", live))
    store.append("workflow_executions", _run_row("r-waiting", ELSEWHERE, status="waiting"))
    store.append("workflow_executions", _run_row("r-queued", ELSEWHERE, status="queued"))
    store.append("workflow_executions", _run_row("r-mine", "me"))
    time.sleep(0.5)
    got = sorted(r["execution_id"] for r in orphaned_runs(store, "me"))
    assert got == ["r-orphan", "r-queued"]  # waiting runs resume on an answer; live and own runs stay


def test_an_engine_driving_a_run_renews_its_lease(inline_engine, store):
    from engine.workflow_file import parse_workflow_text

    spec = parse_workflow_text(
        """
name = "Lease holder"
dsl = "start->nap; nap->end;"
[states.nap]
action = "python"
function = "tests.engine.functions:sleep_and_mark"
params = { seconds = 1.5 }
""",
        source="t",
        fmt="toml",
    )
    eid = inline_engine.start(spec, {}, workflow_id="lease-holder", version=None)
    deadline = time.monotonic() + 10
    while leases.lease_expires_at(store, inline_engine.owner) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    first = leases.lease_expires_at(store, inline_engine.owner)
    assert first is not None and first > dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert inline_engine.wait(eid, 30).status == "completed"
    row = inline_engine.execution_row(eid)
    assert row["owner"] == inline_engine.owner


def test_a_waiting_run_whose_request_expired_is_taken_over_once_its_driver_is_gone(store):
    from engine.run.recorder import request_row
    from engine.service.adopt import waiting_runs_past_expiry

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    leases.renew(store, ELSEWHERE, ttl_s=0.3)
    live = "other-host:1:live01"
    leases.renew(store, live, ttl_s=60)
    for eid, owner, expires in (
        ("r-expired", ELSEWHERE, now - dt.timedelta(seconds=5)),
        ("r-later", ELSEWHERE, now + dt.timedelta(hours=1)),
        ("r-driven", live, now - dt.timedelta(seconds=5)),  # its driver expires it itself
        ("r-no-limit", ELSEWHERE, None),
    ):
        store.append("workflow_executions", _run_row(eid, owner, status="waiting"))
        details = {"expires_at": expires.isoformat()} if expires else {}
        store.append(
            "human_requests",
            request_row(f"{eid}:t:ok:0:approval", eid, "ok", "approval", "OK?", ["yes", "no"], details, now),
        )
    time.sleep(0.5)
    assert [r["execution_id"] for r in waiting_runs_past_expiry(store, "me")] == ["r-expired"]
    assert [r["execution_id"] for r in orphaned_runs(store, "me")] == []  # waiting runs are not orphans


def test_a_waiting_run_is_taken_over_when_a_request_of_its_sub_workflow_expired(store):
    """The request may belong to a sub-workflow run (at any depth): the top-level run is the one to
    resume; a child's request that has not expired yet, or a top-level run that no longer waits, is left."""
    from engine.run.recorder import request_row
    from engine.service.adopt import waiting_runs_past_expiry

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    leases.renew(store, ELSEWHERE, ttl_s=0.3)
    runs = {  # execution id: (parent, status, request expiry or None)
        "deep": (None, "waiting", None),
        "deep-a-0": ("deep", "waiting", None),
        "deep-a-0-b-0": ("deep-a-0", "waiting", now - dt.timedelta(seconds=5)),  # a grandchild's request
        "child-later": (None, "waiting", None),
        "child-later-a-0": ("child-later", "waiting", now + dt.timedelta(hours=1)),
        "gone-on": (None, "running", None),
        "gone-on-a-0": ("gone-on", "waiting", now - dt.timedelta(seconds=5)),
    }
    for eid, (parent, status, expires) in runs.items():
        store.append("workflow_executions", {**_run_row(eid, ELSEWHERE, status=status), "parent_execution_id": parent})
        if expires is not None:
            details = {"expires_at": expires.isoformat()}
            store.append(
                "human_requests",
                request_row(f"{eid}:t:ok:0:approval", eid, "ok", "approval", "OK?", ["yes", "no"], details, now),
            )
    time.sleep(0.5)
    assert [r["execution_id"] for r in waiting_runs_past_expiry(store, "me")] == ["deep"]
