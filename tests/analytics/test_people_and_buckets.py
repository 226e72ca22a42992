"""Analytics for an analyst's first hour: waiting for people apart from working time, time buckets that
follow the data, a readable run timeline and the auto-recovery definition next to its number.

Fixture "Shop" (12 runs, one every 5 minutes, all within the last hour of the real clock):
  pick 100 ms -> [pack 200 ms | label 300 ms] in parallel -> approve (approval, 20 s) -> end;
  run 0 also failed 'pick' once (ConnectionError, retried: recovered automatically) and ran the
  compensation 'unpick' (token 0~comp) after 'pack'.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine import analytics as A
from engine import library
from engine.workflow_file import parse_workflow_text
from tests.analytics.recorder import Recorder

PAGES = Path(__file__).resolve().parents[2] / "app" / "app_pages"

SHOP_TOML = '''
name = "Shop"
dsl = """
start->pick;
pick->[pack,label];
[pack,label]->approve;
approve->end;
"""
[states.pick]
action = "python"
function = "tests.engine.functions:add"
[states.approve]
action = "approval"
message = "Ship it?"
'''


def build_shop(store, runs: int = 12) -> dict:
    spec = parse_workflow_text(SHOP_TOML)
    wid, ver = library.save_workflow(store, spec)
    rec = Recorder(store)
    base = A.utcnow() - timedelta(minutes=58)
    ms = lambda n: timedelta(milliseconds=n)
    for i in range(runs):
        eid = f"S{i:02d}"
        t = base + timedelta(minutes=5 * i)
        rec.execution(eid, wid=wid, name="Shop", version=ver, start=t, duration_ms=20_700, spec=spec)
        rec.step(eid, "start", wid=wid, start=t, ms=0.01, to="pick", executed_on="inline")
        off = 1
        if i == 0:
            rec.step(eid, "pick", wid=wid, start=t + ms(1), ms=20, status="failed", error_type="ConnectionError")
            rec.recovery(eid, "pick", wid=wid, at=t + ms(25), strategy="retry", success=True)
            off = 30
        rec.step(eid, "pick", wid=wid, start=t + ms(off), ms=100, to="[pack,label]", attempt=2 if i == 0 else 1)
        rec.step(eid, "pack", wid=wid, start=t + ms(off + 101), ms=200, token="0.1-1", to="approve")
        rec.step(eid, "label", wid=wid, start=t + ms(off + 101), ms=300, token="0.1-2", to="approve")
        if i == 0:
            rec.step(eid, "unpick", wid=wid, start=t + ms(off + 305), ms=50, token="0~comp")
        row = rec.step(eid, "approve", wid=wid, start=t + ms(off + 402), ms=20_000, to="end")
        row["action"] = "approval"
    rec.write()
    return {"wid": wid, "version": ver}


@pytest.fixture
def shop(store):
    return build_shop(store)


def test_state_performance_flags_steps_that_wait_for_people(store, shop):
    scope = A.resolve_scope(store, "Shop", since="30d")
    perf = A.state_performance(store, scope).set_index("state")
    assert bool(perf.loc["approve", "waits_for_people"]) is True
    assert not perf.loc[["pick", "pack", "label"], "waits_for_people"].any()
    lines = A.insights(A.execution_stats(store, scope), perf.reset_index(), A.recovery_stats(store, scope))
    assert any("most working time" in x and "'label'" in x for x in lines), lines
    assert any("People answer 'approve' in 20.0 s" in x for x in lines), lines
    rep = A.report(store, "Shop", since="30d")
    assert {r["state"]: r["waits_for_people"] for r in rep["state_performance"]}["approve"] is True


def test_buckets_follow_the_span_of_the_data_not_the_range(store, shop):
    scope = A.resolve_scope(store, "Shop", since="30d")  # a 30-day range, an hour of runs
    assert A.default_granularity(scope.start, scope.end) == "day"
    assert A.data_granularity(store, scope) == "minute"
    over = A.executions_over_time(store, scope, A.data_granularity(store, scope))
    assert len(over) == 12 and list(over["executions"]) == [1] * 12
    assert A.report(store, "Shop", since="30d")["granularity"] == "minute"


def _values(v) -> list:
    """A Plotly array from the figure JSON (Plotly 7 packs numbers as base64 typed arrays)."""
    if isinstance(v, dict) and "bdata" in v:
        import base64

        import numpy as np

        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"])).tolist()
    return list(v or [])


def _figures(at) -> dict[str, dict]:
    out = {}
    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        title = ((spec.get("layout") or {}).get("title") or {}).get("text") or ""
        out[title] = spec
    return out


def test_analytics_page_separates_people_buckets_by_minute_and_names_timeline_rows(store, shop):
    at = AppTest.from_file(str(PAGES / "analytics.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    at.selectbox(key="an.workflow").set_value(shop["wid"]).run()
    assert not at.exception, at.exception
    figs = _figures(at)
    # working time per state without the 20 s approval; the approval in its own chart
    work = figs["Working time per state (ms)"]
    work_states = {y for tr in work["data"] for y in tr.get("y", [])}
    assert work_states == {"pick", "pack", "label", "unpick"}
    people = figs["Waiting for people (s until an answer)"]
    assert people["data"][0]["y"] == ["approve"] and _values(people["data"][0]["x"]) == [20.0]
    # an hour of runs: one bar per run (by minute), not one dot for the day
    runs = figs["Executions and success rate"]
    xs = {x for tr in runs["data"] if tr.get("type") == "bar" for x in tr.get("x", [])}
    assert len(xs) == 12
    # the auto-recovery number has its definition beside it
    captions = " ".join(c.value for c in at.caption)
    assert "1 of 1 failing steps fixed without a person" in captions
    assert "not the share of runs that succeeded" in captions
    # the timeline of the run with the compensation: state names, no token ids
    at.selectbox(key="an.run").set_value("S00").run()
    assert not at.exception
    tl = _figures(at)["Timeline of the run"]
    labels = {y for tr in tl["data"] for y in tr.get("y", [])}
    assert {"pick", "approve"} <= labels
    assert any(lb.startswith("pack (branch") for lb in labels), labels
    assert "unpick (compensation)" in labels
    assert not [lb for lb in labels if "~" in lb or "0.1-" in lb], labels
    assert not any(tr.get("text") for tr in tl["data"])  # no text inside bars (it overlapped)
