"""The Run page's graph in a 1400 px window: a graph whose readable drawing is wider than its ~454 px
column says so under it (scroll sideways / Fit), instead of silently cutting branches off."""

from __future__ import annotations

from engine.workbench import library as wb_library
from engine.workbench import runs
from engine.workflow_file import WorkflowSpec
from tests.app.conftest import texts
from tests.app.test_run_states import _start

HINT = "scroll sideways to see the whole graph"


def _run_page(page_test, eid):
    at = page_test("run")
    at.session_state["wb.run_id"] = eid
    at.run()
    assert not at.exception
    return texts(at)


def test_a_graph_wider_than_the_run_column_says_to_scroll_sideways(page_test, app_engine):
    eid = _start(app_engine, "order_processing.toml", {"order_id": 5})
    assert app_engine.wait(eid, 60).status == "completed"
    assert HINT in _run_page(page_test, eid)


def test_a_graph_that_fits_its_column_has_no_scroll_hint(page_test, app_engine):
    wid, ver = wb_library.save_workflow(app_engine.store, WorkflowSpec(name="Chain", dsl="start->a;a->b;b->end;"))
    spec, _ = wb_library.get_workflow(app_engine.store, wid, ver)
    eid = runs.start_run(app_engine, spec, {}, runs.run_options(), wid, ver)
    assert app_engine.wait(eid, 60).status == "completed"
    assert HINT not in _run_page(page_test, eid)
