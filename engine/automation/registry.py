"""The registry tables of schedules and triggers, shared by engine/automation/schedules.py and triggers.py.

Both tables are append-only histories (a change is a new row; the store keeps the newest row per id as
the current one): :func:`current_rows` reads the current rows with their ``definition`` parsed, and
every change to either registry is made under the one cross-process lock :data:`REGISTRY_LOCK`.
"""

from __future__ import annotations

import json

REGISTRY_LOCK = "automation-registry"

_ID_COLUMN = {"schedules": "schedule_id", "triggers": "trigger_id"}


def parse_row(row: dict) -> dict:
    """A registry row with its ``definition`` JSON parsed (``{}`` when empty)."""
    out = dict(row)
    d = out.get("definition")
    out["definition"] = json.loads(d) if isinstance(d, str) else (d or {})
    return out


def current_rows(
    store,
    table: str,
    *,
    workflow_id: str | None = None,
    kind: str | None = None,
    include_removed: bool = False,
) -> list[dict]:
    """Current rows of ``table`` (``schedules`` or ``triggers``), ordered by id: the active ones (and the
    removed ones with ``include_removed``), of one workflow and one trigger ``kind`` when given."""
    sql, where, params = f"SELECT * FROM {table}", [], []
    if table not in _ID_COLUMN:
        raise ValueError(f"not a registry table: {table!r}")
    if not include_removed:
        where.append("status = 'active'")
    if workflow_id is not None:
        where.append("workflow_id = ?")
        params.append(workflow_id)
    if kind:
        where.append("kind = ?")
        params.append(kind)
    if where:
        sql += " WHERE " + " AND ".join(where)
    return [parse_row(r) for r in store.query(f"{sql} ORDER BY {_ID_COLUMN[table]}", params)]
