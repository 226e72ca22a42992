"""The records layer (engine/records.py) owns the read queries: the optimizer only calls its functions."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _store_queries(rel: str) -> list[str]:
    tree = ast.parse((ROOT / rel).read_text())
    return [
        f"{rel}:{n.lineno}"
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in ("query", "query_df")
    ]


def test_the_optimizer_reads_through_engine_records():
    for path in sorted((ROOT / "engine" / "optimizer").glob("*.py")):
        assert _store_queries(str(path.relative_to(ROOT))) == []


def test_failing_state_summary_from_records(store):
    from datetime import datetime

    from engine import records
    from tests.analytics.recorder import Recorder

    rec = Recorder(store)
    t = datetime(2026, 11, 1, 10)
    rec.execution("R1", wid="w", name="W", start=t, status="failed", duration_ms=10)
    rec.step("R1", "a", wid="w", start=t, ms=1, status="failed", error_type="KeyError", error_message="'sku'")
    rec.step("R1", "a", wid="w", start=t, ms=2, attempt=2)
    rec.step("R1", "b", wid="w", start=t, ms=1, status="failed", error_type="ValueError", error_message="bad")
    rec.write()
    rows = {r["state"]: r for r in records.state_attempts(store, "w", 1)}
    assert (rows["a"]["attempts"], rows["a"]["failed"], rows["a"]["completed_runs"]) == (2, 1, 1)
    assert (rows["b"]["error_type"], rows["b"]["example"], rows["b"]["completed_runs"]) == ("ValueError", "bad", 0)
    assert records.state_run_counts(store, "w", 1) == {
        "a": {"reached": 1, "completed": 1},
        "b": {"reached": 1, "completed": 0},
    }


def test_analytics_reads_through_engine_records():
    """engine/analytics.py holds no query and no SQL of its own: its aggregates are records functions."""
    assert _store_queries("engine/analytics.py") == []
    text = (ROOT / "engine/analytics.py").read_text()
    assert not [w for w in ("SELECT ", " FROM ", "GROUP BY") if w in text]


def test_pages_of_analytics_and_editing_run_no_sql():
    for rel in ("app/app_pages/analytics.py", "app/app_pages/optimize.py", "app/app_pages/editor.py"):
        assert _store_queries(rel) == [], rel


def test_scope_where_matches_runs_by_version_for_tables_without_one(store):
    from datetime import datetime

    from engine import analytics, records
    from tests.analytics.recorder import Recorder

    rec = Recorder(store)
    t = datetime(2026, 11, 1, 10)
    rec.execution("R1", wid="w", name="W", start=t, status="completed", duration_ms=10, version=1)
    rec.execution("R2", wid="w", name="W", start=t, status="failed", duration_ms=30, version=2)
    rec.write()
    v2 = analytics.Scope(("w",), 2, None, None, "W")
    assert records.run_totals(store, v2)["total"] == 1
    where, params = records.scope_where(v2, "timestamp", version=None, execution="execution_id")
    assert "workflow_executions_history WHERE version = ?" in where and params == ["w", 2]
    assert records.scope_where(analytics.Scope((), None), "start_time")[0] == "TRUE AND FALSE"
