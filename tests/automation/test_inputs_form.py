"""The Run page builds its form from a workflow's [inputs] (AppTest on app/app_pages/run.py)."""

from __future__ import annotations

import datetime as dt

from engine import records
from engine.workbench import library as wb_library
from engine.workflow_file import parse_workflow_text
from tests.app.conftest import app_engine, page_test, texts  # noqa: F401  (fixtures)

TYPED = """
name = "Form from inputs"
dsl = "start->a; a->end;"
[inputs.region]
type = "string"
required = true
enum = ["eu", "us"]
description = "Sales region"
[inputs.limit]
type = "integer"
default = 10
min = 1
max = 100
[inputs.ratio]
type = "number"
[inputs.day]
type = "date"
default = "2026-12-01"
[inputs.notify]
type = "boolean"
[inputs.tags]
type = "list"
[inputs.note]
type = "string"
description = "Free text for the report"
"""


def _launch(at):
    next(b for b in at.button if b.label == "Launch").click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]


def test_form_has_a_widget_per_input_and_launch_checks_it(page_test, app_engine):  # noqa: F811
    wid, ver = wb_library.save_workflow(app_engine.store, parse_workflow_text(TYPED))
    at = page_test("run")
    at.session_state["wb.workflow_id"] = wid
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    key = f"run.in.{wid}.v{ver}"
    region = at.selectbox(key=f"{key}.region")
    assert region.label == "region *" and region.options == ["eu", "us"] and region.help == "Sales region"
    limit = at.number_input(key=f"{key}.limit")
    assert limit.label == "limit" and limit.value == 10 and limit.max == 100
    assert at.date_input(key=f"{key}.day").value == dt.date(2026, 12, 1)
    assert at.checkbox(key=f"{key}.notify").value is False
    assert at.text_area(key=f"{key}.tags").label == "tags (JSON list)"
    assert at.text_input(key=f"{key}.note").help == "Free text for the report"
    assert not [t for t in at.text_area if t.label == "Initial context (JSON)"]  # the form replaces the box

    at.text_area(key=f"{key}.tags").input("not json")
    _launch(at)
    assert "input 'tags'" in texts(at) and "wb.run_id" not in at.session_state

    at.text_area(key=f"{key}.tags").input('["a", "b"]')
    at.selectbox(key=f"{key}.region").set_value("us")
    at.number_input(key=f"{key}.ratio").set_value(0.5)
    _launch(at)
    eid = at.session_state["wb.run_id"]
    ctx = records.last_initial_context(app_engine.store, wid)
    assert eid and ctx == {
        "region": "us",
        "limit": 10,
        "ratio": 0.5,
        "day": "2026-12-01",
        "notify": False,
        "tags": ["a", "b"],
    }


def test_workflow_without_inputs_keeps_the_json_box(page_test, app_engine):  # noqa: F811
    wid, _ = wb_library.save_workflow(
        app_engine.store, parse_workflow_text('name = "Plain"\ndsl = "start->a; a->end;"')
    )
    at = page_test("run")
    at.session_state["wb.workflow_id"] = wid
    at.run()
    assert [t for t in at.text_area if t.label == "Initial context (JSON)"]
    assert at.session_state["run.form"] is None
