"""What happened inside one run: its steps (transitions), audit log, recoveries, AI decisions, logs.

For the Run page and History (through ``engine.workbench``), ``engine.api``, ``workbench logs``, the
service's log route and ``/metrics``, and the cluster view of where steps ran (:func:`time_per_node`).
"""

from __future__ import annotations

from typing import Any


def transitions(store, execution_id: str) -> list[dict]:
    """A run's state transitions in record order (JSON columns as stored: decode with :func:`loads`)."""
    return store.query(
        "SELECT * FROM state_transitions WHERE execution_id = ? ORDER BY timestamp, started_at", [execution_id]
    )


def audit_log(store, execution_id: str, include_debug: bool = True) -> list[dict]:
    """A run's audit log lines, oldest first."""
    sql = "SELECT timestamp, level, state, event_type, message FROM audit_logs WHERE execution_id = ?"
    if not include_debug:
        sql += " AND level <> 'debug'"
    return store.query(sql + " ORDER BY timestamp", [execution_id])


_RECOVERY_SUMMARY = (
    "timestamp, error_state, error_type, error_class, error_message, recovery_strategy, chosen_by, "
    "reasoning, ai_reasoning, attempt, success, recovery_duration_ms"
)


def recovery_actions(store, execution_id: str, *, all_columns: bool = False) -> list[dict]:
    """A run's recovery actions, oldest first (a summary of the columns unless ``all_columns``)."""
    cols = "*" if all_columns else _RECOVERY_SUMMARY
    return store.query(f"SELECT {cols} FROM recovery_actions WHERE execution_id = ? ORDER BY timestamp", [execution_id])


def ai_decisions(store, execution_id: str) -> list[dict]:
    """The decision service's records for a run, oldest first."""
    return store.query(
        "SELECT timestamp, state, condition, result, confidence, reasoning, provider, decided_by "
        "FROM ai_decisions WHERE execution_id = ? ORDER BY timestamp",
        [execution_id],
    )


def recovery_strategy_counts(store, execution_id: str) -> dict[str, int]:
    """Recovery strategy (``unknown`` when none) -> how many times a run's recovery chose it."""
    return {
        r["s"]: int(r["n"])
        for r in store.query(
            "SELECT coalesce(nullif(recovery_strategy, ''), 'unknown') AS s, count(*) AS n FROM recovery_actions "
            "WHERE execution_id = ? GROUP BY 1",
            [execution_id],
        )
    }


def step_logs(store, execution_id: str, state: str | None = None) -> list[dict]:
    """What a run's state attempts printed, oldest first (one state's when ``state`` is given):
    {id, state, token, visit, attempt, status, executed_on, text, timestamp}; attempts that printed
    nothing have no entry."""
    sql = (
        "SELECT id, state, token, visit, attempt, status, executed_on, text, timestamp FROM step_logs "
        "WHERE execution_id = ?"
    )
    params: list[Any] = [execution_id]
    if state is not None:
        sql += " AND state = ?"
        params.append(state)
    return store.query(sql + " ORDER BY timestamp, attempt", params)


def states_before_end(store, ids: list[str]) -> list[dict]:
    """{execution_id, from_state} of the transitions into ``end`` of the given runs, in record order."""
    if not ids:
        return []
    return store.query(
        "SELECT execution_id, from_state FROM state_transitions WHERE to_state = 'end' AND "
        "execution_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY timestamp",
        [list(ids)],
    )


def time_per_node(store, workflow_id: str | None = None, execution_id: str | None = None) -> list[dict]:
    """{node, steps, total_ms, avg_ms, failed} per node that ran states on Ray (most time first).

    ``node`` is what the worker recorded as the step's node_id (``host/<Ray node id>``); inline steps
    and steps without a node are left out. Filter by workflow or by one run."""
    where, params = ["executed_on = 'ray'", "node_id IS NOT NULL"], []
    if workflow_id is not None:
        where.append("workflow_id = ?")
        params.append(workflow_id)
    if execution_id is not None:
        where.append("execution_id = ?")
        params.append(execution_id)
    return store.query(
        "SELECT node_id AS node, count(*) AS steps, coalesce(sum(duration_ms), 0) AS total_ms, "
        "coalesce(avg(duration_ms), 0) AS avg_ms, count(*) FILTER (WHERE status = 'failed') AS failed "
        f"FROM state_transitions WHERE {' AND '.join(where)} GROUP BY 1 ORDER BY total_ms DESC, node",
        params,
    )


def first_start(store, execution_id: str, token: str, state: str):
    """When ``token`` of the run first started ``state`` (naive UTC), or None before its first record."""
    rows = store.query(
        "SELECT min(started_at) AS first FROM state_transitions WHERE execution_id = ? AND token = ? AND from_state = ?",
        [execution_id, token, state],
    )
    return rows[0]["first"] if rows else None
