"""The optimizer's reads: aggregates over one workflow version's records, and the stored suggestions.

For the ``engine/optimizer/`` package, which turns them into suggestions and a score: key sets and
durations per state (parallelization), attempts and errors (reliability), recorded inputs (caching),
LLM costs, and the ``optimization_records`` rows (suggestions saved, accepted, rejected).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from engine.records.common import decode_all, loads


def initial_contexts(store, workflow_id: str, version: int, statuses: Iterable[str], limit: int) -> dict[str, dict]:
    """execution_id -> decoded initial context of a version's newest runs with one of ``statuses``."""
    rows = store.query(
        "SELECT execution_id, initial_context FROM workflow_executions WHERE workflow_id = ? AND version = ? "
        "AND status IN (SELECT unnest(?::VARCHAR[])) ORDER BY start_time DESC LIMIT ?",
        [workflow_id, int(version), sorted(statuses), int(limit)],
    )
    return {r["execution_id"]: loads(r["initial_context"], {}) for r in rows}


def transitions_of_runs(store, execution_ids: list[str]) -> list[dict]:
    """The transitions of several runs, by run then in record order (JSON columns as stored)."""
    if not execution_ids:
        return []
    return store.query(
        "SELECT execution_id, token, from_state, status, keys_read, context_snapshot, duration_ms, "
        "error_type, error_message FROM state_transitions "
        "WHERE execution_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY execution_id, timestamp",
        [list(execution_ids)],
    )


def optimization_record(store, record_id: str) -> list[dict]:
    """The suggestion with this id, else every suggestion whose id starts with it (newest first); decoded."""
    rows = store.query("SELECT * FROM optimization_records WHERE id = ?", [record_id])
    if not rows:
        rows = store.query(
            "SELECT * FROM optimization_records WHERE id LIKE ? ORDER BY updated_at DESC", [record_id + "%"]
        )
    return decode_all("optimization_records", rows)


def optimization_records(
    store, workflow_id: str | None = None, status: str | None = None, ids: list[str] | None = None
) -> list[dict]:
    """Suggestions (highest priority, then newest first), filtered by workflow, status or ids; decoded."""
    sql = "SELECT * FROM optimization_records WHERE TRUE"
    params: list[Any] = []
    if workflow_id:
        sql += " AND workflow_id = ?"
        params.append(workflow_id)
    if status:
        sql += " AND status = ?"
        params.append(status)
    if ids is not None:
        sql += " AND id IN (SELECT unnest(?::VARCHAR[]))"
        params.append(list(ids))
    return decode_all("optimization_records", store.query(sql + " ORDER BY priority DESC, created_at DESC", params))


_REAL_STATES = "from_state <> 'start' AND from_state NOT LIKE '[%'"  # no start row, no fan-in join rows


def completed_state_keys(store, workflow_id: str, version: int) -> list[dict]:
    """{from_state, keys_read, keys_written, n, runs} per distinct key set of the version's completions."""
    return store.query(
        "SELECT from_state, keys_read, keys_written, count(*) AS n, count(DISTINCT execution_id) AS runs "
        "FROM state_transitions WHERE workflow_id = ? AND version = ? AND status = 'completed' "
        f"AND {_REAL_STATES} GROUP BY ALL",
        [workflow_id, int(version)],
    )


def state_run_counts(store, workflow_id: str, version: int) -> dict[str, dict[str, int]]:
    """state -> {reached: runs that ran it at all, completed: runs in which it completed} for the version."""
    rows = store.query(
        "SELECT from_state, count(DISTINCT execution_id) AS reached, "
        "count(DISTINCT execution_id) FILTER (WHERE status = 'completed') AS completed "
        f"FROM state_transitions WHERE workflow_id = ? AND version = ? AND {_REAL_STATES} GROUP BY 1",
        [workflow_id, int(version)],
    )
    return {r["from_state"]: {"reached": int(r["reached"]), "completed": int(r["completed"])} for r in rows}


def completion_durations(store, workflow_id: str, version: int, states: list[str]) -> list[dict]:
    """{execution_id, token, visit, from_state, ms, executed_on} of the completions of ``states``."""
    marks = ", ".join("?" for _ in states)
    return store.query(
        f"SELECT execution_id, token, visit, from_state, sum(duration_ms) AS ms, "
        f"arg_max(executed_on, ended_at) AS executed_on FROM state_transitions "
        f"WHERE workflow_id = ? AND version = ? AND status = 'completed' AND from_state IN ({marks}) "
        f"GROUP BY ALL",
        [workflow_id, int(version)] + list(states),
    )


def state_completion_medians(store, workflow_id: str, version: int, states: list[str]) -> dict[str, float]:
    """state -> median duration (ms) of its completions in the version."""
    marks = ", ".join("?" for _ in states)
    rows = store.query(
        f"SELECT from_state, median(duration_ms) AS m FROM state_transitions WHERE workflow_id = ? AND version = ? "
        f"AND status = 'completed' AND from_state IN ({marks}) GROUP BY 1",
        [workflow_id, int(version), *states],
    )
    return {r["from_state"]: float(r["m"]) for r in rows}


def state_attempts(store, workflow_id: str, version: int) -> list[dict]:
    """{state, attempts, failed, visits, runs, completed_runs, error_type, example} per state of the version.

    Attempts are completed or failed rows; ``error_type``/``example`` are those of the latest failure."""
    return store.query(
        f"""SELECT from_state AS state, count(*) AS attempts, count(*) FILTER (WHERE status = 'failed') AS failed,
               count(DISTINCT (execution_id, token, visit)) AS visits,
               count(DISTINCT execution_id) AS runs,
               count(DISTINCT execution_id) FILTER (WHERE status = 'completed') AS completed_runs,
               arg_max(coalesce(error_type, 'Error'), started_at) FILTER (WHERE status = 'failed') AS error_type,
               arg_max(error_message, started_at) FILTER (WHERE status = 'failed') AS example
           FROM state_transitions WHERE workflow_id = ? AND version = ? AND status IN ('completed', 'failed')
             AND {_REAL_STATES} GROUP BY 1""",
        [workflow_id, int(version)],
    )


def visits_failed_after_recovery(store, workflow_id: str, version: int) -> dict[str, int]:
    """state -> visits (run, branch, visit) that failed and never completed, skipped or fell back."""
    return {
        r["state"]: int(r["n"])
        for r in store.query(
            """WITH v AS (SELECT from_state AS state, execution_id, token, visit,
                       bool_or(status IN ('completed', 'skipped', 'fallback')) AS ok,
                       bool_or(status = 'failed') AS any_failed
                     FROM state_transitions WHERE workflow_id = ? AND version = ? GROUP BY ALL)
           SELECT state, count(*) FILTER (WHERE any_failed AND NOT ok) AS n FROM v GROUP BY 1""",
            [workflow_id, int(version)],
        )
    }


def state_error_counts(store, workflow_id: str, version: int) -> list[dict]:
    """{state, error_type, n, example} of the version's failed attempts, most frequent first."""
    return store.query(
        """SELECT from_state AS state, coalesce(error_type, 'Error') AS error_type, count(*) AS n,
               arg_max(error_message, started_at) AS example
           FROM state_transitions WHERE workflow_id = ? AND version = ? AND status = 'failed'
           GROUP BY 1, 2 ORDER BY n DESC""",
        [workflow_id, int(version)],
    )


def state_duration_quantiles(store, workflow_id: str, version: int) -> list[dict]:
    """{state, n, p50, p95, p99, mx, on_ray} of the version's completions, highest p99 first."""
    return store.query(
        f"""SELECT from_state AS state, count(*) AS n, quantile_cont(duration_ms, 0.5) AS p50,
               quantile_cont(duration_ms, 0.95) AS p95, quantile_cont(duration_ms, 0.99) AS p99,
               max(duration_ms) AS mx, count(*) FILTER (WHERE executed_on = 'ray') AS on_ray
           FROM state_transitions WHERE workflow_id = ? AND version = ? AND status = 'completed'
             AND {_REAL_STATES} GROUP BY 1 ORDER BY p99 DESC""",
        [workflow_id, int(version)],
    )


def state_read_key_sets(store, workflow_id: str, version: int, state: str) -> list[Any]:
    """The distinct ``keys_read`` values (JSON) of a state's completions in the version."""
    rows = store.query(
        "SELECT DISTINCT keys_read FROM state_transitions WHERE workflow_id = ? AND version = ? "
        "AND from_state = ? AND status = 'completed'",
        [workflow_id, int(version), state],
    )
    return [r["keys_read"] for r in rows]


def repeated_ai_decisions(store, workflow_id: str) -> list[dict]:
    """{state, condition, context_hash, n} asked of the model more than once with the same context."""
    return store.query(
        """SELECT state, condition, context_hash, count(*) AS n FROM ai_decisions
           WHERE workflow_id = ? AND decided_by = 'ai' AND context_hash IS NOT NULL
           GROUP BY 1, 2, 3 HAVING count(*) > 1""",
        [workflow_id],
    )


def llm_cost_summary(store, workflow_id: str) -> dict:
    """{cost, calls, decision_cost, decision_calls} of a workflow's LLM calls (calls = not from the cache)."""
    return store.query(
        """SELECT coalesce(sum(cost_usd), 0) AS cost, count(*) FILTER (WHERE NOT coalesce(cache_hit, FALSE)) AS calls,
               coalesce(sum(cost_usd) FILTER (WHERE operation ILIKE '%decision%' OR operation ILIKE '%condition%'), 0)
                   AS decision_cost,
               count(*) FILTER (WHERE (operation ILIKE '%decision%' OR operation ILIKE '%condition%')
                   AND NOT coalesce(cache_hit, FALSE)) AS decision_calls
           FROM llm_calls WHERE workflow_id = ?""",
        [workflow_id],
    )[0]


def llm_cost_by_model(store, workflow_id: str) -> list[dict]:
    """{model, provider, calls, pt, ct, cost} of a workflow's uncached LLM calls, most expensive first."""
    return store.query(
        """SELECT model, provider, count(*) AS calls, coalesce(sum(prompt_tokens), 0) AS pt,
               coalesce(sum(completion_tokens), 0) AS ct, coalesce(sum(cost_usd), 0) AS cost
           FROM llm_calls WHERE workflow_id = ? AND NOT coalesce(cache_hit, FALSE) AND model IS NOT NULL
           GROUP BY 1, 2 ORDER BY cost DESC""",
        [workflow_id],
    )
