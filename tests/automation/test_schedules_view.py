"""The Workflows page's schedules section (AppTest): next fire times in the viewer's zone, pause/resume, add."""

from __future__ import annotations

from engine import library
from engine.automation import schedules
from engine.automation.specs import upcoming
from engine.workflow_file import parse_workflow_text
from tests.app.conftest import app_engine, page_test, texts  # noqa: F401 - fixtures
from tests.automation.conftest import NOOP_TOML


def test_workflows_page_shows_next_fires_and_pauses_and_resumes(page_test, app_engine):  # noqa: F811
    extra = '[[schedules]]\nid = "morning"\ncron = "0 7 * * 1-5"\ntimezone = "Europe/Paris"\n'
    wid, _ = library.save_workflow(app_engine.store, parse_workflow_text(NOOP_TOML.format(name="daily", extra=extra)))
    at = page_test("workflows")
    at.session_state["wb.workflow_id"] = wid
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    page = texts(at)
    first = upcoming("0 7 * * 1-5", None, "Europe/Paris", 1)[0]  # shown in the viewer's zone (UTC here)
    assert "morning" in page and f"Next: {first:%a %d %b %H:%M:%S}," in page and "(UTC)" in page
    sid = f"{wid}:morning"
    next(b for b in at.button if b.key == f"btn.sched.{sid}").click()
    at.run()
    assert schedules.get_schedule(app_engine.store, sid)["enabled"] is False
    assert "Paused" in texts(at)
    next(b for b in at.button if b.key == f"btn.sched.{sid}").click()
    at.run()
    assert schedules.get_schedule(app_engine.store, sid)["enabled"] is True

    at.text_input(key=f"sched.cron.{wid}").set_value("30 6 * * *")
    next(b for b in at.button if b.key == f"btn.sched.add.{wid}").click()
    at.run()
    assert not at.exception
    whens = {r["definition"].get("cron") for r in schedules.list_schedules(app_engine.store, wid)}
    assert whens == {"0 7 * * 1-5", "30 6 * * *"}
