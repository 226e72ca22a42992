"""Run analytics: every aggregate is one DuckDB SQL query over the store's views, read through
:mod:`engine.records` (which owns the queries; this module turns their rows into figures).

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
* **Waiting for people (or timers)**: attempts of states whose action is ``approval`` measure how long a
  person took to answer, and those of ``wait`` steps how long their timer ran: not work.
  ``state_performance`` flags both (``waits_for_people``; ``waits_for_timer`` for wait steps) so charts
  and insights keep them apart from the working states (a 20 s approval does not dwarf 50 ms steps).
* **Time buckets**: with ``granularity`` unset they follow the span of the data in scope (first to last
  run), not the chosen range: an hour of runs is shown by minute (``data_granularity``).
* **Auto-recovery rate**: a recovery *incident* is one failing state in one run (rows of
  ``recovery_actions`` grouped by execution, state and branch token). It is *automatic* when
  auto-recovery chose a strategy for it (``chosen_by`` rules, history or ai) and no person did, and
  *recovered* when any of its actions succeeded. Incidents only the workflow file's own retry/on_error
  policy handled (all a run with auto-recovery off records) are ``policy_incidents``, not automatic.
  auto_recovery_rate = recovered automatic incidents / automatic incidents × 100.
* **LLM cache-hit rate** = calls answered from the cache / calls × 100.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from engine import records
from engine.errors import WorkbenchError
from engine.records import store_time, utc_now
from engine.schema import FINISHED_STATUSES

GRANULARITIES = records.ANALYTICS_GRANULARITIES
FINISHED = tuple(sorted(FINISHED_STATUSES))
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
    """minute up to 3 hours, hour up to 2 days, day up to ~2 months, week up to a year, else month."""
    if start is None:
        return "week"
    span = ((end or utcnow()) - start).total_seconds()
    if span <= 3 * 3600:
        return "minute"
    if span <= 2 * 86400:
        return "hour"
    if span <= 62 * 86400:
        return "day"
    if span <= 366 * 86400:
        return "week"
    return "month"


def data_granularity(store, scope: Scope) -> str:
    """The bucket size for the runs actually in scope: from the first to the last run's start time
    (so an hour of runs inside a 30-day range is drawn by minute, not as one dot per day)."""
    row = records.run_time_span(store, scope)
    if row["first"] is None:
        return default_granularity(scope.start, scope.end)
    return default_granularity(row["first"], row["last"])


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
        return records.scope_where(self, ts, wf=wf, version=version, execution=execution)


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
    return records.workflow_ids_named(store, name_or_id)


def list_workflows(store) -> pd.DataFrame:
    """Workflows that have runs: workflow_id, name (latest), runs, last_run, versions."""
    return records.workflows_with_runs(store)


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
    row = records.run_totals(store, scope)
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


def executions_over_time(store, scope: Scope, granularity: str = "day") -> pd.DataFrame:
    """Per time bucket: executions, completed, failed, cancelled, success_rate, avg/p50/p95/p99 ms."""
    return records.runs_per_bucket(store, scope, check_granularity(granularity))


def workflow_summary(store, scope: Scope) -> pd.DataFrame:
    """One row per workflow: runs, success rate, p50/p95 duration, last run (the "overall" table)."""
    return records.runs_per_workflow(store, scope)


def run_durations(store, scope: Scope, *, status: str | tuple[str, ...] = FINISHED) -> pd.DataFrame:
    """execution_id, version, status, start_time, duration_ms of finished runs (for distributions)."""
    statuses = (status,) if isinstance(status, str) else tuple(status)
    return records.runs_with_duration(store, scope, statuses)


def run_time_split(store, scope: Scope) -> pd.DataFrame:
    """Per finished run in scope: execution_id, workflow_id, version, status, start_time, duration_ms,
    waiting_ms (time in which the run waited for at least one person: the union of its approval attempts,
    so parallel approvals count once) and working_ms = duration_ms − waiting_ms."""
    return records.run_time_rows(store, scope)


def run_time_over_time(store, scope: Scope, granularity: str = "day") -> pd.DataFrame:
    """Per time bucket (as :func:`executions_over_time`): runs, working_p50_ms, working_avg_ms and
    waiting_avg_ms (waiting averaged over all finished runs of the bucket)."""
    return records.run_time_per_bucket(store, scope, check_granularity(granularity))


def waiting_for(run_time: dict) -> str:
    """What the runs of :func:`run_time_stats` waited for, in words: "people", or "people or timers" once
    a run in scope has a wait step (the two are counted together, as one union of intervals)."""
    return "people or timers" if run_time.get("runs_on_timer") else "people"


def run_time_stats(store, scope: Scope) -> dict:
    """Run-level working time and waiting time (for people, or a wait step's timer; see
    :func:`run_time_split`): avg/p50/p95 of working_ms over the finished runs, avg/p50/p95 of waiting_ms
    over the runs that waited, waiting_share (% of all finished-run time spent waiting) and
    runs_on_timer (finished runs with a wait step: their waiting is partly or wholly timers)."""
    r = records.run_time_totals(store, scope)
    wq, aq = r["working_q"] or [None, None], r["waiting_q"] or [None, None]
    total = float(r["duration_total_ms"] or 0)
    return {
        "runs": int(r["runs"]),
        "runs_waiting_for_people": int(r["runs_waiting"]),
        "runs_on_timer": int(r["runs_on_timer"] or 0),
        "working_avg_ms": _num(r["working_avg_ms"]),
        "working_p50_ms": _num(wq[0]),
        "working_p95_ms": _num(wq[1]),
        "waiting_avg_ms": _num(r["waiting_avg_ms"]),
        "waiting_p50_ms": _num(aq[0]),
        "waiting_p95_ms": _num(aq[1]),
        "waiting_share": _num(100.0 * float(r["waiting_total_ms"]) / total, 1) if total else None,
    }


# ---------------------------------------------------------------------- states


STATE_PERFORMANCE_COLUMNS = [
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
    "waits_for_people",
    "waits_for_timer",
]  # state_performance's columns, in order


def state_performance(store, scope: Scope) -> pd.DataFrame:
    """Per state: attempts, completed, failed, error_rate (%), avg/min/q1/p50/q3/p95/p99/max ms.

    Sorted by total time spent (attempts × avg), the states that matter most first.
    """
    df = records.state_attempt_figures(store, scope)
    if df.empty:
        return pd.DataFrame(columns=STATE_PERFORMANCE_COLUMNS)
    qs = pd.DataFrame(df.pop("q").tolist(), columns=["q1_ms", "p50_ms", "q3_ms", "p95_ms", "p99_ms"], index=df.index)
    df = pd.concat([df, qs], axis=1)
    df["waits_for_people"] = df["waits_for_people"].astype(bool)
    df["waits_for_timer"] = df["waits_for_timer"].astype(bool)
    return df[STATE_PERFORMANCE_COLUMNS]


def state_outcomes(store, scope: Scope) -> pd.DataFrame:
    """Per state and outcome (completed, failed, skipped, fallback): the number of rows."""
    return records.state_outcome_counts(store, scope)


def common_errors(store, scope: Scope, limit: int = 10) -> pd.DataFrame:
    """The most frequent (state, error_type) pairs of failed attempts, with the latest message."""
    return records.state_error_pairs(store, scope, limit)


def errors_by_type(store, scope: Scope, limit: int = 10) -> list[dict]:
    """Seed §7.1 shape: ``[{error_type, count, states: [...]}]``, most frequent first."""
    rows = records.error_type_counts(store, scope, limit)
    return [{"error_type": r["error_type"], "count": int(r["count"]), "states": list(r["states"])} for r in rows]


# ---------------------------------------------------------------------- recovery, AI, LLM


def recovery_stats(store, scope: Scope) -> dict:
    """Incidents, automatic incidents recovered, the auto-recovery rate and per-strategy results."""
    inc = records.recovery_incident_totals(store, scope)
    by = records.recovery_by_strategy(store, scope)
    auto = int(inc["automatic"])
    return {
        "incidents": int(inc["incidents"]),
        "automatic_incidents": auto,
        "auto_recovered": int(inc["auto_recovered"]),
        "policy_incidents": int(inc["by_policy"]),
        "recovered": int(inc["recovered"]),
        "actions": int(inc["actions"]),
        "auto_recovery_rate": _num(100.0 * inc["auto_recovered"] / auto, 2) if auto else None,
        "by_strategy": by,
    }


def ai_decision_stats(store, scope: Scope, granularity: str = "day") -> dict:
    """AI decisions: totals by who decided, average confidence, a confidence histogram, and over time."""
    gran = check_granularity(granularity)
    by = records.ai_decisions_by_decider(store, scope)
    hist = records.ai_confidence_histogram(store, scope)
    over = records.ai_decisions_per_bucket(store, scope, gran)
    tot = records.ai_decision_count(store, scope)
    return {
        "decisions": int(tot["n"]),
        "avg_confidence": _num(tot["c"]),
        "by_decider": by,
        "confidence_histogram": hist,
        "over_time": over,
    }


def llm_usage(store, scope: Scope, granularity: str = "day") -> pd.DataFrame:
    """Per time bucket: calls, cache hits, cache_hit_rate (%), failures, tokens, cost_usd, avg latency."""
    return records.llm_calls_per_bucket(store, scope, check_granularity(granularity))


def llm_totals(store, scope: Scope) -> dict:
    r = records.llm_call_totals(store, scope)
    by_op = records.llm_calls_by_operation(store, scope)
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
    return records.recent_runs(store, scope, limit)


def gantt(store, execution_id: str) -> pd.DataFrame:
    """One bar per state attempt of a run: state, token, attempt, status, start, end, duration_ms, lane.

    ``lane`` is "state (branch token)" so parallel branches get their own rows in the chart.
    """
    df = records.state_attempt_bars(store, execution_id)
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
    within: Collection[str] | None = None,
) -> dict:
    """Everything the Analytics page shows, in the seed §7.1 analytics response shape (JSON-ready).

    ``within``: only these workflow ids count (what the caller may read, engine/access.py); None: all."""
    scope = resolve_scope(store, workflow, since=since, until=until, version=version, now=now)
    every_workflow = scope.workflow_ids is None
    if within is not None:
        allowed = set(within)
        ids = scope.workflow_ids if scope.workflow_ids is not None else tuple(sorted(allowed))
        scope = replace(scope, workflow_ids=tuple(i for i in ids if i in allowed))
    gran = check_granularity(granularity or data_granularity(store, scope))
    stats = execution_stats(store, scope)
    perf = state_performance(store, scope)
    rec = recovery_stats(store, scope)
    ai = ai_decision_stats(store, scope, gran)
    llm = llm_totals(store, scope)
    run_time = run_time_stats(store, scope)
    out = {
        "workflow": scope.label,
        "workflow_ids": list(scope.workflow_ids) if scope.workflow_ids is not None and not every_workflow else None,
        "version": scope.version,
        "time_range": {
            "start": scope.start.isoformat() if scope.start else None,
            "end": (scope.end or now or utcnow()).isoformat(),
        },
        "granularity": gran,
        "statistics": stats,
        "run_time": run_time,
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
                "waits_for_people": bool(r["waits_for_people"]),
                "waits_for_timer": bool(r["waits_for_timer"]),
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
        "ai_insights": insights(stats, perf, rec, run_time),
    }
    if every_workflow:
        out["workflows"] = _records(workflow_summary(store, scope))
    return out


def insights(stats: dict, perf: pd.DataFrame, rec: dict, run_time: dict | None = None) -> list[str]:
    """Plain statements derived from the numbers (no model involved); ``run_time``: :func:`run_time_stats`."""
    out: list[str] = []
    if not stats["total_executions"]:
        return ["No runs in this range yet."]
    if stats["success_rate"] is not None:
        out.append(
            f"{stats['successful_executions']} of {stats['finished_executions']} finished runs completed "
            f"({stats['success_rate']:.1f}%)."
        )
    if run_time and run_time["runs_waiting_for_people"]:
        out.append(
            f"Finished runs spent {run_time['waiting_share']:.0f}% of their time waiting for {waiting_for(run_time)}: working time "
            f"{run_time['working_p50_ms'] / 1000:.1f} s at the median, waiting {run_time['waiting_p50_ms'] / 1000:.1f} s "
            f"at the median in the {run_time['runs_waiting_for_people']} of {run_time['runs']} runs that waited."
        )
    work = perf[~perf["waits_for_people"].astype(bool)] if not perf.empty else perf
    people = perf[perf["waits_for_people"].astype(bool)] if not perf.empty else perf
    if not work.empty:
        slow = work.sort_values("total_ms", ascending=False).iloc[0]
        out.append(
            f"'{slow['state']}' takes the most working time: {slow['total_ms'] / 1000:.1f} s in total over "
            f"{int(slow['attempts'])} attempts (p95 {slow['p95_ms']:.0f} ms)."
        )
    if not people.empty:
        wait = people.sort_values("total_ms", ascending=False).iloc[0]
        what = (
            f"'{wait['state']}' is a wait step: it waited"
            if bool(wait["waits_for_timer"])
            else f"People answer '{wait['state']}' in"
        )
        out.append(
            f"{what} {wait['p50_ms'] / 1000:.1f} s at the median "
            f"(p95 {wait['p95_ms'] / 1000:.1f} s); this waiting is not counted as working time."
        )
    if not perf.empty:
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


def deadline_misses(store, scope: Scope, limit: int = 200) -> pd.DataFrame:
    """Deadline (SLA) misses recorded by the notifier (audit ``deadline_missed``), newest first: when,
    workflow, version, run, state (empty: the whole run), deadline_s, elapsed_s, run status."""
    return records.deadline_miss_rows(store, scope, limit)
