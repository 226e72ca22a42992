"""``workbench analytics | optimize | export`` on the fixture records."""

from __future__ import annotations

import json

import pandas as pd

from engine.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_analytics_text_and_json(store, alpha, capsys):
    code, out, _ = run(capsys, "analytics", "--workflow", "Alpha", "--since", "all", "--granularity", "day")
    assert code == 0
    assert "success rate 60.0%" in out and "auto-recovery 100.0%" in out
    assert "p50 2,000" in out and "p95 3,800" in out
    assert "parse" in out and "ValueError" in out
    code, out, _ = run(capsys, "analytics", "--since", "all", "--json")
    rep = json.loads(out)
    assert rep["statistics"]["total_executions"] == 7 and {w["workflow"] for w in rep["workflows"]} == {"Alpha", "Beta"}


def test_analytics_empty_and_bad_input(store, capsys):
    code, out, _ = run(capsys, "analytics", "--since", "7d")
    assert code == 0 and "No runs in this range" in out
    code, _, err = run(capsys, "analytics", "--since", "last tuesday")
    assert code == 1 and "cannot read the time" in err


def test_optimize_report_accept_compare(store, gamma, capsys):
    code, out, _ = run(capsys, "optimize", "Gamma", "--slots", "2", "--no-ai")
    assert code == 0
    assert "Score 88/100 (potential 100)" in out
    assert "Run 'b', 'c' and 'd' in parallel" in out and "a->[b,c,d];" in out
    assert "a -> b: 'b' reads x written by 'a'" in out
    code, out, _ = run(capsys, "optimize", "Gamma", "--slots", "2", "--no-ai", "--json")
    rep = json.loads(out)
    par = [s for s in rep["suggested_optimizations"] if s["kind"] == "parallelize"][0]
    assert rep["current_optimization_score"] == 88 and par["estimated_improvement"] == 26.3
    code, out, _ = run(capsys, "optimize", "Gamma", "--accept", par["id"])
    assert code == 0 and "saved as version 2" in out
    code, out, _ = run(capsys, "optimize", "Gamma", "--compare", "1", "2")
    assert code == 0 and "Not enough runs" in out
    code, _, err = run(capsys, "optimize", "Gamma", "--accept", "nope")
    assert code == 1 and "no optimization suggestion" in err


def test_export_parquet(store, alpha, tmp_path, capsys):
    code, out, _ = run(capsys, "export", "--parquet", str(tmp_path / "out"), "--history")
    assert code == 0 and "Parquet files" in out
    df = pd.read_parquet(tmp_path / "out" / "workflow_executions.parquet")
    assert len(df) == 7 and set(df["status"]) >= {"completed", "failed", "running"}
    assert (
        len(pd.read_parquet(tmp_path / "out" / "state_transitions.parquet")) == 19
    )  # 6 start + 10 attempts + join + decision + Beta
    assert (tmp_path / "out" / "workflow_executions_history.parquet").exists()
    code, _, err = run(capsys, "export", "--parquet", str(tmp_path / "x"), "--table", "nope")
    assert code == 1 and "unknown table" in err
