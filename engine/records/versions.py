"""A workflow's versions and the outcomes of their runs.

For the optimizer (which version to analyse, comparing two versions), the Optimize page (finished runs
per version) and anything that needs the spec a version's runs recorded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.records.common import loads, store_time
from engine.schema import FINISHED_STATUSES


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
