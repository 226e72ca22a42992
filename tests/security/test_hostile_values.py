"""Hostile values (issue 13): a state returning a 100 MB value or an object that is not JSON, a
context of a million keys. Each is refused or bounded with a clear message, nothing half-written,
and the engine and its store keep answering afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.runner import RunError
from engine import outcomes
from engine.workflow_file import WorkflowSpec

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = "tests.security.hostile_functions"
MILLION_KEYS = {f"k{i}": i for i in range(1_000_000)}  # about 18.8 MB as JSON


def _spec(function: str, params: dict | None = None) -> WorkflowSpec:
    return WorkflowSpec(
        name="hostile",
        dsl="start->step; step->end;",
        states={"step": {"action": "python", "function": f"{FUNCTIONS}:{function}", "params": params or {}}},
    )


def _stored_steps(eng, execution_id: str) -> list[dict]:
    return eng.store.query(
        "SELECT from_state, to_state, status, error_type, error_message, context_snapshot FROM state_transitions"
        " WHERE execution_id = ?",
        [execution_id],
    )


def _assert_refused_and_store_readable(eng, result) -> None:
    assert result.status == "failed"
    assert "16,000,000 bytes" in (result.error or ""), result.error
    steps = _stored_steps(eng, result.execution_id)
    assert steps and not any("x" * 1000 in (s["context_snapshot"] or "") for s in steps)
    assert any(s["error_type"] == "DataError" for s in steps), steps
    row = eng.execution_row(result.execution_id)
    assert row["status"] == "failed"
    assert "blob" not in json.loads(row["final_context"] or "{}")  # no part of the 100 MB value was kept
    after = eng.run(_spec("small"), {})  # the engine and the store still answer
    assert after.status == "completed" and after.final_context["ok"] == 1


def test_the_limit_matches_the_typed_context_limit():
    from engine.context_input import MAX_BYTES

    assert outcomes.MAX_RESULT_BYTES == MAX_BYTES == 16_000_000


def test_a_100_mb_result_is_refused_inline_with_the_limit_in_the_message(inline_engine):
    t0 = time.monotonic()
    result = inline_engine.run(_spec("huge_text", {"megabytes": 100}), {})
    elapsed = time.monotonic() - t0
    _assert_refused_and_store_readable(inline_engine, result)
    assert "100,000,002 bytes" in result.error and "WORKBENCH_MAX_RESULT_BYTES" in result.error
    assert elapsed < 30, f"refusing took {elapsed:.1f} s"


def test_a_100_mb_result_is_refused_on_ray_before_it_leaves_the_worker(engine):
    t0 = time.monotonic()
    result = engine.run(_spec("huge_text", {"megabytes": 100}), {})
    elapsed = time.monotonic() - t0
    _assert_refused_and_store_readable(engine, result)
    assert elapsed < 60, f"refusing took {elapsed:.1f} s"


def test_a_result_just_under_the_limit_is_kept_whole(inline_engine):
    result = inline_engine.run(_spec("huge_text", {"megabytes": 15}), {})
    assert result.status == "completed"
    row = inline_engine.execution_row(result.execution_id)
    assert len(json.loads(row["final_context"])["blob"]) == 15_000_000


def test_the_limit_is_configurable(inline_engine, monkeypatch):
    monkeypatch.setenv("WORKBENCH_MAX_RESULT_BYTES", "1000000")
    result = inline_engine.run(_spec("huge_text", {"megabytes": 2}), {})
    assert result.status == "failed" and "1,000,000 bytes" in result.error


@pytest.mark.parametrize(
    "function, key, stored",
    [("a_set", "tags", None), ("an_object", "thing", "<Opaque>"), ("some_bytes", "raw", "b'\\x00\\xff binary'")],
)
def test_a_value_that_is_not_json_is_stored_as_its_text(inline_engine, function, key, stored):
    """Documented conversion: leaves that JSON has no form for are stored as ``str(value)``."""
    result = inline_engine.run(_spec(function), {})
    assert result.status == "completed", result.error
    row = json.loads(inline_engine.execution_row(result.execution_id)["final_context"])
    assert isinstance(row[key], str) and row[key] == result.final_context[key]
    if stored is not None:
        assert row[key] == stored
    else:
        assert row[key] in ("{'a', 'b'}", "{'b', 'a'}")


def test_a_non_json_value_on_ray_is_stored_as_its_text(engine):
    result = engine.run(_spec("an_object"), {})
    assert result.status == "completed", result.error
    assert json.loads(engine.execution_row(result.execution_id)["final_context"])["thing"] == "<Opaque>"


def test_a_million_key_context_is_refused_by_engine_start_quickly_and_nothing_is_recorded(inline_engine):
    before = inline_engine.store.query("SELECT count(*) AS n FROM workflow_executions")[0]["n"]
    t0 = time.monotonic()
    with pytest.raises(RunError, match=r"the initial context is at least 16,0\d\d,\d{3} bytes .*16,000,000 bytes"):
        inline_engine.start(_spec("small"), MILLION_KEYS)
    elapsed = time.monotonic() - t0
    assert elapsed < 10, f"refusing took {elapsed:.1f} s"
    assert inline_engine.store.query("SELECT count(*) AS n FROM workflow_executions")[0]["n"] == before
    assert inline_engine.run(_spec("small"), {}).status == "completed"


def test_a_million_key_context_on_the_cli_is_refused_with_a_clear_message(tmp_path):
    context_file = tmp_path / "million.json"
    context_file.write_text(json.dumps(MILLION_KEYS))
    workflow = tmp_path / "wf.toml"
    workflow.write_text(
        'name = "hostile"\ndsl = "start->step; step->end;"\n'
        f'[states.step]\naction = "python"\nfunction = "{FUNCTIONS}:small"\n'
    )
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "engine.cli", "run", str(workflow), "--execution", "inline", "--context", f"@{context_file}"],
        cwd=ROOT,
        env=dict(os.environ, WORKBENCH_DB=str(tmp_path / "w.duckdb"), PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - t0
    assert proc.returncode != 0
    assert "the limit is 16,000,000 bytes" in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
    assert elapsed < 60
