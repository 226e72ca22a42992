"""Run analytics: every aggregate is one DuckDB SQL query over the store's views.

Used by the Analytics page, ``workbench analytics`` and the optimizer. Each function takes a
:class:`Scope` (which workflow, version and time range) and returns a pandas DataFrame or a dict.

Definitions (the tests check each against hand-computed values):

* **Runs** are rows of ``workflow_executions`` (newest row per execution) whose ``start_time`` lies in
  the range. *Finished* runs are completed, failed or cancelled ones.
* **success_rate** = completed / finished × 100; **failure_rate** = failed / finished × 100
  (runs still going are counted in ``running`` and in neither rate).
* **Durations** (avg, p50, p95, p99) are over finished runs that have a duration. Percentiles are
  ``quantile_cont``: linear interpolation between order statistics (numpy's default).
* **Per state**: one *attempt* is one ``state_transitions`` row with status ``completed`` or
  ``failed`` (``start`` and fan-in joins excluded). ``error_rate`` = failed attempts / attempts × 100;
  duration figures are over all attempts.
* **Auto-recovery rate**: a recovery *incident* is one failing state in one run (rows of
  ``recovery_actions`` grouped by execution, state and branch token). It is *automatic* when no person
  chose a strategy for it, and *recovered* when any of its actions succeeded.
  auto_recovery_rate = recovered automatic incidents / automatic incidents × 100.
* **LLM cache-hit rate** = calls answered from the cache / calls × 100.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from engine.errors import WorkbenchError
from engine.records import store_time, utc_now
from engine.schema import FINISHED_STATUSES

GRANULARITIES = ("hour", "day", "week", "month")
FINISHED = tuple(sorted(FINISHED_STATUSES))
_FINISHED_SQL = "(" + ", ".join(f"'{s}'" for s in FINISHED) + ")"  # the set as a SQL list, e.g. status IN (...)
ATTEMPT_STATUSES = ("completed", "failed")
GANTT_STATUSES = ("completed", "failed", "skipped", "fallback")
PERCENTILES = (0.5, 0.95, 0.99)


class AnalyticsError(WorkbenchError):
    """Bad analytics arguments (unknown granularity, unreadable time…)."""


def utcnow() -> datetime:
    """Now on the store's clock (naive UTC, comparable with the recorded times): ``store_time(utc_now())``."""
    return store_time(utc_now())


_REL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w|mo|y)\s*$", re.I)
_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "mo": 30 * 86400, "y": 365 * 86400}


def parse_time(value: Any, *, now: datetime | None = None) -> datetime | None:
    """A naive-UTC datetime from a datetime, an ISO date/time, or a relative span ("24h", "7d", "2w", "3mo")."""
    if value is None or value == "" or value == "all":
        return None
    if isinstance(value, datetime):
        return store_time(value)
    if hasattr(value, "year") and hasattr(value, "month") and hasattr(value, "day"):  # a date
        return datetime(value.year, value.month, value.day)
    text = str(value).strip()
    m = _REL.match(text)
    if m:
        return (now or utcnow()) - timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2).lower()])
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise AnalyticsError(
            f"cannot read the time {text!r}: use an ISO date such as 2026-11-01, or a span such as 24h, 7d, 2w, 3mo"
        ) from None
    return store_time(dt)


def check_granularity(granularity: str) -> str:
    g = (granularity or "day").lower()
    if g not in GRANULARITIES:
        raise AnalyticsError(f"granularity must be one of {', '.join(GRANULARITIES)}, not {granularity!r}")
    return g


def default_granularity(start: datetime | None, end: datetime | None = None) -> str:
    """hour up to 2 days, day up to ~2 months, week up to a year, else month."""
    if start is None:
        return "week"
    span = ((end or utcnow()) - start).total_seconds()
    if span <= 2 * 86400:
        return "hour"
    if span <= 62 * 86400:
        return "day"
    if span <= 366 * 86400:
        return "week"
    return "month"


@dataclass(frozen=True)
class Scope:
    """Which records: ``workflow_ids`` (None = every workflow), ``version``, and [start, end)."""

    workflow_ids: tuple[str, ...] | None = None
    version: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    label: str = "all workflows"

    def clause(
        self,
        ts: str | None,
        *,
        wf: str | None = "workflow_id",
        version: str | None = "version",
        execution: str | None = None,
    ) -> tuple[str, list]:
        """``WHERE``-ready SQL (starting with ``TRUE``) and its parameters.

        For tables without a version column pass ``version=None, execution="execution_id"``: the version
        is then matched through the run the row belongs to.
        """
        parts, params = ["TRUE"], []
        if self.workflow_ids is not None and wf:
            if not self.workflow_ids:
                parts.append("FALSE")
            else:
                parts.append(f"{wf} IN ({', '.join('?' for _ in self.workflow_ids)})")
                params += list(self.workflow_ids)
        if self.version is not None:
            if version:
                parts.append(f"{version} = ?")
                params.append(int(self.version))
            elif execution:
                parts.append(f"{execution} IN (SELECT execution_id FROM workflow_executions_history WHERE version = ?)")
                params.append(int(self.version))
        if ts and self.start is not None:
            parts.append(f"{ts} >= ?")
            params.append(self.start)
        if ts and self.end is not None:
            parts.append(f"{ts} < ?")
            params.append(self.end)
        return " AND ".join(parts), params


def resolve_scope(
    store,
    workflow: str | None = None,
    *,
    since: Any = None,
    until: Any = None,
    version: int | None = None,
    now: datetime | None = None,
) -> Scope:
    """A :class:`Scope` for a workflow name or id (``None`` = all workflows) and a time range."""
    start, end = parse_time(since, now=now), parse_time(until, now=now)
    if start and end and end <= start:
        raise AnalyticsError(f"the range is empty: {start:%Y-%m-%d %H:%M} is not before {end:%Y-%m-%d %H:%M}")
    if workflow in (None, "", "all", "All workflows"):
        return Scope(None, version, start, end, "all workflows")
    return Scope(workflow_ids(store, workflow), version, start, end, str(workflow))


def workflow_ids(store, name_or_id: str) -> tuple[str, ...]:
    """Every workflow id recorded under this name or id (runs and the library)."""
    rows = store.query(
        "SELECT DISTINCT workflow_id FROM workflow_executions_history "
        "WHERE (workflow_name = ? OR workflow_id = ?) AND workflow_id IS NOT NULL "
        "UNION SELECT DISTINCT workflow_id FROM workflows_history WHERE (name = ? OR workflow_id = ?) "
        "AND workflow_id IS NOT NULL",
        [name_or_id, name_or_id, name_or_id, name_or_id],
    )
    return tuple(sorted(r["workflow_id"] for r in rows))


def list_workflows(store) -> pd.DataFrame:
    """Workflows that have runs: workflow_id, name (latest), runs, last_run, versions."""
    return store.query_df(
        "SELECT workflow_id, arg_max(workflow_name, start_time) AS name, count(*) AS runs, "
        "max(start_time) AS last_run, list(DISTINCT version ORDER BY version) AS versions "
        "FROM workflow_executions WHERE workflow_id IS NOT NULL GROUP BY workflow_id ORDER BY last_run DESC"
    )


def _num(v, digits: int | None = 1):
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    if f != f:  # NaN
        return None
    return round(f, digits) if digits is not None else f


# ---------------------------------------------------------------------- run statistics


def execution_stats(store, scope: Scope) -> dict:
    """Totals, rates and duration percentiles of the runs in scope (see the module docstring)."""
    where, params = scope.clause("start_time")
    row = store.query(
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
    finished = row["completed"] + row["failed"] + row["cancelled"]
    q = row["q"] or [None, None, None]
    return {
        "total_executions": int(row["total"]),
        "successful_executions": int(row["completed"]),
        "failed_executions": int(row["failed"]),
        "cancelled_executions": int(row["cancelled"]),
        "running_executions": int(row["running"]),
        "finished_executions": int(finished),
        "success_rate": _num(100.0 * row["completed"] / finished, 2) if finished else None,
        "failure_rate": _num(100.0 * row["failed"] / finished, 2) if finished else None,
        "avg_duration_ms": _num(row["avg_ms"]),
        "p50_duration_ms": _num(q[0]),
        "p95_duration_ms": _num(q[1]),
        "p99_duration_ms": _num(q[2]),
        "error_count": int(row["errors"] or 0),
        "retry_count": int(row["retries"] or 0),
    }


def _bucket(granularity: str, col: str) -> str:
    return f"date_trunc('{check_granularity(granularity)}', {col})"


def executions_over_time(store, scope: Scope, granularity: str = "day") -> pd.DataFrame:
    """Per time bucket: executions, completed, failed, cancelled, success_rate, avg/p50/p95/p99 ms."""
    where, params = scope.clause("start_time")
    df = store.query_df(
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
    return df


def workflow_summary(store, scope: Scope) -> pd.DataFrame:
    """One row per workflow: runs, success rate, p50/p95 duration, last run (the "overall" table)."""
    where, params = scope.clause("start_time")
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


def run_durations(store, scope: Scope, *, status: str | tuple[str, ...] = FINISHED) -> pd.DataFrame:
    """execution_id, version, status, start_time, duration_ms of finished runs (for distributions)."""
    statuses = (status,) if isinstance(status, str) else tuple(status)
    where, params = scope.clause("start_time")
    marks = ", ".join("?" for _ in statuses)
    return store.query_df(
        f"SELECT execution_id, workflow_id, version, status, start_time, duration_ms FROM workflow_executions "
        f"WHERE {where} AND status IN ({marks}) AND duration_ms IS NOT NULL ORDER BY start_time",
        params + list(statuses),
    )


# ---------------------------------------------------------------------- states

_STATE_ROWS = "from_state <> 'start' AND from_state NOT LIKE '[%' AND status IN ('completed', 'failed')"


def state_performance(store, scope: Scope) -> pd.DataFrame:
    """Per state: attempts, completed, failed, error_rate (%), avg/min/q1/p50/q3/p95/p99/max ms.

    Sorted by total time spent (attempts × avg), the states that matter most first.
    """
    where, params = scope.clause("started_at")
    df = store.query_df(
        f"""SELECT from_state AS state, count(*) AS attempts,
               count(*) FILTER (WHERE status = 'completed') AS completed,
               count(*) FILTER (WHERE status = 'failed') AS failed,
               100.0 * count(*) FILTER (WHERE status = 'failed') / count(*) AS error_rate,
               avg(duration_ms) AS avg_ms, min(duration_ms) AS min_ms,
               quantile_cont(duration_ms, [0.25, 0.5, 0.75, 0.95, 0.99]) AS q,
               max(duration_ms) AS max_ms, sum(duration_ms) AS total_ms,
               count(DISTINCT execution_id) AS executions,
               arg_max(executed_on, started_at) AS executed_on
            FROM state_transitions WHERE {where} AND {_STATE_ROWS}
            GROUP BY from_state ORDER BY total_ms DESC, state""",
        params,
    )
    if df.empty:
        return pd.DataFrame(
            columns=[
                "state",
                "attempts",
                "completed",
                "failed",
                "error_rate",
                "avg_ms",
                "min_ms",
                "q1_ms",
                "p50_ms",
                "q3_ms",
                "p95_ms",
                "p99_ms",
                "max_ms",
                "total_ms",
                "executions",
                "executed_on",
            ]
        )
    qs = pd.DataFrame(df.pop("q").tolist(), columns=["q1_ms", "p50_ms", "q3_ms", "p95_ms", "p99_ms"], index=df.index)
    df = pd.concat([df, qs], axis=1)
    cols = [
        "state",
        "attempts",
        "completed",
        "failed",
        "error_rate",
        "avg_ms",
        "min_ms",
        "q1_ms",
        "p50_ms",
        "q3_ms",
        "p95_ms",
        "p99_ms",
        "max_ms",
        "total_ms",
        "executions",
        "executed_on",
    ]
    return df[cols]


def state_outcomes(store, scope: Scope) -> pd.DataFrame:
    """Per state and outcome (completed, failed, skipped, fallback): the number of rows."""
    where, params = scope.clause("started_at")
    return store.query_df(
        f"""SELECT from_state AS state, status, count(*) AS n FROM state_transitions
            WHERE {where} AND from_state <> 'start' AND from_state NOT LIKE '[%'
              AND status IN ('completed', 'failed', 'skipped', 'fallback')
            GROUP BY 1, 2 ORDER BY 1, 2""",
        params,
    )


def common_errors(store, scope: Scope, limit: int = 10) -> pd.DataFrame:
    """The most frequent (state, error_type) pairs of failed attempts, with the latest message."""
    where, params = scope.clause("started_at")
    return store.query_df(
        f"""SELECT from_state AS state, coalesce(error_type, 'Error') AS error_type, count(*) AS count,
               count(DISTINCT execution_id) AS executions, max(started_at) AS last_seen,
               arg_max(error_message, started_at) AS example
            FROM state_transitions WHERE {where} AND status = 'failed' AND from_state <> 'start'
            GROUP BY 1, 2 ORDER BY count DESC, state, error_type LIMIT ?""",
        params + [int(limit)],
    )


def errors_by_type(store, scope: Scope, limit: int = 10) -> list[dict]:
    """Seed §7.1 shape: ``[{error_type, count, states: [...]}]``, most frequent first."""
    where, params = scope.clause("started_at")
    rows = store.query(
        f"""SELECT coalesce(error_type, 'Error') AS error_type, count(*) AS count,
               list(DISTINCT from_state ORDER BY from_state) AS states
            FROM state_transitions WHERE {where} AND status = 'failed' AND from_state <> 'start'
            GROUP BY 1 ORDER BY count DESC, error_type LIMIT ?""",
        params + [int(limit)],
    )
    return [{"error_type": r["error_type"], "count": int(r["count"]), "states": list(r["states"])} for r in rows]


# ---------------------------------------------------------------------- recovery, AI, LLM


def recovery_stats(store, scope: Scope) -> dict:
    """Incidents, automatic incidents recovered, the auto-recovery rate and per-strategy results."""
    where, params = scope.clause("timestamp", version=None, execution="execution_id")
    inc = store.query(
        f"""WITH incidents AS (
                SELECT execution_id, error_state, coalesce(json_extract_string(error_context, '$.token'), '') AS token,
                       bool_or(coalesce(success, FALSE)) AS recovered,
                       bool_or(chosen_by = 'human') AS human, count(*) AS actions
                FROM recovery_actions WHERE {where} GROUP BY 1, 2, 3)
            SELECT count(*) AS incidents,
                   count(*) FILTER (WHERE NOT human) AS automatic,
                   count(*) FILTER (WHERE NOT human AND recovered) AS auto_recovered,
                   count(*) FILTER (WHERE recovered) AS recovered,
                   coalesce(sum(actions), 0) AS actions
            FROM incidents""",
        params,
    )[0]
    by = store.query_df(
        f"""SELECT recovery_strategy AS strategy, count(*) AS actions,
               count(*) FILTER (WHERE success) AS succeeded,
               100.0 * count(*) FILTER (WHERE success) / count(*) AS success_rate,
               count(*) FILTER (WHERE ai_suggested) AS ai_suggested,
               avg(recovery_duration_ms) AS avg_ms
            FROM recovery_actions WHERE {where} GROUP BY 1 ORDER BY actions DESC, strategy""",
        params,
    )
    auto = int(inc["automatic"])
    return {
        "incidents": int(inc["incidents"]),
        "automatic_incidents": auto,
        "auto_recovered": int(inc["auto_recovered"]),
        "recovered": int(inc["recovered"]),
        "actions": int(inc["actions"]),
        "auto_recovery_rate": _num(100.0 * inc["auto_recovered"] / auto, 2) if auto else None,
        "by_strategy": by,
    }


def ai_decision_stats(store, scope: Scope, granularity: str = "day") -> dict:
    """AI decisions: totals by who decided, average confidence, a confidence histogram, and over time."""
    where, params = scope.clause("timestamp", version=None, execution="execution_id")
    by = store.query_df(
        f"""SELECT coalesce(decided_by, 'unknown') AS decided_by, count(*) AS decisions,
               avg(confidence) AS avg_confidence,
               count(*) FILTER (WHERE result) AS true_results
            FROM ai_decisions WHERE {where} GROUP BY 1 ORDER BY decisions DESC, decided_by""",
        params,
    )
    hist = store.query_df(
        f"""SELECT least(floor(confidence / 10) * 10, 90)::INTEGER AS confidence_from, count(*) AS decisions
            FROM ai_decisions WHERE {where} AND confidence IS NOT NULL GROUP BY 1 ORDER BY 1""",
        params,
    )
    over = store.query_df(
        f"""SELECT {_bucket(granularity, "timestamp")} AS bucket, coalesce(decided_by, 'unknown') AS decided_by,
               count(*) AS decisions, avg(confidence) AS avg_confidence
            FROM ai_decisions WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2""",
        params,
    )
    tot = store.query(f"SELECT count(*) AS n, avg(confidence) AS c FROM ai_decisions WHERE {where}", params)[0]
    return {
        "decisions": int(tot["n"]),
        "avg_confidence": _num(tot["c"]),
        "by_decider": by,
        "confidence_histogram": hist,
        "over_time": over,
    }


def llm_usage(store, scope: Scope, granularity: str = "day") -> pd.DataFrame:
    """Per time bucket: calls, cache hits, cache_hit_rate (%), failures, tokens, cost_usd, avg latency."""
    where, params = scope.clause("timestamp", version=None, execution="execution_id")
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


def llm_totals(store, scope: Scope) -> dict:
    where, params = scope.clause("timestamp", version=None, execution="execution_id")
    r = store.query(
        f"""SELECT count(*) AS calls, count(*) FILTER (WHERE cache_hit) AS hits,
               coalesce(sum(cost_usd), 0) AS cost, coalesce(sum(total_tokens), 0) AS tokens
            FROM llm_calls WHERE {where}""",
        params,
    )[0]
    by_op = store.query_df(
        f"""SELECT coalesce(operation, 'unknown') AS operation, coalesce(model, '') AS model, count(*) AS calls,
               count(*) FILTER (WHERE cache_hit) AS cache_hits, coalesce(sum(cost_usd), 0) AS cost_usd,
               coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
               coalesce(sum(completion_tokens), 0) AS completion_tokens
            FROM llm_calls WHERE {where} GROUP BY 1, 2 ORDER BY cost_usd DESC, calls DESC""",
        params,
    )
    calls = int(r["calls"])
    return {
        "calls": calls,
        "cache_hits": int(r["hits"]),
        "cache_hit_rate": _num(100.0 * r["hits"] / calls, 2) if calls else None,
        "cost_usd": _num(r["cost"], 6),
        "tokens": int(r["tokens"]),
        "by_operation": by_op,
    }


# ---------------------------------------------------------------------- one run


def recent_executions(store, scope: Scope, limit: int = 50) -> pd.DataFrame:
    where, params = scope.clause("start_time")
    return store.query_df(
        f"SELECT execution_id, workflow_name, version, status, start_time, duration_ms FROM workflow_executions "
        f"WHERE {where} ORDER BY start_time DESC LIMIT ?",
        params + [int(limit)],
    )


def gantt(store, execution_id: str) -> pd.DataFrame:
    """One bar per state attempt of a run: state, token, attempt, status, start, end, duration_ms, lane.

    ``lane`` is "state (branch token)" so parallel branches get their own rows in the chart.
    """
    df = store.query_df(
        f"""SELECT from_state AS state, token, attempt, status, started_at AS start, ended_at AS finish,
               duration_ms, executed_on, error_type, error_message, visit
            FROM state_transitions WHERE execution_id = ? AND from_state <> 'start'
              AND status IN ({", ".join(repr(s) for s in GANTT_STATUSES)})
            ORDER BY started_at, timestamp""",
        [execution_id],
    )
    if not df.empty:
        df["lane"] = [s if t == "0" else f"{s} ({t})" for s, t in zip(df["state"], df["token"])]
        # a bar needs a visible width; instant states (noop, skipped) get 1 ms
        tiny = df["finish"] <= df["start"]
        df.loc[tiny, "finish"] = df.loc[tiny, "start"] + pd.Timedelta(milliseconds=1)
    return df


# ---------------------------------------------------------------------- the whole report


def report(
    store,
    workflow: str | None = None,
    *,
    since: Any = "30d",
    until: Any = None,
    version: int | None = None,
    granularity: str | None = None,
    now: datetime | None = None,
) -> dict:
    """Everything the Analytics page shows, in the seed §7.1 analytics response shape (JSON-ready)."""
    scope = resolve_scope(store, workflow, since=since, until=until, version=version, now=now)
    gran = check_granularity(granularity or default_granularity(scope.start, scope.end))
    stats = execution_stats(store, scope)
    perf = state_performance(store, scope)
    rec = recovery_stats(store, scope)
    ai = ai_decision_stats(store, scope, gran)
    llm = llm_totals(store, scope)
    out = {
        "workflow": scope.label,
        "workflow_ids": list(scope.workflow_ids) if scope.workflow_ids is not None else None,
        "version": scope.version,
        "time_range": {
            "start": scope.start.isoformat() if scope.start else None,
            "end": (scope.end or now or utcnow()).isoformat(),
        },
        "granularity": gran,
        "statistics": stats,
        "error_analysis": {
            "most_common_errors": errors_by_type(store, scope),
            "by_state": _records(common_errors(store, scope)),
            "auto_recovery_rate": rec["auto_recovery_rate"],
            "recovery": {k: v for k, v in rec.items() if k != "by_strategy"},
            "recovery_by_strategy": _records(rec["by_strategy"]),
        },
        "state_performance": [
            {
                "state": r["state"],
                "attempts": int(r["attempts"]),
                "avg_duration_ms": _num(r["avg_ms"]),
                "p50_duration_ms": _num(r["p50_ms"]),
                "p95_duration_ms": _num(r["p95_ms"]),
                "p99_duration_ms": _num(r["p99_ms"]),
                "error_rate": _num(r["error_rate"], 2),
            }
            for r in perf.to_dict("records")
        ],
        "timeline": _records(executions_over_time(store, scope, gran)),
        "ai_decisions": {
            "decisions": ai["decisions"],
            "avg_confidence": ai["avg_confidence"],
            "by_decider": _records(ai["by_decider"]),
        },
        "llm": {k: v for k, v in llm.items() if k != "by_operation"}
        | {"by_operation": _records(llm["by_operation"]), "over_time": _records(llm_usage(store, scope, gran))},
        "ai_insights": insights(stats, perf, rec),
    }
    if scope.workflow_ids is None:
        out["workflows"] = _records(workflow_summary(store, scope))
    return out


def insights(stats: dict, perf: pd.DataFrame, rec: dict) -> list[str]:
    """Plain statements derived from the numbers (no model involved)."""
    out: list[str] = []
    if not stats["total_executions"]:
        return ["No runs in this range yet."]
    if stats["success_rate"] is not None:
        out.append(
            f"{stats['successful_executions']} of {stats['finished_executions']} finished runs completed "
            f"({stats['success_rate']:.1f}%)."
        )
    if not perf.empty:
        slow = perf.sort_values("total_ms", ascending=False).iloc[0]
        out.append(
            f"'{slow['state']}' takes the most time: {slow['total_ms'] / 1000:.1f} s in total over "
            f"{int(slow['attempts'])} attempts (p95 {slow['p95_ms']:.0f} ms)."
        )
        bad = perf[perf["failed"] > 0].sort_values(["error_rate", "failed"], ascending=False)
        if not bad.empty:
            b = bad.iloc[0]
            out.append(
                f"'{b['state']}' has the highest error rate: {int(b['failed'])} of {int(b['attempts'])} "
                f"attempts failed ({b['error_rate']:.1f}%)."
            )
    if rec["auto_recovery_rate"] is not None:
        out.append(
            f"Automatic recovery fixed {rec['auto_recovered']} of {rec['automatic_incidents']} failing states "
            f"({rec['auto_recovery_rate']:.1f}%)."
        )
    return out


def _records(df: pd.DataFrame) -> list[dict]:
    """JSON-ready rows (timestamps as ISO text, NaN as None)."""
    if df is None or df.empty:
        return []
    out = []
    for rec in df.to_dict("records"):
        row = {}
        for k, v in rec.items():
            if isinstance(v, (pd.Timestamp, datetime)):
                v = None if pd.isna(v) else v.isoformat()
            elif isinstance(v, float) and v != v:
                v = None
            elif hasattr(v, "item") and not isinstance(v, (list, dict, str)):
                try:
                    v = v.item()
                except (ValueError, AttributeError):
                    v = v.tolist() if hasattr(v, "tolist") else v
            elif hasattr(v, "tolist"):
                v = v.tolist()
            row[k] = v
        out.append(row)
    return out


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=str)


def with_range(scope: Scope, start: datetime | None, end: datetime | None) -> Scope:
    return replace(scope, start=start, end=end)
