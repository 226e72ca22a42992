"""The app with and without the workbench service: the sidebar says which mode it is in, and the Run
page launches through the service when ``WORKBENCH_SERVER`` answers (a real ``workbench serve`` on the
app's store)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.workbench import library as wb_library
from engine.workbench import runs
from engine.workflow_file import WorkflowSpec
from tests.app.conftest import app_engine, page_test, texts, wait_for  # noqa: F401 - fixtures used below
from tests.service.conftest import free_port, start_server, stop_server

pytestmark = [pytest.mark.slow]
APP = Path(__file__).resolve().parents[2] / "app"


@pytest.fixture
def served(store):
    """``workbench serve --no-ray`` on the test's store (the app's engine uses the same files)."""
    srv = start_server(Path(store.path).parent, args=["--no-ray"], ready_path="/health", ready_timeout=120)
    yield srv
    stop_server(srv)


def _sidebar_captions(at) -> str:
    return "\n".join(str(c.value) for c in at.sidebar.caption)


def _main_page():
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(APP / "main.py"), default_timeout=60)


def test_sidebar_says_connected_to_the_service_when_it_answers(app_engine, served, monkeypatch):  # noqa: F811
    monkeypatch.setenv("WORKBENCH_SERVER", served.url)
    at = _main_page()
    at.run()
    assert not at.exception
    assert f"Connected to the workbench service at {served.url}" in _sidebar_captions(at)


def test_sidebar_says_runs_stay_in_the_app_without_a_service(app_engine, monkeypatch):  # noqa: F811
    monkeypatch.delenv("WORKBENCH_SERVER", raising=False)
    at = _main_page()
    at.run()
    assert "Runs in this app process" in _sidebar_captions(at)
    monkeypatch.setenv("WORKBENCH_SERVER", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    at = _main_page()
    at.run()
    captions = _sidebar_captions(at)
    assert "Runs in this app process" in captions and "Connected" not in captions


def test_sidebar_stops_saying_connected_once_the_service_is_gone(app_engine, monkeypatch):  # noqa: F811
    """A "yes" remembered from a service that has since stopped (or from an earlier service on the same
    port) must not keep the sidebar saying "Connected": the first failed call forgets it."""
    import time

    from engine import client

    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there now
    monkeypatch.setenv("WORKBENCH_SERVER", url)
    monkeypatch.setitem(client._REACHABLE, url, (time.monotonic(), True))  # answered a moment ago
    at = _main_page()
    at.run()
    captions = _sidebar_captions(at)
    assert "Runs in this app process" in captions and "Connected" not in captions
    assert client.reachable_server() is None


def test_a_failed_client_call_forgets_that_the_service_answered(monkeypatch):
    import time

    from engine import client

    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setitem(client._REACHABLE, url, (time.monotonic(), True))
    with client.WorkbenchClient(url) as c, pytest.raises(client.ServiceError, match="cannot reach"):
        c.health()
    assert url not in client._REACHABLE


def test_run_page_launches_through_the_service(app_engine, page_test, served, monkeypatch):  # noqa: F811
    monkeypatch.setenv("WORKBENCH_SERVER", served.url)
    spec = WorkflowSpec(name="Through the service", dsl="start->a; a->b; b->end;")
    wid, ver = wb_library.save_workflow(app_engine.store, spec)
    at = page_test("run")
    at.session_state["wb.workflow_id"] = wid
    at.run()
    next(b for b in at.button if b.label == "Launch").click()
    at.run()
    assert not at.exception
    eid = at.session_state["wb.run_id"]
    assert eid not in app_engine.execs  # not driven by the app's process
    wait_for(at, lambda a: any("completed" in m.value for m in a.markdown), timeout=60)
    row = runs.execution(app_engine.store, eid)
    assert row["status"] == "completed" and row["workflow_id"] == wid and row["version"] == ver
    assert row["owner"] != app_engine.owner
    assert "Steps done" in texts(at)


def test_run_page_shows_a_queued_run_as_queued_until_it_starts(app_engine, page_test, store, monkeypatch):  # noqa: F811
    from engine.client import WorkbenchClient

    srv = start_server(
        Path(store.path).parent, args=["--no-ray", "--max-runs", "1"], ready_path="/health", ready_timeout=120
    )
    try:
        monkeypatch.setenv("WORKBENCH_SERVER", srv.url)
        toml = """
name = "Slow one"
dsl = "start->nap; nap->end;"
[states.nap]
action = "python"
function = "tests.engine.functions:sleep_and_mark"
params = { seconds = 3 }
"""
        with WorkbenchClient(srv.url) as c:
            wf = c.create_workflow(toml=toml)
            c.execute(wf["workflow_id"], {}, execution="inline")
            queued = c.execute(wf["workflow_id"], {}, execution="inline")
        assert queued["status"] == "queued"
        at = page_test("run")
        at.session_state["wb.run_id"] = queued["execution_id"]
        at.run()
        assert not at.exception
        body = texts(at)
        assert "queued" in body and "Queued for" in body and "Waiting for a free slot" in body
        wait_for(at, lambda a: any("completed" in m.value for m in a.markdown), timeout=60)
        assert "Queued for" not in texts(at)
    finally:
        stop_server(srv)


def test_run_page_says_a_run_stays_in_the_app_when_the_named_service_does_not_answer(
    app_engine,  # noqa: F811
    page_test,  # noqa: F811
    monkeypatch,
):
    """``WORKBENCH_SERVER`` names a service that does not answer: the run is driven here, and the page
    says so (it stops with this app), instead of the usual "keeps going" message."""
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("WORKBENCH_SERVER", url)
    spec = WorkflowSpec(name="No service there", dsl="start->a; a->end;")
    wid, _ = wb_library.save_workflow(app_engine.store, spec)
    at = page_test("run")
    at.session_state["wb.workflow_id"] = wid
    at.run()
    next(b for b in at.button if b.label == "Launch").click()
    at.run()
    assert not at.exception
    eid = at.session_state["wb.run_id"]
    assert eid in app_engine.execs  # driven by the app's process
    warned = " ".join(str(w.value) for w in at.warning)
    assert f"Started run {eid} in this app process: no workbench service answers at {url}" in warned
    assert "stops if this app stops" in warned
