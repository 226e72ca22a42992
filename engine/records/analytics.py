"""The analytics reads: aggregates over the runs in an analytics scope.

For :mod:`engine.analytics` (which turns these rows and DataFrames into rates, percentiles and charts
for the Analytics page, the CLI and the service) and the per-run Gantt chart. ``scope`` is an
``engine.analytics.Scope``: any object with ``workflow_ids`` (None = all), ``version``, ``start``, ``end``;
:func:`scope_where` turns it into SQL.
"""

from __future__ import annotations

from engine.schema import FINISHED_STATUSES

ANALYTICS_GRANULARITIES = ("minute", "hour", "day", "week", "month")


_FINISHED_SQL = "(" + ", ".join(f"'{s}'" for s in sorted(FINISHED_STATUSES)) + ")"  # status IN (...)


_ATTEMPT_ROWS = "from_state <> 'start' AND from_state NOT LIKE '[%' AND status IN ('completed', 'failed')"


_GANTT_STATUSES = ("completed", "failed", "skipped", "fallback")


def scope_where(
    scope,
    ts: str | None,
    *,
    wf: str | None = "workflow_id",
    version: str | None = "version",
    execution: str | None = None,
) -> tuple[str, list]:
    """``WHERE``-ready SQL (starting with ``TRUE``) and its parameters for the records in ``scope``.

    For tables without a version column pass ``version=None, execution="execution_id"``: the version
    is then matched through the run the row belongs to.
    """
    parts, params = ["TRUE"], []
    if scope.workflow_ids is not None and wf:
        if not scope.workflow_ids:
            parts.append("FALSE")
        else:
            parts.append(f"{wf} IN ({', '.join('?' for _ in scope.workflow_ids)})")
            params += list(scope.workflow_ids)
    if scope.version is not None:
        if version:
            parts.append(f"{version} = ?")
            params.append(int(scope.version))
        elif execution:
            parts.append(f"{execution} IN (SELECT execution_id FROM workflow_executions_history WHERE version = ?)")
            params.append(int(scope.version))
    if ts and scope.start is not None:
        parts.append(f"{ts} >= ?")
        params.append(scope.start)
    if ts and scope.end is not None:
        parts.append(f"{ts} < ?")
        params.append(scope.end)
    return " AND ".join(parts), params


def _bucket(granularity: str, col: str) -> str:
    if granularity not in ANALYTICS_GRANULARITIES:
        raise ValueError(f"granularity must be one of {', '.join(ANALYTICS_GRANULARITIES)}, not {granularity!r}")
    return f"date_trunc('{granularity}', {col})"


def _run_scope(scope) -> tuple[str, list]:
    return scope_where(scope, "start_time")


def _linked_scope(scope) -> tuple[str, list]:
    """Tables without a workflow version column (recovery, AI decisions, LLM calls): by their run."""
    return scope_where(scope, "timestamp", version=None, execution="execution_id")


def run_time_span(store, scope) -> dict:
    """{first, last}: the start times of the first and the last run in scope (None when there is none)."""
    where, params = _run_scope(scope)
    return store.query(
        f"SELECT min(start_time) AS first, max(start_time) AS last FROM workflow_executions WHERE {where}", params
    )[0]


def workflow_ids_named(store, name_or_id: str) -> tuple[str, ...]:
    """Every workflow id recorded under this name or id (runs and the library), sorted."""
    rows = store.query(
        "SELECT DISTINCT workflow_id FROM workflow_executions_history "
        "WHERE (workflow_name = ? OR workflow_id = ?) AND workflow_id IS NOT NULL "
        "UNION SELECT DISTINCT workflow_id FROM workflows_history WHERE (name = ? OR workflow_id = ?) "
        "AND workflow_id IS NOT NULL",
        [name_or_id, name_or_id, name_or_id, name_or_id],
    )
    return tuple(sorted(r["workflow_id"] for r in rows))


def workflows_with_runs(store):
    """DataFrame: workflow_id, name (latest), runs, last_run, versions; the most recently run first."""
    return store.query_df(
        "SELECT workflow_id, arg_max(workflow_name, start_time) AS name, count(*) AS runs, "
        "max(start_time) AS last_run, list(DISTINCT version ORDER BY version) AS versions "
        "FROM workflow_executions WHERE workflow_id IS NOT NULL GROUP BY workflow_id ORDER BY last_run DESC"
    )


def run_totals(store, scope) -> dict:
    """total, completed, failed, cancelled, running, avg_ms and q ([p50, p95, p99]) of finished runs,
    errors, retries over the runs in scope."""
    where, params = _run_scope(scope)
    return store.query(
        f"""SELECT count(*) AS total,
               count(*) FILTER (WHERE status = 'completed') AS completed,
               count(*) FILTER (WHERE status = 'failed') AS failed,
               count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
               count(*) FILTER (WHERE status NOT IN {_FINISHED_SQL}) AS running,
               avg(duration_ms) FILTER (WHERE status IN {_FINISHED_SQL}) AS avg_ms,
               quantile_cont(duration_ms, [0.5, 0.95, 0.99])
                   FILTER (WHERE status IN {_FINISHED_SQL}) AS q,
               sum(error_count) AS errors, sum(retry_count) AS retries
            FROM workflow_executions WHERE {where}""",
        params,
    )[0]


def runs_per_bucket(store, scope, granularity: str):
    """DataFrame per time bucket: executions, completed, failed, cancelled, success_rate, avg/p50/p95/p99 ms."""
    where, params = _run_scope(scope)
    return store.query_df(
        f"""SELECT {_bucket(granularity, "start_time")} AS bucket,
               count(*) AS executions,
               count(*) FILTER (WHERE status = 'completed') AS completed,
               count(*) FILTER (WHERE status = 'failed') AS failed,
               count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
               100.0 * count(*) FILTER (WHERE status = 'completed')
                   / nullif(count(*) FILTER (WHERE status IN {_FINISHED_SQL}), 0)
                   AS success_rate,
               avg(duration_ms) FILTER (WHERE status IN {_FINISHED_SQL}) AS avg_ms,
               quantile_cont(duration_ms, 0.5) FILTER (WHERE status IN {_FINISHED_SQL})
                   AS p50_ms,
               quantile_cont(duration_ms, 0.95) FILTER (WHERE status IN {_FINISHED_SQL})
                   AS p95_ms,
               quantile_cont(duration_ms, 0.99) FILTER (WHERE status IN {_FINISHED_SQL})
                   AS p99_ms
            FROM workflow_executions WHERE {where} AND start_time IS NOT NULL
            GROUP BY 1 ORDER BY 1""",
        params,
    )


def runs_per_workflow(store, scope):
    """DataFrame, one row per workflow: executions, completed, failed, success_rate, p50/p95 ms, last_run."""
    where, params = _run_scope(scope)
    return store.query_df(
        f"""SELECT workflow_id, arg_max(workflow_name, start_time) AS workflow, count(*) AS executions,
               count(*) FILTER (WHERE status = 'completed') AS completed,
               count(*) FILTER (WHERE status = 'failed') AS failed,
               100.0 * count(*) FILTER (WHERE status = 'completed')
                   / nullif(count(*) FILTER (WHERE status IN {_FINISHED_SQL}), 0)
                   AS success_rate,
               quantile_cont(duration_ms, 0.5) FILTER (WHERE status IN {_FINISHED_SQL})
                   AS p50_ms,
               quantile_cont(duration_ms, 0.95) FILTER (WHERE status IN {_FINISHED_SQL})
                   AS p95_ms,
               max(start_time) AS last_run
            FROM workflow_executions WHERE {where} GROUP BY workflow_id ORDER BY executions DESC""",
        params,
    )


def runs_with_duration(store, scope, statuses: tuple[str, ...]):
    """DataFrame: execution_id, workflow_id, version, status, start_time, duration_ms of the runs in scope
    with one of ``statuses`` and a duration, oldest first."""
    where, params = _run_scope(scope)
    marks = ", ".join("?" for _ in statuses)
    return store.query_df(
        f"SELECT execution_id, workflow_id, version, status, start_time, duration_ms FROM workflow_executions "
        f"WHERE {where} AND status IN ({marks}) AND duration_ms IS NOT NULL ORDER BY start_time",
        params + list(statuses),
    )


def state_attempt_figures(store, scope):
    """DataFrame per state of the attempts in scope: attempts, completed, failed, error_rate, avg/min/max/total
    ms, q ([q1, p50, q3, p95, p99]), executions, executed_on, waits_for_people (approval or wait step),
    waits_for_timer (a wait step); most total time first."""
    where, params = scope_where(scope, "started_at")
    return store.query_df(
        f"""SELECT from_state AS state, count(*) AS attempts,
               count(*) FILTER (WHERE status = 'completed') AS completed,
               count(*) FILTER (WHERE status = 'failed') AS failed,
               100.0 * count(*) FILTER (WHERE status = 'failed') / count(*) AS error_rate,
               avg(duration_ms) AS avg_ms, min(duration_ms) AS min_ms,
               quantile_cont(duration_ms, [0.25, 0.5, 0.75, 0.95, 0.99]) AS q,
               max(duration_ms) AS max_ms, sum(duration_ms) AS total_ms,
               count(DISTINCT execution_id) AS executions,
               arg_max(executed_on, started_at) AS executed_on,
               coalesce(bool_or(action IN ('approval', 'wait')), FALSE) AS waits_for_people,
               coalesce(bool_or(action = 'wait'), FALSE) AS waits_for_timer
            FROM state_transitions WHERE {where} AND {_ATTEMPT_ROWS}
            GROUP BY from_state ORDER BY total_ms DESC, state""",
        params,
    )


def _run_time_sql(scope) -> tuple[str, list]:
    """A ``WITH`` clause ending in ``split``: one row per finished run in scope with its duration_ms and
    waiting_ms, the time in which at least one approval (or wait step) attempt was open (the union of their
    [started_at, ended_at] intervals, so parallel approvals count once; capped at the run's duration)."""
    where, params = _run_scope(scope)
    return (
        f"""WITH runs AS (
                SELECT execution_id, workflow_id, version, status, start_time, duration_ms FROM workflow_executions
                WHERE {where} AND status IN {_FINISHED_SQL} AND duration_ms IS NOT NULL),
            w AS (
                SELECT execution_id, action, started_at AS s, coalesce(ended_at, started_at) AS f FROM state_transitions
                WHERE action IN ('approval', 'wait') AND {_ATTEMPT_ROWS} AND started_at IS NOT NULL
                  AND execution_id IN (SELECT execution_id FROM runs)),
            o AS (
                SELECT *, max(f) OVER (PARTITION BY execution_id ORDER BY s, f
                                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_f FROM w),
            g AS (
                SELECT *, sum(CASE WHEN prev_f IS NULL OR s > prev_f THEN 1 ELSE 0 END)
                           OVER (PARTITION BY execution_id ORDER BY s, f ROWS UNBOUNDED PRECEDING) AS island FROM o),
            islands AS (SELECT execution_id, min(s) AS s, max(f) AS f FROM g GROUP BY execution_id, island),
            waits AS (
                SELECT execution_id, sum(epoch_us(f) - epoch_us(s)) / 1000.0 AS waiting_ms
                FROM islands GROUP BY execution_id),
            split AS (
                SELECT r.*, least(r.duration_ms::DOUBLE, coalesce(w.waiting_ms, 0.0)) AS waiting_ms,
                       r.duration_ms - least(r.duration_ms::DOUBLE, coalesce(w.waiting_ms, 0.0)) AS working_ms
                FROM runs r LEFT JOIN waits w USING (execution_id))""",
        params,
    )


def run_time_rows(store, scope):
    """DataFrame, one row per finished run in scope (oldest first): execution_id, workflow_id, version,
    status, start_time, duration_ms, waiting_ms (waiting for people) and working_ms = duration − waiting."""
    cte, params = _run_time_sql(scope)
    return store.query_df(f"{cte} SELECT * FROM split ORDER BY start_time, execution_id", params)


def run_time_totals(store, scope) -> dict:
    """runs, runs_waiting, runs_on_timer (runs with a wait step), working_avg_ms, working_q ([p50, p95]),
    waiting_avg_ms and waiting_q over the runs that waited, waiting_total_ms, duration_total_ms (see
    :func:`run_time_rows`)."""
    cte, params = _run_time_sql(scope)
    return store.query(
        f"""{cte} SELECT count(*) AS runs, count(*) FILTER (WHERE waiting_ms > 0) AS runs_waiting,
               (SELECT count(DISTINCT execution_id) FROM w WHERE action = 'wait') AS runs_on_timer,
               avg(working_ms) AS working_avg_ms, quantile_cont(working_ms, [0.5, 0.95]) AS working_q,
               avg(waiting_ms) FILTER (WHERE waiting_ms > 0) AS waiting_avg_ms,
               quantile_cont(waiting_ms, [0.5, 0.95]) FILTER (WHERE waiting_ms > 0) AS waiting_q,
               coalesce(sum(waiting_ms), 0) AS waiting_total_ms, coalesce(sum(duration_ms), 0) AS duration_total_ms
            FROM split""",
        params,
    )[0]


def run_time_per_bucket(store, scope, granularity: str):
    """DataFrame per time bucket of run start: runs, working_p50_ms, working_avg_ms, waiting_avg_ms
    (waiting averaged over all runs of the bucket)."""
    cte, params = _run_time_sql(scope)
    return store.query_df(
        f"""{cte} SELECT {_bucket(granularity, "start_time")} AS bucket, count(*) AS runs,
               quantile_cont(working_ms, 0.5) AS working_p50_ms, avg(working_ms) AS working_avg_ms,
               avg(waiting_ms) AS waiting_avg_ms
            FROM split WHERE start_time IS NOT NULL GROUP BY 1 ORDER BY 1""",
        params,
    )


def state_outcome_counts(store, scope):
    """DataFrame: state, status (completed, failed, skipped, fallback), n."""
    where, params = scope_where(scope, "started_at")
    return store.query_df(
        f"""SELECT from_state AS state, status, count(*) AS n FROM state_transitions
            WHERE {where} AND from_state <> 'start' AND from_state NOT LIKE '[%'
              AND status IN ('completed', 'failed', 'skipped', 'fallback')
            GROUP BY 1, 2 ORDER BY 1, 2""",
        params,
    )


def state_error_pairs(store, scope, limit: int):
    """DataFrame: the most frequent (state, error_type) pairs of failed attempts, with the latest message."""
    where, params = scope_where(scope, "started_at")
    return store.query_df(
        f"""SELECT from_state AS state, coalesce(error_type, 'Error') AS error_type, count(*) AS count,
               count(DISTINCT execution_id) AS executions, max(started_at) AS last_seen,
               arg_max(error_message, started_at) AS example
            FROM state_transitions WHERE {where} AND status = 'failed' AND from_state <> 'start'
            GROUP BY 1, 2 ORDER BY count DESC, state, error_type LIMIT ?""",
        params + [int(limit)],
    )


def error_type_counts(store, scope, limit: int) -> list[dict]:
    """{error_type, count, states} of failed attempts, most frequent first."""
    where, params = scope_where(scope, "started_at")
    return store.query(
        f"""SELECT coalesce(error_type, 'Error') AS error_type, count(*) AS count,
               list(DISTINCT from_state ORDER BY from_state) AS states
            FROM state_transitions WHERE {where} AND status = 'failed' AND from_state <> 'start'
            GROUP BY 1 ORDER BY count DESC, error_type LIMIT ?""",
        params + [int(limit)],
    )


def recovery_incident_totals(store, scope) -> dict:
    """incidents, automatic, auto_recovered, by_policy, recovered, actions (an incident: one failing state in
    one run). *automatic*: auto-recovery chose a strategy (chosen_by rules, history or ai) and no person did;
    *by_policy*: only the workflow file's own retry/on_error policy acted (also what runs with
    auto-recovery off record), which is not auto-recovery."""
    where, params = _linked_scope(scope)
    return store.query(
        f"""WITH incidents AS (
                SELECT execution_id, error_state, coalesce(json_extract_string(error_context, '$.token'), '') AS token,
                       bool_or(coalesce(success, FALSE)) AS recovered,
                       bool_or(chosen_by = 'human') AS human,
                       bool_or(chosen_by IN ('rules', 'history', 'ai')) AS by_auto, count(*) AS actions
                FROM recovery_actions WHERE {where} GROUP BY 1, 2, 3)
            SELECT count(*) AS incidents,
                   count(*) FILTER (WHERE by_auto AND NOT human) AS automatic,
                   count(*) FILTER (WHERE by_auto AND NOT human AND recovered) AS auto_recovered,
                   count(*) FILTER (WHERE NOT by_auto AND NOT human) AS by_policy,
                   count(*) FILTER (WHERE recovered) AS recovered,
                   coalesce(sum(actions), 0) AS actions
            FROM incidents""",
        params,
    )[0]


def recovery_by_strategy(store, scope):
    """DataFrame per strategy: actions, succeeded, success_rate, ai_suggested, avg_ms."""
    where, params = _linked_scope(scope)
    return store.query_df(
        f"""SELECT recovery_strategy AS strategy, count(*) AS actions,
               count(*) FILTER (WHERE success) AS succeeded,
               100.0 * count(*) FILTER (WHERE success) / count(*) AS success_rate,
               count(*) FILTER (WHERE ai_suggested) AS ai_suggested,
               avg(recovery_duration_ms) AS avg_ms
            FROM recovery_actions WHERE {where} GROUP BY 1 ORDER BY actions DESC, strategy""",
        params,
    )


def ai_decisions_by_decider(store, scope):
    """DataFrame per decider: decisions, avg_confidence, true_results."""
    where, params = _linked_scope(scope)
    return store.query_df(
        f"""SELECT coalesce(decided_by, 'unknown') AS decided_by, count(*) AS decisions,
               avg(confidence) AS avg_confidence,
               count(*) FILTER (WHERE result) AS true_results
            FROM ai_decisions WHERE {where} GROUP BY 1 ORDER BY decisions DESC, decided_by""",
        params,
    )


def ai_confidence_histogram(store, scope):
    """DataFrame: confidence_from (0, 10, … 90), decisions."""
    where, params = _linked_scope(scope)
    return store.query_df(
        f"""SELECT least(floor(confidence / 10) * 10, 90)::INTEGER AS confidence_from, count(*) AS decisions
            FROM ai_decisions WHERE {where} AND confidence IS NOT NULL GROUP BY 1 ORDER BY 1""",
        params,
    )


def ai_decisions_per_bucket(store, scope, granularity: str):
    """DataFrame per time bucket and decider: decisions, avg_confidence."""
    where, params = _linked_scope(scope)
    return store.query_df(
        f"""SELECT {_bucket(granularity, "timestamp")} AS bucket, coalesce(decided_by, 'unknown') AS decided_by,
               count(*) AS decisions, avg(confidence) AS avg_confidence
            FROM ai_decisions WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2""",
        params,
    )


def ai_decision_count(store, scope) -> dict:
    """{n, c}: the number of AI decisions in scope and their average confidence."""
    where, params = _linked_scope(scope)
    return store.query(f"SELECT count(*) AS n, avg(confidence) AS c FROM ai_decisions WHERE {where}", params)[0]


def llm_calls_per_bucket(store, scope, granularity: str):
    """DataFrame per time bucket: calls, cache_hits, cache_hit_rate, failures, tokens, cost_usd, avg_latency_ms."""
    where, params = _linked_scope(scope)
    return store.query_df(
        f"""SELECT {_bucket(granularity, "timestamp")} AS bucket, count(*) AS calls,
               count(*) FILTER (WHERE cache_hit) AS cache_hits,
               100.0 * count(*) FILTER (WHERE cache_hit) / count(*) AS cache_hit_rate,
               count(*) FILTER (WHERE NOT coalesce(success, TRUE)) AS failures,
               coalesce(sum(total_tokens), 0) AS tokens, coalesce(sum(cost_usd), 0) AS cost_usd,
               avg(latency_ms) FILTER (WHERE NOT coalesce(cache_hit, FALSE)) AS avg_latency_ms
            FROM llm_calls WHERE {where} GROUP BY 1 ORDER BY 1""",
        params,
    )


def llm_call_totals(store, scope) -> dict:
    """{calls, hits, cost, tokens} of the LLM calls in scope."""
    where, params = _linked_scope(scope)
    return store.query(
        f"""SELECT count(*) AS calls, count(*) FILTER (WHERE cache_hit) AS hits,
               coalesce(sum(cost_usd), 0) AS cost, coalesce(sum(total_tokens), 0) AS tokens
            FROM llm_calls WHERE {where}""",
        params,
    )[0]


def llm_calls_by_operation(store, scope):
    """DataFrame per operation and model: calls, cache_hits, cost_usd, prompt_tokens, completion_tokens."""
    where, params = _linked_scope(scope)
    return store.query_df(
        f"""SELECT coalesce(operation, 'unknown') AS operation, coalesce(model, '') AS model, count(*) AS calls,
               count(*) FILTER (WHERE cache_hit) AS cache_hits, coalesce(sum(cost_usd), 0) AS cost_usd,
               coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
               coalesce(sum(completion_tokens), 0) AS completion_tokens
            FROM llm_calls WHERE {where} GROUP BY 1, 2 ORDER BY cost_usd DESC, calls DESC""",
        params,
    )


def recent_runs(store, scope, limit: int):
    """DataFrame: execution_id, workflow_name, version, status, start_time, duration_ms; newest first."""
    where, params = _run_scope(scope)
    return store.query_df(
        f"SELECT execution_id, workflow_name, version, status, start_time, duration_ms FROM workflow_executions "
        f"WHERE {where} ORDER BY start_time DESC LIMIT ?",
        params + [int(limit)],
    )


def state_attempt_bars(store, execution_id: str):
    """DataFrame, one row per state attempt of a run (completed, failed, skipped, fallback) in start order:
    state, token, attempt, status, start, finish, duration_ms, executed_on, error_type, error_message, visit."""
    return store.query_df(
        f"""SELECT from_state AS state, token, attempt, status, started_at AS start, ended_at AS finish,
               duration_ms, executed_on, error_type, error_message, visit
            FROM state_transitions WHERE execution_id = ? AND from_state <> 'start'
              AND status IN ({", ".join(repr(s) for s in _GANTT_STATUSES)})
            ORDER BY started_at, timestamp""",
        [execution_id],
    )


def deadline_miss_rows(store, scope, limit: int):
    """DataFrame of the deadline (SLA) misses the notifier audited, newest first: missed_at, workflow,
    version, execution_id, state ('(whole run)' for a run deadline), deadline_s, elapsed_s, status."""
    where, params = scope_where(scope, "a.timestamp", wf="e.workflow_id", version="e.version")
    return store.query_df(
        f"""SELECT a.timestamp AS missed_at, e.workflow_name AS workflow, e.version, a.execution_id,
               coalesce(a.state, '(whole run)') AS state,
               TRY_CAST(json_extract_string(a.metadata, '$.deadline_s') AS DOUBLE) AS deadline_s,
               TRY_CAST(json_extract_string(a.metadata, '$.elapsed_s') AS DOUBLE) AS elapsed_s, e.status
            FROM audit_logs a JOIN workflow_executions e ON e.execution_id = a.execution_id
            WHERE {where} AND a.event_type = 'deadline_missed' ORDER BY a.timestamp DESC LIMIT ?""",
        params + [int(limit)],
    )
