"""The Run page's "Start a run" expander keeps the state the analyst gave it (issue 11): it closes once
to show a launched run, and stays open or closed as the analyst leaves it through every redraw,
including the one when the watched run finishes."""

from __future__ import annotations

from pathlib import Path

from engine.workbench import library as wb_library
from engine.workbench import runs
from engine.workflow_file import load_workflow
from tests.app.conftest import wait_for

TEMPLATES = Path(__file__).resolve().parents[2] / "data" / "templates"
START_OPEN = "run.start_open"


def _start_expander(at):
    return next(e for e in at.expander if e.label == "Start a run")


def _launch(at):
    next(b for b in at.button if b.label == "Launch").click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]


def test_start_a_run_stays_open_after_the_watched_run_finishes(page_test, app_engine):
    wid, _ = wb_library.save_workflow(app_engine.store, load_workflow(TEMPLATES / "sales_report.toml"))
    at = page_test("run")
    at.session_state["wb.workflow_id"] = wid
    at.run()
    assert _start_expander(at).proto.expanded, "open while nothing is being watched"
    _launch(at)
    eid = at.session_state["wb.run_id"]
    assert not _start_expander(at).proto.expanded, "closed once to show the launched run"

    at.session_state[START_OPEN] = True  # the analyst opens it again (what the browser sends on a click)
    at.run()
    assert _start_expander(at).proto.expanded
    wait_for(
        at,
        lambda a: (
            runs.execution(app_engine.store, eid)["status"] == "completed"
            and any("completed" in m.value for m in a.markdown)
        ),
    )
    at.run()  # the redraw after the finish (the monitor's st.rerun) and one more
    assert _start_expander(at).proto.expanded, "still open after the watched run finished"
    assert at.selectbox(key="run.wid").value == wid

    at.session_state[START_OPEN] = False  # and closed stays closed
    at.run()
    at.run()
    assert not _start_expander(at).proto.expanded


def test_start_a_run_opens_when_another_page_picks_a_workflow(page_test, app_engine):
    a, _ = wb_library.save_workflow(app_engine.store, load_workflow(TEMPLATES / "sales_report.toml"))
    b, _ = wb_library.save_workflow(app_engine.store, load_workflow(TEMPLATES / "order_processing.toml"))
    at = page_test("run")
    at.session_state["wb.workflow_id"] = a
    at.run()
    _launch(at)
    assert not _start_expander(at).proto.expanded
    at.session_state["wb.workflow_id"] = b  # e.g. "Run it" on the Describe page
    at.run()
    assert _start_expander(at).proto.expanded
    assert at.selectbox(key="run.wid").value == b


def test_a_run_watched_from_another_session_keeps_its_label_after_it_finishes(page_test, app_engine):
    wid, _ = wb_library.save_workflow(app_engine.store, load_workflow(TEMPLATES / "sales_report.toml"))
    launcher = page_test("run")
    launcher.session_state["wb.workflow_id"] = wid
    launcher.run()
    _launch(launcher)
    eid = launcher.session_state["wb.run_id"]

    watcher = page_test("run")  # another session, watching a run it did not launch
    watcher.session_state["wb.run_id"] = eid
    wait_for(watcher, lambda a: runs.execution(app_engine.store, eid)["status"] == "completed")
    watcher.run()
    label = watcher.selectbox(key="run.watch").format_func(eid)
    assert label == f"Regional sales report v1 · completed · {eid}", label
