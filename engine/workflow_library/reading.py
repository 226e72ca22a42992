"""Reading the library: one workflow by id or name (``get_workflow``), the list of workflows, a
workflow's versions, and a version's states."""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime

from engine.store import Store
from engine.workflow_file import WorkflowSpec
from engine.workflow_library.base import (
    LibraryError,
    WorkflowNotFoundError,
    _current,
    _loads,
    _not_found_message,
    _versions,
)
from engine.workflow_library.names import _resolve_id

_LIST_COLUMNS = (
    "workflow_id, version, name, description, status, tags, owner, change_note, "
    "nl_description, created_at, updated_at, seq"
)


def _meta(row: dict, n_versions: int | None = None) -> dict:
    meta = {k: v for k, v in row.items() if k != "spec"}
    meta["tags"] = _loads(row.get("tags"), [])
    meta["parsed_definition"] = _loads(row.get("parsed_definition"))
    meta["ai_suggestions"] = _loads(row.get("ai_suggestions"))
    if n_versions is not None:
        meta["versions"] = n_versions
    return meta


def get_workflow(
    store: Store,
    id_or_name: str,
    version: int | None = None,
    *,
    include_archived: bool = False,
    among: Collection[str] | None = None,
    prefer_owner: str | None = None,
) -> tuple[WorkflowSpec, dict]:
    """``(spec, meta)`` of a workflow by id or exact name (case-insensitive as a fallback).

    A name several workflows share means the one owned by ``prefer_owner`` (the caller), else the most
    recently changed; ``among``: a name looks only at these workflow ids (what the caller may read).

    Without ``version``: the newest version that is not archived. A specific ``version`` is returned
    whatever its status (runs refer to it). ``meta`` holds the version row (tags and
    parsed_definition decoded), plus ``versions`` (how many there are).
    """
    if not isinstance(id_or_name, str) or not id_or_name.strip():
        raise WorkflowNotFoundError("give a workflow id or name")
    wid = _resolve_id(store, id_or_name, include_archived or version is not None, among, prefer_owner)
    rows = _versions(store, wid)
    if version is not None:
        match = [r for r in rows if r["version"] == int(version)]
        if not match:
            have = ", ".join(str(r["version"]) for r in rows)
            raise WorkflowNotFoundError(f"workflow {wid!r} has no version {version} (versions: {have})")
        row = match[0]
    else:
        row = _current(rows)
        if row["status"] == "archived" and not include_archived:
            raise WorkflowNotFoundError(
                f"workflow {wid!r} is archived; restore it with "
                f"library.restore_workflow(store, {wid!r}) or ask for a version"
            )
    try:
        spec = WorkflowSpec.model_validate(json.loads(row["spec"]))
    except (TypeError, ValueError) as exc:
        raise LibraryError(f"workflow {wid!r} v{row['version']} cannot be loaded: {exc}") from None
    return spec, _meta(row, len(rows))


def list_workflows(
    store: Store, status: str | None = None, tag: str | None = None, text: str | None = None
) -> list[dict]:
    """One row per workflow (its current version), newest change first.

    ``status``: None = every workflow that is not archived, ``"all"``, or one status
    (``"archived"`` lists the archived ones). ``tag``: has this tag (case-insensitive).
    ``text``: case-insensitive substring of the id, name, description, tags or NL description.
    Each row: workflow_id, name, description, version (current), latest_version, versions, status,
    tags (list), owner, change_note, created_at (first version), updated_at (last change).
    """
    rows = store.query(f"SELECT {_LIST_COLUMNS} FROM workflows")
    by_id: dict[str, list[dict]] = {}
    for r in rows:
        by_id.setdefault(r["workflow_id"], []).append(r)
    out = []
    needle = text.lower() if text else None
    for wid, vs in by_id.items():
        cur = _current(vs)
        tags = _loads(cur["tags"], []) or []
        item = {
            "workflow_id": wid,
            "name": cur["name"],
            "description": cur["description"],
            "version": cur["version"],
            "latest_version": max(v["version"] for v in vs),
            "versions": len(vs),
            "status": cur["status"],
            "tags": tags,
            "owner": cur["owner"],
            "change_note": cur["change_note"],
            "created_at": min((v["created_at"] for v in vs if v["created_at"]), default=None),
            "updated_at": max((v["updated_at"] for v in vs if v["updated_at"]), default=None),
        }
        if status is None and item["status"] == "archived":
            continue
        if status not in (None, "all") and item["status"] != status:
            continue
        if tag and tag.lower() not in {str(t).lower() for t in tags}:
            continue
        if needle:
            hay = " ".join(
                str(x) for x in (wid, cur["name"], cur["description"], cur["nl_description"], *tags) if x
            ).lower()
            if needle not in hay:
                continue
        out.append(item)
    out.sort(key=lambda r: (r["updated_at"] or datetime.min, r["workflow_id"]), reverse=True)
    return out


def list_versions(store: Store, workflow_id: str) -> list[dict]:
    """Every version of a workflow, oldest first: version, name, status, change_note, owner, tags,
    created_at, updated_at, dsl and the number of states."""
    rows = _versions(store, workflow_id, _LIST_COLUMNS + ", dsl")
    if not rows:
        raise WorkflowNotFoundError(_not_found_message(store, workflow_id))
    counts = {
        r["version"]: r["n"]
        for r in store.query(
            "SELECT version, count(DISTINCT state_name) AS n FROM workflow_states WHERE workflow_id = ? GROUP BY version",
            [workflow_id],
        )
    }
    current = _current(rows)["version"]
    out = []
    for r in rows:
        item = {
            k: r[k]
            for k in (
                "workflow_id",
                "version",
                "name",
                "status",
                "change_note",
                "owner",
                "created_at",
                "updated_at",
                "dsl",
            )
        }
        item["tags"] = _loads(r["tags"], [])
        item["states"] = counts.get(r["version"], 0)
        item["default"] = r["version"] == current
        out.append(item)
    return out


def get_states(store: Store, workflow_id: str, version: int) -> list[dict]:
    """The ``workflow_states`` rows of one version (callback_config and retry_policy decoded)."""
    rows = store.query(
        "SELECT * FROM workflow_states WHERE workflow_id = ? AND version = ? ORDER BY state_name",
        [workflow_id, int(version)],
    )
    for r in rows:
        r["callback_config"] = _loads(r["callback_config"], {})
        r["retry_policy"] = _loads(r["retry_policy"])
    return rows
