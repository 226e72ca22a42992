"""Requests for a person (approvals, decisions, escalations) and the runs waiting on them.

For the run engine's people part (``engine.run.people``/``control``: open and answered requests of a
run and its sub-runs), the service's event stream, ``engine.api`` and the app's "needs attention" list.
"""

from __future__ import annotations

from engine.records.common import loads
from engine.schema import TIMER_REQUEST


def runs_needing_attention(store, limit: int = 20) -> list[dict]:
    """Waiting runs with open requests for a person (approvals, decisions, escalations; not the timers of
    wait states: nobody is asked), newest first."""
    return store.query(
        "SELECT e.execution_id, e.workflow_name, e.version, e.status, e.start_time, "
        "count(h.request_id) AS open_requests FROM workflow_executions e JOIN human_requests h "
        f"ON h.execution_id = e.execution_id AND h.status = 'open' AND h.kind <> '{TIMER_REQUEST}' WHERE e.status = 'waiting' "
        "GROUP BY ALL ORDER BY e.start_time DESC LIMIT ?",
        [int(limit)],
    )


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


def open_requests(store, execution_ids: list[str], state: str) -> list[dict]:
    """Open requests (rows as stored) for ``state`` of any of the runs, oldest first."""
    return store.query(
        "SELECT * FROM human_requests WHERE state = ? AND status = 'open' AND "
        "execution_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY created_at",
        [state, list(execution_ids)],
    )


def answered_requests(store, execution_ids: list[str]) -> list[dict]:
    """{execution_id, request_id, answer} of the answered requests of the runs."""
    return store.query(
        "SELECT execution_id, request_id, answer FROM human_requests WHERE status = 'answered' "
        "AND execution_id IN (SELECT unnest(?::VARCHAR[]))",
        [list(execution_ids)],
    )


def request_status(store, request_id: str) -> dict | None:
    """{status, answer, details} of one request for a person; ``None`` when it was never opened."""
    rows = store.query("SELECT status, answer, details FROM human_requests WHERE request_id = ?", [request_id])
    return rows[0] if rows else None


def open_requests_by_id(store, request_id: str) -> list[dict]:
    """The request (its row as stored) while it is open; empty once answered or never opened."""
    return store.query("SELECT * FROM human_requests WHERE request_id = ? AND status = 'open'", [request_id])


def waiting_runs_with_expired_requests(store, at) -> list[dict]:
    """Top-level runs ``waiting`` on a request whose ``details.expires_at`` is at or before ``at``
    (naive UTC), asked by the run itself or by any of its sub-workflow runs, however deep: someone must
    resume the top-level run so the request expires (rows as stored, oldest first)."""
    return store.query(
        "WITH RECURSIVE asking(execution_id) AS ("
        " SELECT execution_id FROM human_requests WHERE status = 'open' "
        " AND json_extract_string(details, '$.expires_at') IS NOT NULL "
        " AND CAST(json_extract_string(details, '$.expires_at') AS TIMESTAMP) <= ? "
        " UNION SELECT e.parent_execution_id FROM workflow_executions e JOIN asking a "
        " ON e.execution_id = a.execution_id WHERE e.parent_execution_id IS NOT NULL) "
        "SELECT e.* FROM workflow_executions e WHERE e.status = 'waiting' AND e.parent_execution_id IS NULL "
        "AND e.execution_id IN (SELECT execution_id FROM asking) ORDER BY e.start_time",
        [at],
    )
