"""The run card's notes about this app's Ray (issue 15, fresh pass): a finished run never says "Ray is
still starting" (seen beside a completed run while the sidebar said Ray was unavailable), a Ray that
failed to start is not called "starting", and a live run this app drives still gets the note."""

from __future__ import annotations

from pathlib import Path

from engine.workbench import library as wb_library
from engine.workbench import runs
from engine.workflow_file import load_workflow
from tests.app.conftest import texts

TEMPLATES = Path(__file__).resolve().parents[2] / "data" / "templates"


def _start(eng, ctx):
    wid, ver = wb_library.save_workflow(eng.store, load_workflow(TEMPLATES / "order_processing.toml"))
    spec, _ = wb_library.get_workflow(eng.store, wid, ver)
    return runs.start_run(eng, spec, ctx, runs.run_options(), wid, ver)


def _until(eng, eid, status, timeout=30.0):
    import time

    deadline = time.monotonic() + timeout
    while (runs.execution(eng.store, eid) or {}).get("status") != status:
        assert time.monotonic() < deadline, runs.execution(eng.store, eid)
        time.sleep(0.1)


def _ray_failed(eng) -> None:
    """This app's Ray did not come up (what an overloaded machine gave: the raylet timed out)."""
    eng._executor_ready, eng._executor_error = False, "could not start or connect to Ray (local): timed out"


def test_a_finished_run_has_no_ray_starting_note(page_test, app_engine, monkeypatch):
    monkeypatch.delenv("WORKBENCH_SERVER", raising=False)
    done = _start(app_engine, {"order_id": 1})
    _until(app_engine, done, "completed")
    waiting = _start(app_engine, {"order_id": 3})
    _until(app_engine, waiting, "waiting")
    _ray_failed(app_engine)
    at = page_test("run")
    at.session_state["wb.run_id"] = done
    at.run()
    assert not at.exception
    assert "Ray is still starting" not in texts(at) and "Ray is unavailable" not in texts(at)
    at = page_test("run")
    at.session_state["wb.run_id"] = waiting
    at.run()
    body = texts(at)
    assert "Ray is unavailable in this app" in body and "Ray is still starting" not in body
