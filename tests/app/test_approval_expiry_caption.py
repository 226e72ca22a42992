"""A waiting approval with a time limit says on its card when it expires and what happens then."""

from __future__ import annotations

import datetime as dt
import time

from app.components.run_view import expiry_text
from engine.workbench import runs
from engine.workflow_file import parse_workflow_text
from tests.app.conftest import texts

LIMITED = """
name = "approval with a limit"
dsl = "start->approve; approve->ship:approved==True; approve->drop; approve->escalate:@error; ship->end; drop->end; escalate->end;"
[states.approve]
action = "approval"
message = "Ship it?"
timeout_s = 172800
"""


def test_the_approval_card_says_when_it_expires(page_test, app_engine, monkeypatch):
    monkeypatch.delenv("WORKBENCH_SERVER", raising=False)
    eid = runs.start_run(app_engine, parse_workflow_text(LIMITED), {}, runs.run_options(), None, None)
    deadline = time.monotonic() + 30
    while (runs.execution(app_engine.store, eid) or {}).get("status") != "waiting":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    at = page_test("run")
    at.session_state["wb.run_id"] = eid
    at.run()
    assert not at.exception
    body = texts(at)
    assert "Ship it? (no answer within 2 d counts as a timeout)" in body
    assert "(in 2 d); unanswered by then, the step fails as timed out" in body


def test_expiry_text_counts_down_and_says_when_it_has_passed():
    at = dt.datetime(2026, 12, 3, 10, 0)
    req = {"details": {"expires_at": "2026-12-04T12:30:00"}}
    assert expiry_text(req, at).startswith("Expires 2026-12-04 12:30 UTC (in 26.5 h)")
    assert expiry_text(req, dt.datetime(2026, 12, 4, 12, 29, 40)).startswith(
        "Expires 2026-12-04 12:30 UTC (in less than a minute)"
    )
    assert expiry_text(req, dt.datetime(2026, 12, 5)).startswith("Expired at 2026-12-04 12:30 UTC")
    assert expiry_text({"details": {}}, at) is None
    assert expiry_text({"details": '{"expires_at": "2026-12-04T12:30:00"}'}, at).startswith("Expires")
