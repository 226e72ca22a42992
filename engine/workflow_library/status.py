"""Archiving, restoring and setting the status of versions: each appends the version rows again with
the new status (nothing is deleted; restoring gives back the status a version had before)."""

from __future__ import annotations

from engine.store import RawJSON, Store
from engine.workflow_library.base import (
    STATUSES,
    LibraryError,
    WorkflowNotFoundError,
    _changed,
    _not_found_message,
    _now,
    _versions,
)


def _reappend(store: Store, rows: list[dict], status: str) -> None:
    now = _now()
    out = []
    for r in rows:
        new = {k: (RawJSON(v) if k in _JSON_COLS and v is not None else v) for k, v in r.items()}
        new.update(status=status, updated_at=now, seq=None)
        out.append(new)
    store.append_many("workflows", out)
    _changed()


_JSON_COLS = {"parsed_definition", "spec", "tags", "ai_suggestions"}


def archive_workflow(store: Store, workflow_id: str, version: int | None = None, *, restore: bool = False) -> int:
    """Archive every version of a workflow (or one ``version``): a soft delete, nothing is removed.
    With ``restore=True`` the versions get back the status they had before. Returns versions changed."""
    rows = _versions(store, workflow_id)
    if not rows:
        raise WorkflowNotFoundError(_not_found_message(store, workflow_id))
    if version is not None:
        rows = [r for r in rows if r["version"] == int(version)]
        if not rows:
            raise WorkflowNotFoundError(f"workflow {workflow_id!r} has no version {version}")
    if not restore:
        todo = [r for r in rows if r["status"] != "archived"]
        if todo:
            _reappend(store, todo, "archived")
        return len(todo)
    todo = [r for r in rows if r["status"] == "archived"]
    if not todo:
        return 0
    hist = store.query(
        "SELECT version, status FROM workflows_history WHERE workflow_id = ? "
        "ORDER BY updated_at DESC NULLS LAST, seq DESC NULLS LAST",
        [workflow_id],
    )
    previous: dict[int, str] = {}
    for h in hist:
        if h["status"] != "archived":
            previous.setdefault(h["version"], h["status"])
    for status in set(previous.get(r["version"], "active") for r in todo):
        _reappend(store, [r for r in todo if previous.get(r["version"], "active") == status], status)
    return len(todo)


def restore_workflow(store: Store, workflow_id: str, version: int | None = None) -> int:
    """Undo :func:`archive_workflow`."""
    return archive_workflow(store, workflow_id, version, restore=True)


def set_status(store: Store, workflow_id: str, version: int, status: str) -> None:
    """Set one version's status (draft | active | deprecated | archived)."""
    if status not in STATUSES:
        raise LibraryError(f"status must be one of {', '.join(STATUSES)} (got {status!r})")
    rows = [r for r in _versions(store, workflow_id) if r["version"] == int(version)]
    if not rows:
        raise WorkflowNotFoundError(f"workflow {workflow_id!r} has no version {version}")
    _reappend(store, rows, status)
