"""The advisor speaks about the worst problem it can see and counts the runs of the version on screen.

Fixture "Payments": v1 (start->check->charge->receipt->end) ran 10 times; 'check' completed every time,
'charge' failed every attempt (RuntimeError "card gateway refused: merchant id 'm-000' unknown"), so every
run failed and 'receipt' was never reached. v2 (saved after, same DSL) has no runs.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine import analytics as A
from engine import library
from engine import optimizer as O
from engine.workflow_file import parse_workflow_text
from tests.analytics.recorder import Recorder

PAGES = Path(__file__).resolve().parents[2] / "app" / "app_pages"
ERROR = "card gateway refused: merchant id 'm-000' unknown"
PAY_TOML = '''
name = "Payments"
dsl = """
start->check;
check->charge;
charge->receipt;
receipt->end;
"""
[states.check]
action = "python"
function = "tests.engine.functions:add"
[states.charge]
action = "python"
function = "tests.engine.functions:add"
[states.receipt]
action = "python"
function = "tests.engine.functions:add"
'''


@pytest.fixture
def payments(store):
    return payments_records(store, PAY_TOML)


def payments_records(store, toml: str) -> dict:
    """Payments v1 with 10 failed runs ('charge' failing every time) and a v2 without runs."""
    spec = parse_workflow_text(toml)
    wid, ver = library.save_workflow(store, spec)
    rec = Recorder(store)
    base = A.utcnow() - timedelta(hours=3)
    for i in range(10):
        eid, t = f"P{i}", base + timedelta(minutes=10 * i)
        rec.execution(eid, wid=wid, name="Payments", version=ver, status="failed", start=t, duration_ms=400, spec=spec)
        rec.step(eid, "start", wid=wid, version=ver, start=t, ms=0.01, to="check", executed_on="inline")
        rec.step(eid, "check", wid=wid, version=ver, start=t + timedelta(milliseconds=1), ms=100, to="charge")
        rec.step(
            eid,
            "charge",
            wid=wid,
            version=ver,
            start=t + timedelta(milliseconds=110),
            ms=250,
            status="failed",
            error_type="RuntimeError",
            error_message=ERROR,
        )
    rec.write()
    v2 = library.save_workflow(store, spec, workflow_id=wid, change_note="same again")[1]
    return {"wid": wid, "v1": ver, "v2": v2}


def test_a_step_that_always_fails_is_the_first_suggestion_with_its_error(store, payments):
    rep = O.analyze(store, payments["wid"], version=payments["v1"], llm=False)
    assert rep.runs["finished"] == 10
    assert rep.suggestions, "a step failing 10 of 10 runs is not 'nothing to suggest'"
    top = rep.suggestions[0]
    assert top.kind == "fix_failing_state" and top.priority == 5
    assert "'charge'" in top.title and "10 of 10" in top.description
    assert "RuntimeError" in top.description and "merchant id 'm-000' unknown" in top.description
    assert top.estimated_improvement == 100.0  # every finished run stopped there
    assert not top.automatic
    # no retry proposed for a step that fails every time (retries would not help)
    assert not [s for s in rep.suggestions if s.kind == "retry" and s.proposed_changes.get("state") == "charge"]
    # the state never reached is explained with the runs of this version, not "0 recorded runs"
    reasons = " ".join(n["reason"] for n in rep.not_suggested)
    assert "0 recorded run" not in reasons
    assert "'charge' completed in 0 of the 10 runs of v1 that reached it" in reasons
    assert "'receipt' was never reached in the 10 finished runs of v1" in reasons


def test_even_with_few_runs_a_step_failing_every_time_is_reported(store):
    spec = parse_workflow_text(PAY_TOML)
    wid, ver = library.save_workflow(store, spec)
    rec = Recorder(store)
    t = A.utcnow() - timedelta(hours=1)
    for i in range(2):
        eid = f"Q{i}"
        rec.execution(eid, wid=wid, name="Payments", version=ver, status="failed", start=t, duration_ms=300)
        rec.step(
            eid,
            "charge",
            wid=wid,
            version=ver,
            start=t,
            ms=250,
            status="failed",
            error_type="RuntimeError",
            error_message=ERROR,
        )
    rec.write()
    rep = O.analyze(store, wid, version=ver, llm=False)
    assert rep.score is None and rep.notes  # too few runs to score
    assert [s.kind for s in rep.suggestions] == ["fix_failing_state"]


def test_optimize_page_shows_the_failing_step_and_the_runs_of_the_version_on_screen(store, payments):
    at = AppTest.from_file(str(PAGES / "optimize.py"), default_timeout=60)
    at.session_state["wb.workflow_id"] = payments["wid"]
    at.session_state["wb.version"] = payments["v1"]
    at.run()
    assert not at.exception, at.exception
    version_box = at.selectbox(key=f"opt.version.{payments['wid']}")
    assert version_box.value == payments["v1"]
    body = "\n".join(m.value for m in at.markdown) + "\n".join(c.value for c in at.caption)
    assert "'charge' fails every time" in body and "merchant id 'm-000' unknown" in body
    assert "From 10 finished runs of v1" in body
    assert not any("Nothing to suggest" in s.value for s in at.success)
    # the version picker counts the runs of each version
    assert version_box.format_func(payments["v1"]) == "v1 (10 runs)"
    assert version_box.format_func(payments["v2"]) == "v2 (0 runs)"
