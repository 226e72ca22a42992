"""Which runs are there: single execution rows and the lists of runs.

For the app's History and Runs pages (through ``engine.workbench``), ``engine.api``, the CLI
(``workbench run/logs``) and the service: one run by id, the filtered list, the names that have runs,
the unfinished ones, re-runs of a run, and the initial contexts a new run can start from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.records.common import decode, loads, store_time
from engine.schema import LIVE_STATUSES

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


def reruns_of(store, execution_id: str) -> list[dict]:
    """The re-runs started from a run, newest first: execution_id, rerun_from, status, start_time."""
    return store.query(
        "SELECT execution_id, rerun_from, status, start_time FROM workflow_executions "
        "WHERE rerun_of = ? ORDER BY start_time DESC",
        [execution_id],
    )


def runs_matching_inputs_or_source(store, text: str, limit: int = 200) -> list[str]:
    """Ids of top-level runs, newest first, whose initial context or source run id (``rerun_of``)
    contains ``text`` (case-insensitive)."""
    rows = store.query(
        "SELECT execution_id FROM workflow_executions WHERE parent_execution_id IS NULL AND "
        "(coalesce(rerun_of, '') ILIKE ? OR coalesce(CAST(initial_context AS VARCHAR), '') ILIKE ?) "
        "ORDER BY start_time DESC LIMIT ?",
        [f"%{text}%", f"%{text}%", int(limit)],
    )
    return [r["execution_id"] for r in rows]


def initial_contexts_of(store, ids: list[str]) -> dict[str, Any]:
    """execution_id -> its initial context (decoded) for the given runs."""
    if not ids:
        return {}
    rows = store.query(
        "SELECT execution_id, initial_context FROM workflow_executions "
        "WHERE execution_id IN (SELECT unnest(?::VARCHAR[]))",
        [list(ids)],
    )
    return {r["execution_id"]: loads(r["initial_context"], {}) for r in rows}
