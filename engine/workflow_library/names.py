"""Which workflow an id or a name means: name look-ups (exact, else ignoring case; the caller's own
first), the id a name resolves to, and a workflow's default version."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime

from engine.store import Store
from engine.workflow_library.base import WorkflowNotFoundError, _current, _not_found_message, _versions


def workflow_for_name(
    store: Store, name: str, *, owner: str | None = None, may_write: Callable[[dict], bool] | None = None
) -> dict | None:
    """The current version row (with ``spec``) of the workflow a caller means by ``name`` when saving or
    running a definition: among the workflows whose current version is called ``name`` (exactly, else
    ignoring case) and not archived, the newest owned by ``owner``, else the newest other one
    ``may_write(row)`` accepts (None: any). None when there is no such workflow."""
    candidates = _named(store, name, include_archived=False)
    own = [r for r in candidates if owner is not None and r.get("owner") == owner]
    if own:
        return own[0]
    others = [r for r in candidates if may_write is None or may_write(r)]
    return others[0] if others else None


def workflow_ids_named(store: Store, name: str) -> list[str]:
    """Ids of the workflows (not archived) whose current version is called ``name`` (exactly, else
    ignoring case), newest change first. Several users may each have a workflow of the same name."""
    return [r["workflow_id"] for r in _named(store, name, include_archived=False)]


def _named(store: Store, name: str, include_archived: bool, among: Collection[str] | None = None) -> list[dict]:
    """Current version rows of the workflows named ``name`` (exact matches, else case-insensitive ones),
    newest change first; ``among``: only these workflow ids."""
    if not isinstance(name, str) or not name.strip():
        return []
    rows = store.query(  # every version of every workflow that had this name once: one query
        "SELECT * FROM workflows WHERE workflow_id IN "
        "(SELECT workflow_id FROM workflows WHERE name = ? OR lower(name) = lower(?)) ORDER BY version",
        [name, name],
    )
    by_id: dict[str, list[dict]] = {}
    for r in rows:
        if among is None or r["workflow_id"] in among:
            by_id.setdefault(r["workflow_id"], []).append(r)
    current = []
    for versions in by_id.values():
        cur = _current(versions)
        if cur["status"] == "archived" and not include_archived:
            continue
        current.append(cur)
    for exact in (True, False):
        found = [
            r for r in current if ((r["name"] or "") == name if exact else (r["name"] or "").lower() == name.lower())
        ]
        if found:
            return sorted(found, key=lambda r: (r["updated_at"] or datetime.min, r["seq"] or 0), reverse=True)
    return []


def default_version(store: Store, workflow_id: str) -> int | None:
    """The version a workflow uses by default (its current version), None when it has none."""
    rows = _versions(store, workflow_id, "version, status")
    return int(_current(rows)["version"]) if rows else None


def _resolve_id(
    store: Store,
    id_or_name: str,
    include_archived: bool,
    among: Collection[str] | None = None,
    prefer_owner: str | None = None,
) -> str:
    if store.query("SELECT 1 FROM workflows WHERE workflow_id = ? LIMIT 1", [id_or_name]):
        return id_or_name
    # a workflow matches by the name of its current version, exactly first, then ignoring case; several
    # workflows of that name: the caller's own (``prefer_owner``) first, then the most recently changed
    found = _named(store, id_or_name, include_archived, among)
    if found:
        own = [r for r in found if prefer_owner is not None and r.get("owner") == prefer_owner]
        return (own or found)[0]["workflow_id"]
    raise WorkflowNotFoundError(_not_found_message(store, id_or_name))
