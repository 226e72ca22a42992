"""What an analyst reads on the Analytics page and in History (issue 15, fresh pass): Time per node in
durations (not ``146.0028``), no empty error-rate chart when nothing failed, and a waiting run's
status symbol that does not read as "unknown"."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from streamlit.testing.v1 import AppTest

from engine import library
from engine.schema import EXECUTION_STATUSES
from engine.workflow_file import parse_workflow_text
from tests.analytics.recorder import Recorder

PAGES = Path(__file__).resolve().parents[2] / "app" / "app_pages"
STEADY_TOML = """
name = "Steady"
dsl = "start->load; load->end;"
[states.load]
action = "python"
function = "tests.engine.functions:add"
"""


def _steady_runs(store) -> str:
    """Three completed runs an hour ago whose step ran on Ray node ``host/n1`` (146.0028 ms each), no failure."""
    spec = parse_workflow_text(STEADY_TOML)
    wid, ver = library.save_workflow(store, spec)
    rec = Recorder(store)
    t0 = datetime.utcnow() - timedelta(hours=1)
    for i in range(3):
        eid, start = f"S{i}", t0 + timedelta(minutes=i)
        rec.execution(eid, wid=wid, name="Steady", version=ver, start=start, duration_ms=400, spec=spec)
        rec.step(eid, "start", wid=wid, start=start, ms=0.01, to="load", executed_on="inline")
        row = rec.step(eid, "load", wid=wid, start=start + timedelta(milliseconds=1), ms=146.0028, to="end")
        row["node_id"] = "host/n1"
    rec.write()
    return wid


def _chart_specs(at) -> str:
    return "\n".join(str(c.proto.spec) for c in at.get("plotly_chart"))


def test_time_per_node_reads_as_durations_and_no_empty_error_chart(store):
    wid = _steady_runs(store)
    at = AppTest.from_file(str(PAGES / "analytics.py"), default_timeout=60).run()
    at.selectbox(key="an.workflow").set_value(wid).run()
    assert not at.exception, [e.message for e in at.exception]
    table = next(d.value for d in at.dataframe if "node" in d.value.columns)
    row = table.iloc[0].to_dict()
    assert row["node"] == "host/n1" and row["steps"] == 3 and row["failed"] == 0
    assert row["total time"] == "438 ms" and row["average per step"] == "146 ms"
    assert "Error rate per state" not in _chart_specs(at)  # nothing failed: said in words instead
    assert any("No step failed in this range" in s.value for s in at.success)
    assert "Working time per state" in _chart_specs(at)


def test_every_run_status_has_a_symbol_that_is_not_a_question_mark():
    from app.components import ui

    symbols = [ui.STATUS_ICONS.get(s, "") for s in EXECUTION_STATUSES]
    assert all(sym and not sym.isascii() for sym in symbols), dict(zip(EXECUTION_STATUSES, symbols))
    assert len(set(symbols)) == len(symbols)
