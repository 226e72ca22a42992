"""Describe page (issue 16): the schedule / trigger / notification a description implies are shown with
Accept boxes; the ticked ones are saved in the workflow, the others are not."""

from __future__ import annotations

from engine.workbench import library as wb_library
from tests.app.conftest import texts

TEXT = (
    "Every weekday at 7am, load yesterday's sales and the customer list in parallel, then build the KPI "
    "report and email it to the managers. Tell the on-call when it fails."
)


def _button(at, label):
    return next(b for b in at.button if b.label == label)


def test_accepted_proposals_are_saved_with_the_workflow(page_test, app_engine):
    at = page_test("describe")
    at.run()
    at.text_area(key="desc.text").input(TEXT)
    at.run()
    _button(at, "Translate").click()
    at.run()
    assert not at.exception
    boxes = {cb.key: cb for cb in at.checkbox if cb.key.startswith("desc.accept.")}
    assert set(boxes) == {"desc.accept.schedules.0", "desc.accept.notifications.0"}, list(boxes)
    assert "0 7 * * 1-5" in boxes["desc.accept.schedules.0"].label
    assert "on-call" in boxes["desc.accept.notifications.0"].label
    boxes["desc.accept.schedules.0"].check()
    at.text_input(key="desc.name").input("KPI report")
    _button(at, "Save workflow").click()
    at.run()
    assert not at.exception and "Saved **KPI report** as version 1" in texts(at)
    spec, _ = wb_library.get_workflow(app_engine.store, at.session_state["desc.saved"]["workflow_id"])
    assert [s.cron for s in spec.schedules] == ["0 7 * * 1-5"]
    assert spec.notifications is None  # not ticked: not saved
    assert "load_customer_list" in spec.dsl
