"""The workflow library as the app uses it (``engine.library`` with errors a person can act on)."""

from __future__ import annotations

from collections import Counter

from engine import records
from engine.workbench.common import ServiceError
from engine.workflow_file import WorkflowSpec


def _lib():
    from engine import library

    return library


def list_workflows(
    store, status: str | None = None, tag: str | None = None, text: str | None = None, who=None
) -> list[dict]:
    """Library workflows (one row each, its current version) with tags decoded, filtered by status, tag or text;
    with ``who`` (an engine.auth.Principal), only those it owns or that are shared with it (engine/sharing.py)."""
    from engine import sharing

    rows = sharing.filter_accessible(
        store, who, _lib().list_workflows(store, status=status or None, tag=tag or None, text=text or None)
    )
    out = []
    for r in rows:
        r = dict(r)
        r["tags"] = records.loads(r.get("tags"), []) or []
        out.append(r)
    return out


def save_workflow(
    store, spec: WorkflowSpec, workflow_id: str | None = None, change_note: str = "", owner: str | None = None
) -> tuple[str, int]:
    """Save a new version (``owner``: its owner, default the library's); ServiceError naming the first
    validation error when the spec is invalid."""
    rep = spec.validate_all()
    if rep.errors:
        first = rep.errors[0]
        where = f" (line {first.line}, column {first.column})" if first.line else ""
        raise ServiceError(f"cannot save: {first.message}{where}" + (f". {first.hint}" if first.hint else ""))
    return _lib().save_workflow(store, spec, workflow_id=workflow_id, change_note=change_note, owner=owner)


def get_workflow(store, id_or_name: str, version: int | None = None) -> tuple[WorkflowSpec, dict]:
    """A workflow's spec and metadata by id or name (a given version, else the latest)."""
    return _lib().get_workflow(store, id_or_name, version)


def list_versions(store, workflow_id: str) -> list[dict]:
    """Every version of a workflow, oldest first."""
    return [dict(r) for r in _lib().list_versions(store, workflow_id)]


def archive_workflow(store, workflow_id: str):
    """Archive every version of a workflow."""
    return _lib().archive_workflow(store, workflow_id)


def diff_versions(store, workflow_id: str, v1: int, v2: int) -> str:
    """A unified diff of two versions' definitions."""
    return _lib().diff_versions(store, workflow_id, v1, v2)


def all_tags(workflows: list[dict]) -> list[str]:
    """Every tag used by these workflows, sorted."""
    return sorted({t for w in workflows for t in (w.get("tags") or [])})


def workflow_labels(workflows: list[dict]) -> dict[str, str]:
    """workflow_id -> a label unique among ``workflows`` (the id is added when names repeat)."""
    names = Counter((w.get("name") or w["workflow_id"]) for w in workflows)
    return {
        w["workflow_id"]: (w.get("name") or w["workflow_id"])
        if names[w.get("name") or w["workflow_id"]] == 1
        else f"{w.get('name')} ({w['workflow_id']})"
        for w in workflows
    }
