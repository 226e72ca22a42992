"""Schedules fired by real ``workbench serve`` processes: every slot once, across a restart, and two
processes claiming slots on one store never take the same slot twice."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest

from tests.automation.conftest import api, save, wait_for
from tests.service.conftest import REPO, start_server, stop_server

pytestmark = [pytest.mark.slow]

SERVER_ENV = {"WORKBENCH_SCHEDULE_GRACE_S": "600"}


@pytest.fixture
def tmp_store_dir():
    tmp = Path(tempfile.mkdtemp(prefix="wb-sched-test-"))
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


def _started(server, sid: str) -> list[dict]:
    r = api(server, "GET", f"/schedules/{sid}/fires", params={"limit": 1000})
    assert r.status_code == 200, r.text
    return [f for f in r.json()["fires"] if f["status"] == "started"]


def _file_runs(server, wid: str) -> list[str]:
    from engine.store import Store

    with Store(server.db) as st:
        rows = st.query(
            "SELECT e.initial_context->>'$.file.name' AS name FROM workflow_executions e "
            "JOIN execution_starters s USING (execution_id) WHERE s.started_by = ?",
            [f"trigger:{wid}:drop"],
        )
    return sorted(r["name"] for r in rows)


def test_interval_schedule_fires_every_slot_once_across_a_service_restart(tmp_store_dir, tmp_path):
    db = tmp_store_dir / "workbench.duckdb"
    (tmp_path / "a.csv").write_text("x\n1\n")
    extra = '[[schedules]]\nid = "fast"\nevery = "2s"\ncontext = { who = "cron" }\n'
    extra += f'[[triggers]]\ntype = "file"\nid = "drop"\nfolder = "{tmp_path}"\nglob = "*.csv"\n'
    wid = save(db, "every two seconds", extra)
    sid = f"{wid}:fast"
    first = start_server(tmp_store_dir, SERVER_ENV, args=["--no-ray"], ready_path="/health", ready_timeout=120)
    try:
        listed = api(first, "GET", "/schedules", params={"workflow": wid}).json()["schedules"]
        assert [s["schedule_id"] for s in listed] == [sid] and len(listed[0]["next_fires"]) == 3
        wait_for(lambda: len(_started(first, sid)) >= 3, 90, what="3 fires by the first service")
        wait_for(lambda: _file_runs(first, wid) == ["a.csv"], 30, what="the dropped file's run")
    finally:
        stop_server(first)
    second = start_server(tmp_store_dir, SERVER_ENV, args=["--no-ray"], ready_path="/health", ready_timeout=120)
    try:
        before = {f["fire_key"] for f in _started(second, sid)}
        wait_for(
            lambda: len({f["fire_key"] for f in _started(second, sid)} - before) >= 3, 90, what="3 fires after restart"
        )
        ran = wait_for(
            lambda: [
                f
                for f in _started(second, sid)
                if (api(second, "GET", f"/executions/{f['execution_id']}").json().get("status") == "completed")
            ],
            60,
            what="runs completed",
        )
        assert ran
        (tmp_path / "b.csv").write_text("x\n2\n")  # its run proves the new process scanned the folder
        wait_for(lambda: "b.csv" in _file_runs(second, wid), 30, what="b.csv's run")
        assert _file_runs(second, wid) == ["a.csv", "b.csv"]  # a.csv's version was not run again
    finally:
        stop_server(second)

    from engine.store import Store

    with Store(db) as st:
        claimed = st.query(
            "SELECT fire_key, fire_time, execution_id FROM schedule_fires_history WHERE schedule_id = ? "
            "AND status = 'claimed' ORDER BY fire_time",
            [sid],
        )
        finals = {
            r["fire_key"]: r["status"] for r in st.query("SELECT * FROM schedule_fires WHERE schedule_id = ?", [sid])
        }
        starters = st.query("SELECT execution_id FROM execution_starters WHERE started_by = ?", [f"schedule:{sid}"])
        runs = st.query(
            "SELECT e.execution_id, e.initial_context->>'$.who' AS who FROM workflow_executions e "
            "JOIN execution_starters s USING (execution_id) WHERE s.started_by = ?",
            [f"schedule:{sid}"],
        )
    keys = [r["fire_key"] for r in claimed]
    assert len(keys) == len(set(keys)) >= 6, "a slot was claimed twice"
    times = [r["fire_time"] for r in claimed]
    # every 2 s slot from the first to the last, the restart's downtime included (within the grace)
    assert all(b - a == timedelta(seconds=2) for a, b in zip(times, times[1:])), times
    started = [k for k in keys if finals[k] == "started"]
    assert set(finals.values()) <= {"started", "failed"}
    assert len(starters) == len({r["execution_id"] for r in starters}) == len(started)
    assert len(runs) == len(started) and {r["who"] for r in runs} == {"cron"}


CLAIMER = """
import sys, time
from engine.store import Store
from engine.automation import schedules
st = Store(sys.argv[1])
end = time.monotonic() + float(sys.argv[2])
n = 0
while time.monotonic() < end:
    n += len(schedules.claim_due(st))
    time.sleep(0.01)
st.close()
print(n)
"""


def test_two_processes_claiming_on_one_store_never_take_a_slot_twice(tmp_store_dir):
    db = tmp_store_dir / "workbench.duckdb"
    wid = save(db, "every second", '[[schedules]]\nid = "s"\nevery = "1s"\n')
    from engine.automation import schedules
    from engine.store import Store

    with Store(db) as st:
        schedules.sync_from_library(st)
    env = dict(os.environ, PYTHONPATH=str(REPO), WORKBENCH_SCHEDULE_GRACE_S="600")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, str(db), "6"], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    counts = []
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0
        counts.append(int(out.strip().splitlines()[-1]))
    with Store(db) as st:
        rows = st.query(
            "SELECT fire_key, count(*) AS n FROM schedule_fires_history WHERE schedule_id = ? AND status = 'claimed' "
            "GROUP BY fire_key",
            [f"{wid}:s"],
        )
    assert rows and all(r["n"] == 1 for r in rows), [r for r in rows if r["n"] > 1]
    assert sum(counts) == len(rows) >= 4
