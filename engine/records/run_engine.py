"""The run engine's own reads: resuming, cancelling and choosing how to run or recover a state.

For ``engine.run`` (driver, control, attempts) and the app's run view of sub-runs: an execution row
exactly as stored, sub-workflow runs, the history's highest ``seq``, cancel requests from another
process, past recovery outcomes and per-state timings on Ray.
"""

from __future__ import annotations


def execution_as_stored(store, execution_id: str) -> dict | None:
    """One execution row exactly as stored (JSON columns as text); ``None`` when there is none."""
    rows = store.query("SELECT * FROM workflow_executions WHERE execution_id = ?", [execution_id])
    return rows[0] if rows else None


def child_executions(store, parent_ids: list[str]) -> list[dict]:
    """The execution rows (as stored) of the sub-workflow runs whose parent is one of ``parent_ids``."""
    if not parent_ids:
        return []
    return store.query(
        "SELECT * FROM workflow_executions WHERE parent_execution_id IN (SELECT unnest(?::VARCHAR[]))",
        [list(parent_ids)],
    )


def max_execution_seq(store, execution_id: str) -> int:
    """The highest ``seq`` of a run's execution rows in the history (0 when none)."""
    rows = store.query("SELECT max(seq) AS s FROM workflow_executions_history WHERE execution_id = ?", [execution_id])
    return int(rows[0]["s"]) if rows and rows[0]["s"] is not None else 0


def cancel_requested(store, execution_ids: list[str]) -> list[str]:
    """Which of the runs another process asked to cancel (``control_requests``)."""
    rows = store.query(
        "SELECT DISTINCT execution_id FROM control_requests WHERE command = 'cancel' "
        "AND execution_id IN (SELECT unnest(?::VARCHAR[]))",
        [list(execution_ids)],
    )
    return [r["execution_id"] for r in rows]


def recovery_history(store, state: str, error_class: str) -> dict[str, tuple[int, int]]:
    """strategy -> (successes, tries) of past recoveries of a state for an error class."""
    rows = store.query(
        "SELECT recovery_strategy AS s, count(*) FILTER (WHERE success) AS ok, count(*) AS n "
        "FROM recovery_actions WHERE error_state = ? AND error_class = ? GROUP BY 1",
        [state, error_class],
    )
    return {r["s"]: (int(r["ok"]), int(r["n"])) for r in rows}


def ray_state_timings(store, workflow_id: str) -> list[dict]:
    """Per state of a workflow, its attempts on Ray: {from_state, n, p95 (ms), ok (all completed)}."""
    return store.query(
        "SELECT from_state, count(*) AS n, quantile_cont(duration_ms, 0.95) AS p95, "
        "bool_and(status = 'completed') AS ok FROM state_transitions WHERE workflow_id = ? "
        "AND executed_on = 'ray' GROUP BY 1",
        [workflow_id],
    )
