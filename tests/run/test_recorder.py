"""engine.run.recorder: the shape of every row the run engine writes (builders, and a real run)."""

from __future__ import annotations

import datetime as dt
import json
from types import MappingProxyType

from engine import schema
from engine.recovery import Failure, RecoveryDecision
from engine.run import recorder
from engine.run.state import Exec, RunOptions, Token
from engine.workflow_file import StateBinding, parse_workflow_text

AT = dt.datetime(2026, 12, 2, 4, 0, 0)


def _spec(name: str = "Row shapes", function: str = "tests.engine.functions:add", extra: str = ""):
    return parse_workflow_text(
        f'name = "{name}"\ndsl = "start->a; a->end;"\n[states.a]\naction = "python"\n'
        f'function = "{function}"\nexecution = "inline"\n{extra}'
    )


def _exec(engine, spec=None, context=None) -> Exec:
    return Exec(engine, "exec-1", spec or _spec(), context or {"n": 1}, RunOptions(), None, 3)


def test_exec_row_has_every_execution_column_and_the_run_as_it_is(inline_engine):
    ex = _exec(inline_engine)
    ex.status, ex.visited, ex.error_count = "running", ["start", "a"], 1
    row = recorder.exec_row(ex, "host:1:ab", 7, AT, current_state="a", duration_ms=5)
    assert set(row) == set(schema.TABLES["workflow_executions"])
    assert row["execution_id"] == "exec-1" and row["workflow_id"] == "row-shapes" and row["version"] == 3
    assert (row["status"], row["current_state"], row["states_visited"]) == ("running", "a", ["start", "a"])
    assert (row["owner"], row["seq"], row["updated_at"], row["duration_ms"]) == ("host:1:ab", 7, AT, 5)
    assert json.loads(row["initial_context"]) == {"n": 1}  # encoded once per run
    options = json.loads(row["options"])
    assert options["_spec"]["name"] == "Row shapes" and options["execution"] == "auto"
    assert row["final_context"] is None and row["waiting_for"] is None and row["error_message"] is None


def test_exec_row_update_decodes_a_stored_row_and_takes_the_next_seq():
    stored = {"execution_id": "e", "status": "waiting", "seq": 4, "states_visited": '["start"]', "options": "{}"}
    new = recorder.exec_row_update(stored, AT, status="cancelled", error_message="why")
    assert new["states_visited"] == ["start"] and new["options"] == {}
    assert (new["status"], new["error_message"], new["seq"], new["updated_at"]) == ("cancelled", "why", 5, AT)
    assert stored["status"] == "waiting"  # the recorded row is left as it was


def test_step_row_shape_from_a_task_record(inline_engine):
    ex = _exec(inline_engine)
    out = MappingProxyType(
        {
            "status": "completed",
            "updates": {"total": 2},
            "keys_read": ["total"],
            "keys_written": ["total"],
            "node_id": "node-1",
            "worker_pid": 42,
            "started_at": 1_700_000_000.0,
            "ended_at": 1_700_000_000.5,
            "duration_ms": 480.0,
        }
    )
    row = recorder.step_row(
        ex,
        "0.1-2",
        "a",
        1,
        9,
        AT,
        status="completed",
        to_state="end",
        ttype="normal",
        out=out,
        attempt=2,
        action="python",
        executed_on="ray",
        updates=MappingProxyType({"total": 2}),
    )
    assert set(row) <= set(schema.TABLES["state_transitions"])
    assert row["id"] == "exec-1-9" and row["token"] == "0.1-2" and row["visit"] == 1 and row["attempt"] == 2
    assert type(row["context_snapshot"]) is dict and row["context_snapshot"] == {"total": 2}
    assert row["started_at"] == dt.datetime(2023, 11, 14, 22, 13, 20)  # naive UTC
    assert row["ended_at"] - row["started_at"] == dt.timedelta(milliseconds=500)
    assert (row["duration_ms"], row["node_id"], row["worker_pid"], row["executed_on"]) == (480.0, "node-1", 42, "ray")
    assert row["ai_decision_used"] is False and row["timestamp"] == AT
    event = recorder.step_event(row)
    assert event == {
        "execution_id": "exec-1",
        "state": "a",
        "status": "completed",
        "to_state": "end",
        "token": "0.1-2",
        "attempt": 2,
        "duration_ms": 480.0,
        "error": None,
        "executed_on": "ray",
    }


def test_step_row_without_timings_uses_the_wall_clock_and_takes_the_updates_from_the_record(inline_engine):
    ex = _exec(inline_engine)
    row = recorder.step_row(
        ex,
        "0",
        "a",
        0,
        1,
        AT,
        status="decision",
        to_state="b",
        ttype="conditional",
        out={"updates": {"k": 1}},
        ai={"reasoning": "because", "confidence": 90},
        wall=1_700_000_000.0,
    )
    assert row["started_at"] == row["ended_at"] and row["duration_ms"] == 0
    assert row["context_snapshot"] == {"k": 1} and row["ai_decision_used"] is True
    assert (row["ai_decision_reasoning"], row["ai_confidence_score"]) == ("because", 90)


def test_recovery_rows_and_their_end(inline_engine):
    ex = _exec(inline_engine)
    f = Failure("a", "ConnectionError", "x" * 5000, 2, StateBinding(), False, [], ex.workflow_id, ["k"] * 80)
    d = RecoveryDecision("retry", "transient", "policy", delay_s=0.123456)
    row = recorder.recovery_row(ex, f, d, "0", AT)
    assert set(row) <= set(schema.TABLES["recovery_actions"])
    assert len(row["error_message"]) == 1000 and len(row["error_context"]["keys"]) == 50
    assert row["error_context"]["token"] == "0" and row["parameters"]["delay_s"] == 0.123
    assert row["success"] is None and row["attempt"] == 2 and row["recovery_strategy"] == "retry"
    done = recorder.finished_recovery_row(row, True, 12.5)
    assert (done["success"], done["recovery_duration_ms"]) == (True, 12.5) and row["success"] is None
    human = recorder.human_recovery_row(ex, "a", "abort", 3, AT)
    assert set(human) <= set(schema.TABLES["recovery_actions"])
    assert (human["chosen_by"], human["success"], human["attempt"]) == ("human", False, 3)


def test_request_audit_and_control_rows():
    req = recorder.request_row("e:0:a:0:approval", "e", "a", "approval", "ok?", ["yes", "no"], None, AT)
    assert set(req) <= set(schema.TABLES["human_requests"])
    assert req["status"] == "open" and req["details"] == {} and req["created_at"] == req["updated_at"] == AT
    stored = dict(req, options='["yes", "no"]', details='{"why": 1}', seq=3)
    answered = recorder.answered_request_row(stored, "yes", "ann", AT)
    assert answered["options"] == ["yes", "no"] and answered["details"] == {"why": 1}
    assert (answered["status"], answered["answer"], answered["answered_by"], answered["seq"]) == (
        "answered",
        "yes",
        "ann",
        None,
    )
    audit = recorder.audit_row("e", "info", None, "run_started", "m" * 3000, AT, {"k": 1})
    assert set(audit) <= set(schema.TABLES["audit_logs"]) and len(audit["message"]) == 2000
    ctrl = recorder.cancel_request_row("e", AT)
    assert set(ctrl) <= set(schema.TABLES["control_requests"]) and ctrl["command"] == "cancel"


def test_a_real_run_writes_rows_of_these_shapes(inline_engine, store, tmp_path):
    """A run that retries twice: its rows in the store are the shapes above, the two recovery rows are
    recorded once each with their outcome, and none is left open on the execution."""
    spec = _spec(
        "Retry shapes",
        "tests.engine.functions:flaky",
        f'params = {{ marker_dir = "{tmp_path / "m"}", fail_times = 2 }}\n',
    )
    res = inline_engine.run(spec, {})
    assert res.status == "completed" and res.retry_count == 2
    store.flush()
    steps = store.query("SELECT * FROM state_transitions WHERE execution_id = ? ORDER BY timestamp", [res.execution_id])
    assert [(s["from_state"], s["status"], s["attempt"]) for s in steps] == [
        ("start", "completed", 1),
        ("a", "failed", 1),
        ("a", "failed", 2),
        ("a", "completed", 3),
    ]
    assert [s["id"] for s in steps] == [f"{res.execution_id}-{n}" for n in (2, 3, 4, 5)]  # seq 1: the start row
    acts = store.query(
        "SELECT recovery_strategy, success, attempt, recovery_duration_ms FROM recovery_actions "
        "WHERE execution_id = ? ORDER BY timestamp",
        [res.execution_id],
    )
    assert [(a["recovery_strategy"], a["success"], a["attempt"]) for a in acts] == [
        ("retry", False, 1),
        ("retry", True, 2),
    ]
    assert all(a["recovery_duration_ms"] is not None for a in acts)
    final = store.query(
        "SELECT status, seq, recovery_actions FROM workflow_executions WHERE execution_id = ?", [res.execution_id]
    )[0]
    assert final["status"] == "completed" and [r["strategy"] for r in json.loads(final["recovery_actions"])] == [
        "retry",
        "retry",
    ]
    assert final["seq"] > 5


def test_open_recovery_lives_on_the_execution_not_in_its_dict(inline_engine):
    ex = _exec(inline_engine)
    f = Failure("a", "ValueError", "bad", 1, StateBinding(), False, [], ex.workflow_id, [])
    inline_engine._open_recovery(ex, f, RecoveryDecision("retry", "r", "policy"), Token("0", "a", {}, frozenset()))
    assert len(ex.open_recovery) == 1 and "_open_recovery" not in vars(ex)
    inline_engine._close_recovery(ex, success=True)
    inline_engine._close_recovery(ex, success=True)  # nothing open: nothing recorded twice
    inline_engine.store.flush()
    rows = inline_engine.store.query("SELECT success FROM recovery_actions WHERE execution_id = 'exec-1'")
    assert ex.open_recovery == [] and [r["success"] for r in rows] == [True]
