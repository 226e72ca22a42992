"""``workbench run/approve/answer/cancel/history/show`` with ``WORKBENCH_SERVER`` set: the service
drives the run. The CLI process gets a Ray address nothing listens on and an empty store of its
own, so anything it did locally would fail or leave local records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.service.conftest import REPO
from tests.service.test_api import APPROVAL_TOML, CHAIN

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def cli(server, tmp_path, *argv, server_env=True, timeout=120, db=None):
    env = dict(
        os.environ, WORKBENCH_DB=str(db or tmp_path / "local.duckdb"), RAY_ADDRESS="127.0.0.1:1", PYTHONPATH=str(REPO)
    )
    if server_env:
        env["WORKBENCH_SERVER"] = server.url
    else:
        env.pop("WORKBENCH_SERVER", None)
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *argv], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_run_a_dsl_file_through_the_service(server, tmp_path):
    f = tmp_path / "three.dsl"
    f.write_text(CHAIN)
    p = cli(server, tmp_path, "run", str(f), "--context", '{"n": 5}', "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["status"] == "completed" and out["final_context"] == {"n": 5}
    ex = httpx.get(f"{server.url}/api/v1/executions/{out['execution_id']}").json()
    assert ex["workflow_name"] == "three" and ex["status"] == "completed"
    assert not (tmp_path / "local_log").exists()  # nothing recorded by the CLI process itself
    # the same file again is the same library workflow and version
    again = json.loads(cli(server, tmp_path, "run", str(f), "--json").stdout)
    assert (again["workflow_id"], again["version"]) == (out["workflow_id"], out["version"])


def test_run_waits_then_approve_from_another_cli_and_show_history(server, tmp_path):
    f = tmp_path / "approval.toml"
    f.write_text(APPROVAL_TOML.replace("Ship after approval", "CLI approval"))
    p = cli(server, tmp_path, "run", str(f), "--context", '{"order": 9}')
    assert p.returncode == 1, p.stderr
    assert "waiting: execution" in p.stdout and "approve" in p.stderr and "the service keeps driving" in p.stderr
    eid = p.stdout.split("execution ")[1].split()[0]
    time.sleep(1.0)
    assert httpx.get(f"{server.url}/api/v1/executions/{eid}").json()["status"] == "waiting"  # still driven there
    p = cli(server, tmp_path, "approve", eid, "ask", "--yes")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("completed (outcome: ship): execution")
    hist = json.loads(cli(server, tmp_path, "history", "--workflow", "CLI approval", "--json").stdout)
    assert [r["execution_id"] for r in hist] == [eid] and hist[0]["status"] == "completed"
    shown = cli(server, tmp_path, "show", eid)
    assert shown.returncode == 0 and "status completed" in shown.stdout and "ask -> ship" in shown.stdout
    p = cli(server, tmp_path, "cancel", eid)  # already ended: the service says 409
    assert p.returncode == 1 and "already completed" in p.stderr


def test_without_workbench_server_the_cli_runs_locally(server, tmp_path):
    f = tmp_path / "three.dsl"
    f.write_text(CHAIN)
    p = cli(server, tmp_path, "history", "--json", server_env=False)
    assert p.returncode == 0 and json.loads(p.stdout) == []  # the local (empty) store, not the service's


def test_bad_context_is_refused_before_anything_is_sent(server, tmp_path):
    f = tmp_path / "three.dsl"
    f.write_text(CHAIN)
    before = len(httpx.get(f"{server.url}/api/v1/executions", params={"limit": 1000}).json()["executions"])
    p = cli(server, tmp_path, "run", str(f), "--context", "[1, 2]")
    assert p.returncode == 1 and "--context" in p.stderr
    after = len(httpx.get(f"{server.url}/api/v1/executions", params={"limit": 1000}).json()["executions"])
    assert after == before


def test_the_run_outlives_the_cli_that_started_it(server, tmp_path):
    f = tmp_path / "slow.toml"
    f.write_text(
        'name = "Outlives the CLI"\ndsl = "start->slow; slow->after; after->end;"\n'
        '[states.slow]\naction = "python"\nfunction = "tests.engine.functions:sleep_and_mark"\n'
        "params = { seconds = 3.0 }\n"
    )
    env = dict(
        os.environ,
        WORKBENCH_DB=str(tmp_path / "local.duckdb"),
        RAY_ADDRESS="127.0.0.1:1",
        PYTHONPATH=str(REPO),
        WORKBENCH_SERVER=server.url,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "run", str(f)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    rows: list = []
    while not rows:
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        rows = httpx.get(f"{server.url}/api/v1/executions", params={"workflow": "Outlives the CLI"}).json()[
            "executions"
        ]
        time.sleep(0.1)
    proc.kill()  # the launching process dies mid-run
    proc.wait(10)
    eid = rows[0]["execution_id"]
    assert httpx.get(f"{server.url}/api/v1/executions/{eid}").json()["status"] in ("pending", "running")
    deadline = time.monotonic() + 60
    while (ex := httpx.get(f"{server.url}/api/v1/executions/{eid}").json())["status"] not in ("completed", "failed"):
        assert time.monotonic() < deadline, ex
        time.sleep(0.2)
    assert ex["status"] == "completed" and ex["states_visited"] == ["start", "slow", "after", "end"]


def test_a_run_left_waiting_by_a_local_cli_is_answered_and_finished_by_the_service(server, tmp_path):
    """A local `workbench run` (no service) on the service's store stops when the run waits for a
    person; approving it over the API makes the service resume and drive it to the end."""
    f = tmp_path / "approval.toml"
    f.write_text(APPROVAL_TOML.replace("Ship after approval", "Left by a CLI"))
    p = cli(server, tmp_path, "run", str(f), "--json", server_env=False, db=server.db)
    assert p.returncode == 1, p.stderr
    eid = json.loads(p.stdout)["execution_id"]
    deadline = time.monotonic() + 30  # the service picks up the CLI's records once its log is converted
    while (r := httpx.get(f"{server.url}/api/v1/executions/{eid}")).status_code == 404:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert r.json()["status"] == "waiting"
    out = httpx.post(f"{server.url}/api/v1/executions/{eid}/approve", json={"state": "ask", "approved": True})
    assert out.status_code == 200 and out.json()["delivered"] == "resumed"
    deadline = time.monotonic() + 60
    while (ex := httpx.get(f"{server.url}/api/v1/executions/{eid}").json())["status"] != "completed":
        assert time.monotonic() < deadline, ex
        time.sleep(0.2)
    assert ex["states_visited"][-2:] == ["ship", "end"]
    metrics = httpx.get(f"{server.url}/metrics").text
    labels = f'workflow="Left by a CLI",workflow_id="{ex["workflow_id"]}"'  # the name and the stable id
    assert f'workbench_runs_started_total{{kind="resume",{labels}}} 1.0' in metrics
    assert f'workbench_runs_finished_total{{status="completed",{labels}}} 1.0' in metrics


def test_the_cli_finds_a_service_on_its_own_store_without_workbench_server(server, tmp_path, monkeypatch):
    """Under ``make run`` a plain ``workbench run`` (no WORKBENCH_SERVER) goes to the service when the
    service records into the same store; a service on another store is never used."""
    from engine.cli.serve_cmds import use_service
    from engine.client import service_for_this_store

    monkeypatch.setenv("WORKBENCH_DB", str(server.db))
    assert service_for_this_store(server.url) == server.url.rstrip("/")
    monkeypatch.setenv("WORKBENCH_DB", str(tmp_path / "other.duckdb"))
    assert service_for_this_store(server.url) is None
    assert service_for_this_store("http://127.0.0.1:1") is None  # nothing listens there
    monkeypatch.setenv("WORKBENCH_SERVER", "local")  # forces in-process
    assert use_service() is False
    monkeypatch.setenv("WORKBENCH_SERVER", server.url)
    assert use_service() is True
