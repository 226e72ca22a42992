"""In service mode (``WORKBENCH_SERVER`` answers) the app's run actions go through the service's REST
API: the service owns the run, so approvals, answers, cancels and re-runs clicked in the app are the
service's (its audit entry, its 409 reasons shown to the user), never the app process taking the run
over. Each test uses a fresh app engine that never saw the run: the app process "restarted" since the
run began. A real ``workbench serve --no-ray`` on the test's store."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine import records
from engine.client import WorkbenchClient
from engine.workbench import runs
from tests.app.conftest import app_engine, page_test, texts, wait_for  # noqa: F401 - fixtures used below
from tests.service.conftest import start_server, stop_server

pytestmark = [pytest.mark.slow]

APPROVAL_TOML = '''
name = "Ship after approval"
dsl = """start->prepare; prepare->ask; ask->ship:approved==True; ask->hold; ship->end; hold->end;"""
[states.ask]
action = "approval"
message = "Ship it?"
'''


@pytest.fixture
def served(store, monkeypatch):
    """``workbench serve --no-ray`` on the test's store; the app is in service mode (WORKBENCH_SERVER)."""
    srv = start_server(Path(store.path).parent, args=["--no-ray"], ready_path="/health", ready_timeout=120)
    monkeypatch.setenv("WORKBENCH_SERVER", srv.url)
    yield srv
    stop_server(srv)


def _waiting_run(url: str) -> str:
    """A run started on the service that waits for an approval at 'ask'."""
    with WorkbenchClient(url) as c:
        wf = c.create_workflow(toml=APPROVAL_TOML)
        eid = c.execute(wf["workflow_id"], {"order_id": 7}, execution="inline")["execution_id"]
        deadline = time.monotonic() + 60
        while c.execution(eid)["status"] != "waiting":
            assert time.monotonic() < deadline, c.execution(eid)
            time.sleep(0.2)
    return eid


def _click(at, label: str) -> None:
    next(b for b in at.button if b.label == label).click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]


def _events(store, eid: str) -> list[str]:
    return [a["event_type"] for a in runs.audit_log(store, eid, include_debug=True)]


def _seen_by_the_app(store, eid: str, check, timeout: float = 30.0) -> dict:
    """The run's row once ``check(row)`` holds in the app's store. The service records in its own
    process; the app's store sees those rows once the service has flushed them (cross-process), so an
    action that went through the API shows up here a moment later, longer on a loaded machine."""
    deadline = time.monotonic() + timeout
    while not check(row := runs.execution(store, eid)):
        assert time.monotonic() < deadline, row
        time.sleep(0.2)
    return row


def test_approve_in_the_app_goes_through_the_service(app_engine, page_test, served):  # noqa: F811
    eid = _waiting_run(served.url)
    service_owner = records.execution(app_engine.store, eid)["owner"]
    at = page_test("run")
    at.session_state["wb.run_id"] = eid
    at.run()
    assert "Approval needed" in texts(at)
    _click(at, "Approve")
    wait_for(at, lambda a: runs.execution(app_engine.store, eid)["status"] == "completed", timeout=60)
    row = runs.execution(app_engine.store, eid)
    assert "ship" in row["states_visited"]
    assert "api.answer" in _events(app_engine.store, eid)  # the service took the answer
    assert eid not in app_engine.execs and row["owner"] == service_owner != app_engine.owner


def test_the_services_409_reason_is_shown_when_the_run_was_cancelled_meanwhile(app_engine, page_test, served):  # noqa: F811
    eid = _waiting_run(served.url)
    at = page_test("run")
    at.session_state["wb.run_id"] = eid
    at.run()
    assert any(b.label == "Approve" for b in at.button)
    with WorkbenchClient(served.url) as c:  # someone else cancels it while the Approve button is on screen
        c.cancel(eid)
    _click(at, "Approve")
    warned = "\n".join(str(w.value) for w in at.warning)
    assert "not sent" in warned and "409" in warned and "cancelled" in warned, warned
    _seen_by_the_app(app_engine.store, eid, lambda r: r["status"] == "cancelled")


def test_cancel_in_the_app_goes_through_the_service(app_engine, page_test, served):  # noqa: F811
    eid = _waiting_run(served.url)
    at = page_test("run")
    at.session_state["wb.run_id"] = eid
    at.run()
    _click(at, "Cancel run")
    assert "Cancelled" in texts(at) and not at.error
    row = _seen_by_the_app(app_engine.store, eid, lambda r: r["status"] == "cancelled")
    assert row["error_message"] == "cancelled through the API"
    _seen_by_the_app(app_engine.store, eid, lambda r: "api.cancel" in _events(app_engine.store, eid))


def test_rerun_from_history_is_started_by_the_service(app_engine, page_test, served):  # noqa: F811
    eid = _waiting_run(served.url)
    with WorkbenchClient(served.url) as c:
        c.approve(eid, "ask", True)
        assert c.wait(eid, timeout=60)["status"] == "completed"
    at = page_test("history")
    at.session_state["hist.selected"] = eid
    at.run()
    at.selectbox(key=f"hist.rerun_from.{eid}").set_value("ask")
    _click(at, "Re-run from here")
    new = at.session_state["hist.selected"]
    assert new != eid
    row = _seen_by_the_app(app_engine.store, new, lambda r: r is not None)
    assert row["rerun_of"] == eid
    assert new not in app_engine.execs and row["owner"] != app_engine.owner  # the service drives it


def test_a_workflow_file_posted_to_the_api_keeps_its_description(served):
    """POST /workflows with a TOML file: the body's empty ``description`` default must not wipe the
    file's (the Workflows table and the Run page showed templates created through the API bare)."""
    import tomllib

    text = (Path(__file__).resolve().parents[2] / "data" / "templates" / "order_processing.toml").read_text()
    want = tomllib.loads(text)["description"]
    with WorkbenchClient(served.url) as c:
        wf = c.create_workflow(toml=text)
        assert c.get_workflow(wf["workflow_id"])["description"] == want
        given = c.create_workflow(toml=text, description="my own words")
        assert c.get_workflow(given["workflow_id"])["description"] == "my own words"


def test_the_sidebar_shows_the_services_ray_in_service_mode(app_engine, served):  # noqa: F811
    """The service's Ray runs the steps: the sidebar reports it (its /ready), not this app's Ray, which
    may be starting or have failed to start while the service's is fine (seen on a loaded machine)."""
    from streamlit.testing.v1 import AppTest

    from engine.workbench import system

    app_engine._executor_ready, app_engine._executor_error = False, "could not start or connect to Ray: timed out"
    want = "● Ray ready" if system.service_cluster_status(served.url)["ready"] else "◌ Ray starting"
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app" / "main.py"), default_timeout=60)
    at.run()
    assert not at.exception
    captions = "\n".join(str(c.value) for c in at.sidebar.caption)
    assert f"{want}" in captions and "(the service's)" in captions, captions
    assert "Ray unavailable" not in captions and "timed out" not in captions
