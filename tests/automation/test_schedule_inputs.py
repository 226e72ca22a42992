"""Schedules validate their context against the workflow's typed ``[inputs]``: when a schedule is added
(refused, naming the field) and at every fire (the slot is recorded ``failed`` naming the field, no run)."""

from __future__ import annotations

import time

import pytest

from engine import library
from engine.automation import schedules
from engine.workflow_file import parse_workflow_text
from tests.automation.conftest import NOOP_TOML, REGION_INPUT

WORKFLOW = NOOP_TOML.replace("{extra}", REGION_INPUT + "{extra}")


def _save(store, extra: str = "") -> str:
    wid, _ = library.save_workflow(store, parse_workflow_text(WORKFLOW.format(name="typed schedule", extra=extra)))
    return wid


def test_a_schedule_whose_context_fails_the_inputs_is_refused_when_added(store):
    wid = _save(store)
    with pytest.raises(schedules.ScheduleError, match="input 'region'"):
        schedules.add_schedule(store, wid, {"id": "bad", "every": "1h", "context": {"region": "mars"}})
    with pytest.raises(schedules.ScheduleError, match="input 'region'"):
        schedules.add_schedule(store, wid, {"id": "none", "every": "1h"})  # required and missing
    ok = schedules.add_schedule(store, wid, {"id": "good", "every": "1h", "context": {"region": "eu"}})
    assert ok["schedule_id"] == f"{wid}:good"


def test_a_fire_whose_context_fails_the_inputs_is_recorded_failed_naming_the_field(inline_engine):
    from engine.automation.loop import AutomationLoop
    from engine.service.app import Service

    store = inline_engine.store
    wid = _save(store, '[[schedules]]\nid = "bad"\nevery = "1s"\ncontext = { region = "mars" }\n')
    svc = Service(inline_engine)
    try:
        loop = AutomationLoop(svc)
        loop.sync()
        sid = f"{wid}:bad"
        deadline = time.monotonic() + 60
        fired: list[dict] = []
        while not fired and time.monotonic() < deadline:
            loop.fire_schedules()
            fired = [f for f in schedules.fires(store, sid) if f["status"] in ("failed", "started")]
            if not fired:
                time.sleep(0.2)
        assert fired, "the every-1s schedule never fired"
        assert {f["status"] for f in fired} == {"failed"}, fired
        assert "input 'region'" in fired[0]["message"], fired[0]["message"]
        assert store.query("SELECT count(*) AS n FROM workflow_executions")[0]["n"] == 0
    finally:
        svc.queue.stop()
