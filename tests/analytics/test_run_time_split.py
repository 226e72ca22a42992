"""Run-level working time and waiting-for-people time: a run's duration includes the time people took
to answer approvals; analytics shows both apart (parallel approvals count once)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from streamlit.testing.v1 import AppTest

from engine import analytics as A
from tests.analytics.recorder import Recorder
from tests.analytics.test_people_and_buckets import _figures, _values, build_shop

PAGES = Path(__file__).resolve().parents[2] / "app" / "app_pages"


def test_run_duration_split_into_working_and_waiting(store):
    build_shop(store)  # 12 runs of 20.7 s: 0.7 s of work, then 'approve' waits 20 s for a person
    scope = A.resolve_scope(store, "Shop", since="30d")
    split = A.run_time_split(store, scope)
    assert len(split) == 12
    assert set(split["waiting_ms"]) == {20_000.0} and set(split["working_ms"]) == {700.0}
    stats = A.run_time_stats(store, scope)
    assert stats["runs_waiting_for_people"] == 12
    assert stats["working_p50_ms"] == 700.0 and stats["waiting_p50_ms"] == 20_000.0
    assert stats["waiting_share"] == round(100 * 20_000 / 20_700, 1)
    rep = A.report(store, "Shop", since="30d")
    assert rep["run_time"]["working_p95_ms"] == 700.0
    assert any("waiting for people: working time 0.7 s at the median" in x for x in rep["ai_insights"])


def test_parallel_approvals_count_once_and_runs_without_people_are_all_work(store):
    rec = Recorder(store)
    t = datetime(2026, 11, 1, 10)
    ms = lambda n: timedelta(milliseconds=n)
    rec.execution("P1", wid="w", name="Pair", start=t, duration_ms=10_000)
    # two approvals open at once (3-8 s and 5-9 s): 6 s of waiting, not 9 s
    for state, start, length, token in (("legal", 3000, 5000, "0.1-1"), ("finance", 5000, 4000, "0.1-2")):
        row = rec.step("P1", state, wid="w", start=t + ms(start), ms=length, token=token)
        row["action"] = "approval"
    rec.step("P1", "work", wid="w", start=t, ms=3000)
    rec.execution("P2", wid="w", name="Pair", start=t + ms(20_000), duration_ms=4000)
    rec.step("P2", "work", wid="w", start=t + ms(20_000), ms=4000)
    rec.execution("P3", wid="w", name="Pair", start=t + ms(30_000), status="running")
    rec.write()
    scope = A.resolve_scope(store, "Pair")
    split = A.run_time_split(store, scope).set_index("execution_id")
    assert list(split.index) == ["P1", "P2"]  # finished runs only
    assert split.loc["P1", "waiting_ms"] == 6000.0 and split.loc["P1", "working_ms"] == 4000.0
    assert split.loc["P2", "waiting_ms"] == 0.0 and split.loc["P2", "working_ms"] == 4000.0
    stats = A.run_time_stats(store, scope)
    assert stats["runs_waiting_for_people"] == 1 and stats["waiting_share"] == round(100 * 6000 / 14_000, 1)
    over = A.run_time_over_time(store, scope, "day")
    assert over[["runs", "working_avg_ms", "waiting_avg_ms"]].values.tolist() == [[2, 4000.0, 3000.0]]


def test_analytics_page_shows_working_and_waiting_time_of_runs(store):
    shop = build_shop(store)
    at = AppTest.from_file(str(PAGES / "analytics.py"), default_timeout=60).run()
    at.selectbox(key="an.workflow").set_value(shop["wid"]).run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Working time p50"] == "700 ms" and metrics["Waiting for people p50"] == "20.0 s"
    assert metrics["Time waiting for people"] == "97%"
    fig = _figures(at)["Run time: working vs waiting for people (average run)"]
    bars = {tr["name"]: _values(tr["y"]) for tr in fig["data"]}
    assert set(bars["working"]) == {0.7} and set(bars["waiting for people"]) == {20.0}


def test_cli_analytics_prints_working_and_waiting_time(store, capsys):
    from engine.cli import main

    build_shop(store)
    assert main(["analytics", "--workflow", "Shop", "--since", "30d"]) == 0
    out = capsys.readouterr().out
    assert (
        "working time p50 700 ms" in out
        and "waiting for people p50 20,000 ms (12 of 12 runs, 96.6% of run time)" in out
    )
    assert main(["analytics", "--workflow", "Shop", "--since", "30d", "--json"]) == 0
    import json

    assert json.loads(capsys.readouterr().out)["run_time"]["waiting_p50_ms"] == 20_000.0
