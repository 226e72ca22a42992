"""Every analytics statistic against values computed by hand from the fixture runs (tests/analytics/conftest.py)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from engine import analytics as A
from tests.analytics.conftest import D1, NOW


def scope(store, alpha, **kw):
    return A.resolve_scope(store, "Alpha", **kw)


def test_execution_stats_by_hand(store, alpha):
    s = A.execution_stats(store, scope(store, alpha))
    assert s["total_executions"] == 6
    assert (
        s["successful_executions"],
        s["failed_executions"],
        s["cancelled_executions"],
        s["running_executions"],
        s["finished_executions"],
    ) == (3, 1, 1, 1, 5)
    assert s["success_rate"] == 60.0  # 3 / 5 finished
    assert s["failure_rate"] == 20.0  # 1 / 5
    # finished durations 500, 1000, 2000, 3000, 4000
    assert s["avg_duration_ms"] == 2100.0
    assert s["p50_duration_ms"] == 2000.0
    assert s["p95_duration_ms"] == 3800.0  # position 0.95*4 = 3.8: 3000 + 0.8 * 1000
    assert s["p99_duration_ms"] == 3960.0  # position 3.96: 3000 + 0.96 * 1000


def test_overall_includes_every_workflow(store, alpha):
    s = A.execution_stats(store, A.resolve_scope(store, None))
    assert s["total_executions"] == 7 and s["successful_executions"] == 4
    assert s["success_rate"] == round(100 * 4 / 6, 2)
    summary = A.workflow_summary(store, A.resolve_scope(store, None)).set_index("workflow")
    assert summary.loc["Alpha", "executions"] == 6 and summary.loc["Beta", "executions"] == 1
    assert summary.loc["Alpha", "success_rate"] == pytest.approx(60.0)
    assert summary.loc["Beta", "p50_ms"] == 100


def test_time_range_and_workflow_id(store, alpha):
    day2 = A.resolve_scope(store, alpha["wid"], since="2026-11-02", until="2026-11-03")
    s = A.execution_stats(store, day2)
    assert s["total_executions"] == 3 and s["failed_executions"] == 1 and s["success_rate"] == 0.0
    assert s["avg_duration_ms"] == 2250.0  # (4000 + 500) / 2
    rel = A.resolve_scope(store, "Alpha", since="9d", now=NOW)  # since 11-01 00:00
    assert A.execution_stats(store, rel)["total_executions"] == 6
    rel = A.resolve_scope(store, "Alpha", since="8d", now=NOW)  # since 11-02 00:00
    assert A.execution_stats(store, rel)["total_executions"] == 3
    assert A.execution_stats(store, A.resolve_scope(store, "nope"))["total_executions"] == 0


def test_executions_over_time_day_and_hour(store, alpha):
    df = A.executions_over_time(store, scope(store, alpha), "day")
    assert list(df["bucket"]) == [datetime(2026, 11, 1), datetime(2026, 11, 2)]
    day1, day2 = df.to_dict("records")
    assert (day1["executions"], day1["completed"], day1["success_rate"], day1["avg_ms"], day1["p50_ms"]) == (
        3,
        3,
        100.0,
        2000.0,
        2000.0,
    )
    assert day1["p95_ms"] == pytest.approx(2900.0)  # 1000, 2000, 3000: position 1.9
    assert (day2["executions"], day2["failed"], day2["cancelled"], day2["success_rate"], day2["avg_ms"]) == (
        3,
        1,
        1,
        0.0,
        2250.0,
    )
    hours = A.executions_over_time(store, scope(store, alpha, until="2026-11-02"), "hour")
    assert list(zip(hours["bucket"], hours["executions"])) == [
        (datetime(2026, 11, 1, 10), 1),
        (datetime(2026, 11, 1, 11), 2),
    ]
    weeks = A.executions_over_time(store, scope(store, alpha), "week")
    assert list(weeks["bucket"]) == [datetime(2026, 10, 26), datetime(2026, 11, 2)]  # ISO weeks start Monday
    assert list(weeks["executions"]) == [3, 3]
    months = A.executions_over_time(store, scope(store, alpha), "month")
    assert list(months["executions"]) == [6]
    minutes = A.executions_over_time(store, scope(store, alpha, until="2026-11-02"), "minute")
    assert list(zip(minutes["bucket"], minutes["executions"])) == [
        (datetime(2026, 11, 1, 10), 1),
        (datetime(2026, 11, 1, 11), 1),
        (datetime(2026, 11, 1, 11, 30), 1),
    ]
    with pytest.raises(A.AnalyticsError):
        A.executions_over_time(store, scope(store, alpha), "second")


def test_state_performance_by_hand(store, alpha):
    df = A.state_performance(store, scope(store, alpha)).set_index("state")
    assert sorted(df.index) == ["fetch", "parse"]  # no 'start', no join row, no decision row
    f, p = df.loc["fetch"], df.loc["parse"]
    # fetch attempts 100, 300, 40 (failed), 160, 100
    assert (f["attempts"], f["completed"], f["failed"], f["error_rate"]) == (5, 4, 1, 20.0)
    assert f["avg_ms"] == 140.0 and f["p50_ms"] == 100.0 and f["min_ms"] == 40 and f["max_ms"] == 300
    assert f["q1_ms"] == 100.0 and f["q3_ms"] == 160.0
    assert f["p95_ms"] == pytest.approx(272.0)  # sorted 40 100 100 160 300: 160 + 0.8 * 140
    assert f["p99_ms"] == pytest.approx(294.4)  # 160 + 0.96 * 140
    # parse attempts 200, 50 (failed), 250, 200, 60 (failed)
    assert (p["attempts"], p["failed"], p["error_rate"]) == (5, 2, 40.0)
    assert p["avg_ms"] == 152.0 and p["p50_ms"] == 200.0
    assert p["total_ms"] == 760.0 and f["total_ms"] == 700.0
    assert list(A.state_performance(store, scope(store, alpha)).state) == ["parse", "fetch"]  # most time first


def test_common_errors_by_state(store, alpha):
    df = A.common_errors(store, scope(store, alpha))
    assert [(r["state"], r["error_type"], r["count"]) for r in df.to_dict("records")] == [
        ("parse", "ValueError", 2),
        ("fetch", "ConnectionError", 1),
    ]
    assert df.iloc[0]["example"] == "bad row 9"  # the latest message
    assert A.errors_by_type(store, scope(store, alpha)) == [
        {"error_type": "ValueError", "count": 2, "states": ["parse"]},
        {"error_type": "ConnectionError", "count": 1, "states": ["fetch"]},
    ]


def test_recovery_stats_by_hand(store, alpha):
    r = A.recovery_stats(store, scope(store, alpha))
    # incidents: (E2,parse) auto ok, (E3,fetch) auto ok, (E4,parse) human, (E5,fetch) the file's policy, failed
    assert (r["incidents"], r["automatic_incidents"], r["auto_recovered"], r["recovered"], r["actions"]) == (
        4,
        2,
        2,
        2,
        6,
    )
    assert r["policy_incidents"] == 1  # a workflow's own on_error policy is not auto-recovery
    assert r["auto_recovery_rate"] == 100.0
    by = r["by_strategy"].set_index("strategy")
    assert (by.loc["retry", "actions"], by.loc["retry", "succeeded"], by.loc["retry", "success_rate"]) == (4, 2, 50.0)
    assert by.loc["escalate", "actions"] == 1 and by.loc["skip", "succeeded"] == 0


def test_ai_decision_stats(store, alpha):
    ai = A.ai_decision_stats(store, scope(store, alpha))
    assert ai["decisions"] == 3 and ai["avg_confidence"] == 90.0
    by = ai["by_decider"].set_index("decided_by")
    assert by.loc["ai", "decisions"] == 2 and by.loc["ai", "avg_confidence"] == 85.0
    assert by.loc["ai", "true_results"] == 1 and by.loc["rule", "avg_confidence"] == 100.0
    # bins of 10; 100 goes in the last bin (90-100)
    assert dict(zip(ai["confidence_histogram"]["confidence_from"], ai["confidence_histogram"]["decisions"])) == {
        80: 1,
        90: 2,
    }
    assert list(ai["over_time"]["decisions"]) == [2, 1]


def test_llm_usage_over_time(store, alpha):
    df = A.llm_usage(store, scope(store, alpha), "day")
    d1, d2 = df.to_dict("records")
    assert (d1["calls"], d1["cache_hits"], d1["cache_hit_rate"], d1["cost_usd"]) == (2, 1, 50.0, 0.01)
    assert (d2["calls"], d2["cache_hits"], d2["cache_hit_rate"]) == (2, 0, 0.0)
    assert d2["cost_usd"] == pytest.approx(0.05)
    assert d1["tokens"] == 240 and d1["avg_latency_ms"] == 300.0  # latency of real calls only
    tot = A.llm_totals(store, scope(store, alpha))
    assert (tot["calls"], tot["cache_hits"], tot["cache_hit_rate"]) == (4, 1, 25.0)
    assert tot["cost_usd"] == pytest.approx(0.06)
    overall = A.llm_totals(store, A.resolve_scope(store, None))
    assert overall["calls"] == 5 and overall["cost_usd"] == pytest.approx(0.56)  # + the translator call


def test_gantt_of_one_run(store, alpha):
    g = A.gantt(store, "E3")
    assert [(r["state"], r["attempt"], r["status"]) for r in g.to_dict("records")] == [
        ("fetch", 1, "failed"),
        ("fetch", 2, "completed"),
        ("parse", 1, "completed"),
    ]
    assert list(g["duration_ms"]) == [40, 160, 200]
    assert (g["finish"] > g["start"]).all()
    assert list(g["lane"]) == ["fetch", "fetch", "parse"]
    assert A.gantt(store, "no-such-run").empty


def test_version_scope(store, alpha):
    v1 = A.resolve_scope(store, "Alpha", version=alpha["version"])
    assert A.execution_stats(store, v1)["total_executions"] == 6
    assert A.recovery_stats(store, v1)["incidents"] == 4  # matched through the runs' version
    v9 = A.resolve_scope(store, "Alpha", version=99)
    assert A.execution_stats(store, v9)["total_executions"] == 0
    assert A.recovery_stats(store, v9)["incidents"] == 0


def test_report_shape_and_json(store, alpha):
    rep = A.report(store, "Alpha", since=None, granularity="day")
    assert rep["statistics"]["success_rate"] == 60.0
    assert rep["error_analysis"]["auto_recovery_rate"] == 100.0
    assert rep["error_analysis"]["most_common_errors"][0]["error_type"] == "ValueError"
    assert [s["state"] for s in rep["state_performance"]] == ["parse", "fetch"]
    assert rep["state_performance"][0]["error_rate"] == 40.0
    assert len(rep["timeline"]) == 2 and rep["llm"]["cache_hit_rate"] == 25.0
    assert any("parse" in i and "40.0%" in i for i in rep["ai_insights"])
    json.loads(A.to_json(rep))
    overall = A.report(store, None, since=None)
    assert {w["workflow"] for w in overall["workflows"]} == {"Alpha", "Beta"}


def test_empty_store(store):
    rep = A.report(store, None, since="7d")
    assert rep["statistics"]["total_executions"] == 0 and rep["statistics"]["success_rate"] is None
    assert rep["state_performance"] == [] and rep["ai_insights"] == ["No runs in this range yet."]
    assert A.state_performance(store, A.resolve_scope(store, None)).empty


def test_time_parsing():
    now = datetime(2026, 11, 10, 12)
    assert A.parse_time("24h", now=now) == datetime(2026, 11, 9, 12)
    assert A.parse_time("2w", now=now) == datetime(2026, 10, 27, 12)
    assert A.parse_time("2026-11-01") == datetime(2026, 11, 1)
    assert A.parse_time("2026-11-01T10:00:00+02:00") == datetime(2026, 11, 1, 8)
    assert A.parse_time(None) is None and A.parse_time("all") is None
    with pytest.raises(A.AnalyticsError, match="24h"):
        A.parse_time("yesterday-ish")
    with pytest.raises(A.AnalyticsError, match="empty"):
        A.resolve_scope(None, None, since="2026-11-02", until="2026-11-01")
    assert A.default_granularity(now - (now - D1) / 200, now) == "minute"  # 65 min
    assert A.default_granularity(now - (now - D1) / 20, now) == "hour"
    assert A.default_granularity(datetime(2026, 10, 1), now) == "day"
    assert A.default_granularity(datetime(2026, 1, 1), now) == "week"
    assert A.default_granularity(None) == "week"
