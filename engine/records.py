"""Reading the record store: the queries for single records and lists, and JSON decoding.

Callers (``engine.api``, the CLI, the app's read models in ``engine.workbench``, the service, the
optimizer) ask here instead of writing SQL; JSON columns are decoded by the one rule below, driven by
:data:`engine.schema.JSON_COLUMNS`. Also the shared small definitions: the status sets (from
:mod:`engine.schema`), :func:`utc_now` and :func:`slugify`.

This module imports only :mod:`engine.schema` (a leaf of the import graph): anything may use it.
Aggregate statistics (rates, percentiles, buckets) stay in :mod:`engine.analytics` and
:mod:`engine.optimizer`, which are themselves read layers over the same views.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from engine.schema import FINISHED_STATUSES, JSON_COLUMNS, LIVE_STATUSES

__all__ = [
    "FINISHED_STATUSES",
    "LIVE_STATUSES",
    "utc_now",
    "store_time",
    "slugify",
    "loads",
    "decode",
    "execution",
    "executions",
    "workflow_names",
    "transitions",
    "audit_log",
    "recovery_actions",
    "human_requests",
    "ai_decisions",
    "unfinished_runs",
    "runs_needing_attention",
    "runs_by_id",
    "last_initial_context",
    "llm_spend_today",
    "finished_runs_per_version",
    "recorded_spec",
    "optimization_records",
    "optimization_record",
    "run_versions",
    "latest_version_with_runs",
    "most_recently_run",
    "run_outcomes",
    "initial_contexts",
    "transitions_of_runs",
    "recovery_strategy_counts",
    "execution_count",
]


# ------------------------------------------------------------------------------------ small shared rules
def utc_now() -> datetime:
    """The current time, timezone-aware in UTC (the store keeps it as naive UTC: see :func:`store_time`)."""
    return datetime.now(UTC)


def store_time(value: datetime) -> datetime:
    """``value`` as the store keeps and returns TIMESTAMP columns: naive, in UTC.

    Use it to compare a time with values read from the store (naive and aware datetimes do not compare).
    """
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


SLUG_MAX = 40


def slugify(name: str, max_len: int = SLUG_MAX) -> str:
    """A lowercase id part from a name: runs of other characters become '-'; 'workflow' when empty."""
    slug = re.sub(r"[^a-z0-9]+", "-", (name or "").lower()).strip("-")
    return slug[:max_len].rstrip("-") or "workflow"


def loads(value: Any, default: Any = None) -> Any:
    """A JSON column's value as Python: text is parsed, decoded values pass, ``None``/bad text -> ``default``."""
    if value is None:
        return default
    if isinstance(value, (dict, list, int, float, bool)):
        return value
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return default


def decode(table: str, row: dict, *, defaults: dict[str, Any] | None = None) -> dict:
    """A copy of ``row`` with every JSON column of ``table`` (:data:`engine.schema.JSON_COLUMNS`) decoded.

    Only the columns present in the row are touched; ``defaults`` gives the value for a NULL or
    unreadable column (``None`` otherwise).
    """
    cols = JSON_COLUMNS[table]
    defaults = defaults or {}
    out = dict(row)
    for k in cols.intersection(out):
        out[k] = loads(out[k], defaults.get(k))
    return out


def decode_all(table: str, rows: Iterable[dict], *, defaults: dict[str, Any] | None = None) -> list[dict]:
    """:func:`decode` for every row."""
    return [decode(table, r, defaults=defaults) for r in rows]


# ------------------------------------------------------------------------------------ executions
_LIST_COLUMNS = (
    "execution_id, workflow_id, workflow_name, version, status, current_state, error_count, "
    "retry_count, start_time, end_time, duration_ms, error_message, owner, rerun_of, rerun_from"
)


def execution(store, execution_id: str) -> dict | None:
    """One execution row with its JSON columns decoded; ``None`` when there is none."""
    rows = store.query("SELECT * FROM workflow_executions WHERE execution_id = ?", [execution_id])
    return decode("workflow_executions", rows[0]) if rows else None


def executions(
    store,
    workflow: str | None = None,
    status: str | None = None,
    text: str | None = None,
    since: datetime | None = None,
    limit: int = 200,
) -> list[dict]:
    """Top-level executions (no sub-workflow runs), newest first, filtered by workflow name or id,
    status, a text found in the id, name or error, and a start time."""
    sql = f"SELECT {_LIST_COLUMNS} FROM workflow_executions WHERE parent_execution_id IS NULL"
    params: list[Any] = []
    if workflow:
        sql += " AND (workflow_name = ? OR workflow_id = ?)"
        params += [workflow, workflow]
    if status:
        sql += " AND status = ?"
        params.append(status)
    if text:
        sql += " AND (execution_id ILIKE ? OR workflow_name ILIKE ? OR coalesce(error_message, '') ILIKE ?)"
        params += [f"%{text}%"] * 3
    if since is not None:
        sql += " AND start_time >= ?"
        params.append(store_time(since))
    sql += " ORDER BY start_time DESC LIMIT ?"
    params.append(int(limit))
    return store.query(sql, params)


def workflow_names(store) -> list[str]:
    """The workflow names that have runs, sorted."""
    return [
        r["workflow_name"]
        for r in store.query(
            "SELECT DISTINCT workflow_name FROM workflow_executions WHERE workflow_name IS NOT NULL ORDER BY 1"
        )
    ]


def unfinished_runs(store, limit: int) -> list[dict]:
    """Top-level runs whose status is not finished (pending, running, recovering, waiting), newest first."""
    marks = ", ".join("?" for _ in LIVE_STATUSES)
    return store.query(
        "SELECT execution_id, workflow_name, version, status, current_state, start_time, updated_at, owner "
        f"FROM workflow_executions WHERE status IN ({marks}) "
        "AND parent_execution_id IS NULL ORDER BY start_time DESC LIMIT ?",
        [*LIVE_STATUSES, int(limit)],
    )


def runs_needing_attention(store, limit: int = 20) -> list[dict]:
    """Waiting runs with open requests for a person (approvals, decisions, escalations), newest first."""
    return store.query(
        "SELECT e.execution_id, e.workflow_name, e.version, e.status, e.start_time, "
        "count(h.request_id) AS open_requests FROM workflow_executions e JOIN human_requests h "
        "ON h.execution_id = e.execution_id AND h.status = 'open' WHERE e.status = 'waiting' "
        "GROUP BY ALL ORDER BY e.start_time DESC LIMIT ?",
        [int(limit)],
    )


def runs_by_id(store, ids: list[str]) -> list[dict]:
    """Summary rows of the given executions, newest first."""
    if not ids:
        return []
    return store.query(
        "SELECT execution_id, workflow_name, version, status, start_time FROM workflow_executions "
        "WHERE execution_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY start_time DESC",
        [list(ids)],
    )


def last_initial_context(store, workflow_id: str | None) -> dict | None:
    """The initial context of the newest first run (not a re-run or a child) of a workflow."""
    if not workflow_id:
        return None
    rows = store.query(
        "SELECT initial_context FROM workflow_executions WHERE workflow_id = ? "
        "AND parent_execution_id IS NULL AND rerun_of IS NULL ORDER BY start_time DESC LIMIT 1",
        [workflow_id],
    )
    return loads(rows[0]["initial_context"], None) if rows else None


def finished_runs_per_version(store, workflow_id: str) -> dict[int, int]:
    """Version -> number of its finished runs (completed, failed or cancelled); versions with runs only."""
    marks = ", ".join("?" for _ in FINISHED_STATUSES)
    return {
        int(r["version"]): int(r["n"])
        for r in store.query(
            f"SELECT version, count(*) FILTER (WHERE status IN ({marks})) AS n "
            "FROM workflow_executions WHERE workflow_id = ? AND version IS NOT NULL GROUP BY 1",
            [*sorted(FINISHED_STATUSES), workflow_id],
        )
    }


def recorded_spec(store, workflow_id: str, version: int | None = None) -> dict | None:
    """The spec (as data) recorded in the options of the newest run of a workflow (of one version)."""
    sql = (
        "SELECT options FROM workflow_executions WHERE workflow_id = ?"
        + (" AND version = ?" if version else "")
        + " ORDER BY start_time DESC LIMIT 1"
    )
    rows = store.query(sql, [workflow_id] + ([int(version)] if version else []))
    if not rows or not rows[0]["options"]:
        return None
    return (loads(rows[0]["options"], {}) or {}).get("_spec")


def run_versions(store, workflow_id: str) -> list[int]:
    """The versions of a workflow that have runs, newest first."""
    return [
        int(r["version"])
        for r in store.query(
            "SELECT DISTINCT version FROM workflow_executions WHERE workflow_id = ? AND version IS NOT NULL "
            "ORDER BY version DESC",
            [workflow_id],
        )
    ]


def latest_version_with_runs(store, workflow_id: str) -> int | None:
    """The newest version that has finished runs, else the newest version with any run; ``None`` without runs."""
    rows = store.query(
        "SELECT version, count(*) FILTER (WHERE status IN (SELECT unnest(?::VARCHAR[]))) AS finished "
        "FROM workflow_executions WHERE workflow_id = ? AND version IS NOT NULL "
        "GROUP BY version ORDER BY finished > 0 DESC, version DESC LIMIT 1",
        [sorted(FINISHED_STATUSES), workflow_id],
    )
    return int(rows[0]["version"]) if rows else None


def most_recently_run(store, workflow_ids: list[str]) -> str | None:
    """Of the given workflow ids, the one whose newest run started last (``None`` when none has runs)."""
    rows = store.query(
        "SELECT workflow_id FROM workflow_executions WHERE workflow_id IN "
        "(SELECT unnest(?::VARCHAR[])) ORDER BY start_time DESC LIMIT 1",
        [list(workflow_ids)],
    )
    return rows[0]["workflow_id"] if rows else None


def run_outcomes(
    store, workflow_id: str, version: int, *, finished_only: bool = False, since: datetime | None = None
) -> list[dict]:
    """{status, duration_ms} of a version's runs (only finished ones, and since a start time, when asked)."""
    sql = "SELECT status, duration_ms FROM workflow_executions WHERE workflow_id = ? AND version = ?"
    params: list[Any] = [workflow_id, int(version)]
    if finished_only:
        sql += " AND status IN (SELECT unnest(?::VARCHAR[]))"
        params.append(sorted(FINISHED_STATUSES))
    if since is not None:
        sql += " AND start_time >= ?"
        params.append(store_time(since))
    return store.query(sql, params)


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


# ------------------------------------------------------------------------------------ a run's records
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


def human_requests(store, execution_id: str, *, open_only: bool = False) -> list[dict]:
    """A run's requests for a person, oldest first.

    ``open_only``: the open ones with ``options`` and ``details`` decoded (``[]``/``{}`` when empty);
    otherwise every column as stored.
    """
    if not open_only:
        return store.query("SELECT * FROM human_requests WHERE execution_id = ? ORDER BY created_at", [execution_id])
    rows = store.query(
        "SELECT request_id, state, kind, prompt, options, details, created_at FROM human_requests "
        "WHERE execution_id = ? AND status = 'open' ORDER BY created_at",
        [execution_id],
    )
    for r in rows:
        r["options"] = loads(r.get("options"), []) or []
        r["details"] = loads(r.get("details"), {}) or {}
    return rows


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


def ai_decision_totals(store) -> dict[str, int]:
    """Recorded AI-layer decisions by who decided (rule, ai, heuristic, human, cache), all runs."""
    return {
        r["by"]: int(r["n"])
        for r in store.query(
            "SELECT coalesce(nullif(decided_by, ''), 'unknown') AS by, count(*) AS n FROM ai_decisions GROUP BY 1"
        )
    }


def llm_usage_totals(store) -> list[dict]:
    """Recorded model calls per model: calls, prompt and completion tokens, cost in USD, all runs."""
    return store.query(
        "SELECT coalesce(model, 'unknown') AS model, count(*) AS calls, "
        "coalesce(sum(prompt_tokens), 0) AS prompt_tokens, coalesce(sum(completion_tokens), 0) AS completion_tokens, "
        "coalesce(sum(cost_usd), 0.0) AS cost_usd FROM llm_calls GROUP BY 1 ORDER BY 1"
    )


def execution_count(store) -> int:
    """How many executions are recorded (also a cheap probe that the store answers queries)."""
    return int(store.query("SELECT count(*) AS n FROM workflow_executions")[0]["n"])


def llm_spend_today(store) -> dict:
    """Today's LLM spend over all workflows: {usd, calls, hits}."""
    rows = store.query(
        "SELECT coalesce(sum(cost_usd), 0) AS usd, count(*) AS calls, "
        "count(*) FILTER (WHERE cache_hit) AS hits FROM llm_calls "
        "WHERE timestamp >= current_date"
    )
    return rows[0] if rows else {}


# ------------------------------------------------------------------------------------ optimization records
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
