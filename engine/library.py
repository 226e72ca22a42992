"""The workflow library: versioned workflow definitions kept in the record store.

Each save appends a new version row to ``workflows`` (keyed by ``workflow_id`` + ``version``) and one
row per state to ``workflow_states``. Nothing is deleted: archiving appends the same version rows
with ``status = 'archived'`` (the ``workflows`` view shows the newest row per version), and restoring
appends them again with the status they had before.
"""

from __future__ import annotations

import difflib
import json
import os
import threading
import uuid
from collections.abc import Callable, Collection
from datetime import datetime
from pathlib import Path
from typing import Any

from engine import records
from engine.dsl.graph import to_graph
from engine.dsl.printer import to_dsl
from engine.errors import DSLError, WorkbenchError
from engine.identity import login_user
from engine.store import RawJSON, Store
from engine.workflow_file import WorkflowSpec, load_workflow

STATUSES = ("draft", "active", "archived", "deprecated", "pinned")
# "pinned": a version saved only so that a run of a workflow file is pinned to its exact content; it is
# never the workflow's default (current) version, so running a file never replaces what the library uses
_VERSIONS_LOCK = "library-versions"  # Store.exclusive() lock around look-ups and saves of versions
_changes = 0  # writes to the workflows table by this process (see changes())
_changes_lock = threading.Lock()
_LIST_COLUMNS = (
    "workflow_id, version, name, description, status, tags, owner, change_note, "
    "nl_description, created_at, updated_at, seq"
)


class LibraryError(WorkbenchError):
    """A library operation could not be done (bad status, unknown version...)."""


class WorkflowNotFoundError(LibraryError):
    """No workflow matches the given id or name."""


def _now() -> datetime:
    return records.store_time(records.utc_now())


def _owner() -> str:
    return login_user()


def slugify(name: str) -> str:
    """The id part made from a workflow name: :func:`engine.records.slugify` (one rule everywhere)."""
    return records.slugify(name)


def _loads(text, default=None):
    if text is None:
        return default
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return default


def _spec_json(spec: WorkflowSpec) -> dict:
    return spec.model_dump(mode="json")


# --- saving ---------------------------------------------------------------------------------


def save_workflow(
    store: Store,
    spec: WorkflowSpec,
    workflow_id: str | None = None,
    change_note: str = "",
    status: str = "active",
    owner: str | None = None,
) -> tuple[str, int]:
    """Save ``spec`` as a new version; returns ``(workflow_id, version)``.

    ``owner``: the user the version belongs to. Default: for a new version of an existing workflow, that
    workflow's owner (saving a version never takes a workflow over); for a new workflow, ``WORKBENCH_USER``
    or the OS user.

    Without ``workflow_id`` a new workflow is created (id = slug of the name + a short uuid).
    The DSL must parse; validation errors are refused unless ``status == 'draft'``.
    """
    if status not in STATUSES or status == "archived":
        raise LibraryError(
            f"status must be one of draft, active, deprecated (got {status!r}); use archive_workflow() to archive"
        )
    model = spec.model  # raises DSLError on syntax errors
    report = spec.validate_all()
    if report.errors and status != "draft":
        raise DSLError(report.errors)
    graph = to_graph(model)
    kinds = {n["id"]: n["kind"] for n in graph["nodes"]}
    now = _now()
    # one version number per save across processes: read max(version) and append under a store-wide
    # lock; leaving it flushes the rows, so the next saver (in any process) sees this version
    with store.exclusive(_VERSIONS_LOCK):
        if workflow_id is None:
            workflow_id = f"{slugify(spec.name)}-{uuid.uuid4().hex[:6]}"
            version = 1
        else:
            if not isinstance(workflow_id, str) or not workflow_id.strip():
                raise LibraryError("workflow_id must be a non-empty string")
            row = store.query("SELECT max(version) AS v FROM workflows_history WHERE workflow_id = ?", [workflow_id])
            version = (row[0]["v"] or 0) + 1
            if owner is None and version > 1:
                owner = _workflow_owner(store, workflow_id)
        states = []
        for name in model.states:
            b = spec.binding(name)
            config = b.model_dump(
                mode="json",
                exclude_defaults=True,
                exclude_none=True,
                exclude={"description", "timeout_s", "retry", "compensate"},
            )
            states.append(
                {
                    "workflow_id": workflow_id,
                    "version": version,
                    "state_name": name,
                    "state_type": kinds.get(name, "state"),
                    "description": b.description or None,
                    "callback_type": b.action,
                    "callback_config": config,
                    "timeout_seconds": b.timeout_s,
                    "retry_policy": b.retry.model_dump(mode="json") if b.retry else None,
                    "compensate": b.compensate,
                    "created_at": now,
                }
            )
        store.append_many("workflow_states", states)
        store.append(
            "workflows",
            {
                "workflow_id": workflow_id,
                "version": version,
                "name": spec.name,
                "description": spec.description,
                "dsl": spec.dsl,
                "nl_description": spec.nl_description or None,
                "parsed_definition": graph,
                "spec": _spec_json(spec),
                "status": status,
                "tags": list(spec.tags),
                "owner": owner or _owner(),
                "change_note": change_note or None,
                "created_at": now,
                "updated_at": now,
            },
        )
        _changed()
    return workflow_id, version


def _workflow_owner(store: Store, workflow_id: str) -> str | None:
    """The owner of a workflow's current version (None when it has no version or records none)."""
    rows = _versions(store, workflow_id, "version, status, owner")
    return _current(rows)["owner"] if rows else None


def _changed() -> None:
    global _changes
    with _changes_lock:
        _changes += 1


def changes() -> int:
    """How many times this process has written library versions or statuses (a cheap change marker)."""
    return _changes


def import_workflow_file(store: Store, path: str | os.PathLike, status: str = "active") -> tuple[str, int]:
    """Import a ``.toml``/``.dsl`` file. Re-importing an unchanged file returns the existing version;
    a changed file with the name of an existing workflow becomes a new version of it."""
    spec = load_workflow(path)
    note = f"imported from {Path(path).name}"
    return ensure_saved(store, spec, new_note=note, changed_note=note, status=status)


def ensure_saved(
    store: Store,
    spec: WorkflowSpec,
    *,
    new_note: str = "",
    changed_note: str = "",
    status: str = "active",
    make_default: bool = False,
    owner: str | None = None,
    may_write: Callable[[dict], bool] | None = None,
) -> tuple[str, int]:
    """``(id, version)`` of a version of the workflow named ``spec.name`` that holds exactly ``spec``.

    Which workflow the name means (:func:`workflow_for_name`): the newest of that name owned by ``owner``
    (the caller; default ``WORKBENCH_USER`` or the OS user), else the newest other one ``may_write``
    allows (the caller may save versions into it: owner, ``edit`` share, operator, admin; None: any, as
    for the store's administrator), else none: ``spec`` is saved as a new workflow owned by ``owner``.
    A workflow the caller may not write into is never written (nor used): the caller gets one of his own.

    In that workflow: the current (default) version when it holds ``spec``; else an earlier version
    holding it; else ``spec`` saved as a new version (``changed_note``) with status ``pinned``: runs are
    pinned to it but it never becomes the default, so running a changed file never replaces the
    library's version behind the user's back. ``make_default=True`` saves a changed spec with ``status``
    instead (it becomes the default). New versions keep the workflow's owner. A workflow nobody saved yet
    is saved with ``status`` (``new_note``). The look-up and the save are one step for every process: two
    processes ensuring the same spec at once get the same version."""
    owner = owner or _owner()
    with store.exclusive(_VERSIONS_LOCK):
        meta = workflow_for_name(store, spec.name, owner=owner, may_write=may_write)
        if meta is None:
            return save_workflow(store, spec, change_note=new_note, status=status, owner=owner)
        wid = meta["workflow_id"]
        wanted = _spec_json(spec)
        if _stored_spec_json(meta) == wanted:
            return wid, int(meta["version"])
        if not make_default:
            for row in sorted(_versions(store, wid), key=lambda r: -int(r["version"])):
                if row["status"] != "archived" and _stored_spec_json(row) == wanted:
                    return wid, int(row["version"])
        return save_workflow(
            store,
            spec,
            workflow_id=wid,
            change_note=changed_note,
            status=status if make_default else "pinned",
            owner=meta.get("owner") or None,
        )


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


def _stored_spec_json(row: dict) -> dict | None:
    """A version row's spec as :func:`_spec_json` gives it (None when it cannot be loaded)."""
    try:
        return _spec_json(WorkflowSpec.model_validate(json.loads(row["spec"])))
    except (TypeError, ValueError):
        return None


def default_version(store: Store, workflow_id: str) -> int | None:
    """The version a workflow uses by default (its current version), None when it has none."""
    rows = _versions(store, workflow_id, "version, status")
    return int(_current(rows)["version"]) if rows else None


# --- reading --------------------------------------------------------------------------------


def _versions(store: Store, workflow_id: str, columns: str = "*") -> list[dict]:
    return store.query(f"SELECT {columns} FROM workflows WHERE workflow_id = ? ORDER BY version", [workflow_id])


def _current(rows: list[dict]) -> dict:
    """The version used by default: the newest one neither archived nor pinned (a file's run), else
    the newest not archived, else the newest."""
    default = [r for r in rows if r["status"] not in ("archived", "pinned")]
    live = [r for r in rows if r["status"] != "archived"]
    return max(default or live or rows, key=lambda r: r["version"])


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


def _not_found_message(store: Store, wanted: str) -> str:
    rows = store.query("SELECT DISTINCT workflow_id, name FROM workflows")
    names = {r["name"] for r in rows if r["name"]} | {r["workflow_id"] for r in rows}
    close = difflib.get_close_matches(wanted, sorted(names), n=5, cutoff=0.5)
    lowered = [n for n in sorted(names) if wanted.lower() in n.lower() and n not in close]
    close += lowered[: 5 - len(close)]
    if close:
        return f"no workflow {wanted!r} in the library; did you mean: {', '.join(repr(c) for c in close)}?"
    if not names:
        return f"no workflow {wanted!r}: the library is empty (save or import one first)"
    return (
        f"no workflow {wanted!r} in the library ({len(set(r['workflow_id'] for r in rows))} workflows; "
        f"list them with `workbench list` or library.list_workflows())"
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


# --- archive / restore ----------------------------------------------------------------------


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


# --- diff -----------------------------------------------------------------------------------


def _value(v: Any) -> str:
    return json.dumps(v, sort_keys=True, ensure_ascii=False)


def canonical_text(spec: WorkflowSpec) -> list[str]:
    """A stable, line-oriented rendering used for diffs: metadata, canonical DSL, bindings, settings."""
    lines = [f"name: {spec.name}", f"description: {spec.description}", f"tags: {', '.join(spec.tags)}"]
    if spec.nl_description:
        lines.append(f"nl_description: {spec.nl_description}")
    lines += ["", "# DSL"]
    try:
        lines += to_dsl(spec.model).splitlines()
    except DSLError:
        lines += spec.dsl.strip().splitlines()
    lines += ["", "# state bindings"]
    for state in sorted(spec.states):
        lines.append(f"[states.{state}]")
        data = spec.states[state].model_dump(mode="json", exclude_defaults=True, exclude_none=True)
        lines += [f"  {k} = {_value(v)}" for k, v in sorted(data.items())] or ["  (noop)"]
    settings = spec.settings.model_dump(mode="json", exclude_defaults=True)
    if settings:
        lines += ["", "# settings"] + [f"{k} = {_value(v)}" for k, v in sorted(settings.items())]
    if spec.inputs:  # typed inputs are part of the version (engine/inputs.py)
        lines += ["", "# inputs"]
        for name, spec_in in spec.inputs.items():
            lines.append(f"[inputs.{name}] {_value(spec_in.model_dump(mode='json', exclude_defaults=True))}")
    for kind in ("schedules", "triggers"):  # automation entries are part of the version (engine/automation)
        entries = [e.model_dump(mode="json", exclude_defaults=True) for e in getattr(spec, kind)]
        if entries:
            lines += ["", f"# {kind}"] + [f"[[{kind}]] {_value(e)}" for e in entries]
    return lines


def diff_versions(store: Store, workflow_id: str, v1: int, v2: int) -> str:
    """Unified diff between two versions (canonical DSL, state bindings, settings, name/description/tags),
    its header naming each version by the workflow's name. Empty string when they are the same."""
    a, _ = get_workflow(store, workflow_id, v1)
    b, _ = get_workflow(store, workflow_id, v2)
    diff = difflib.unified_diff(
        canonical_text(a),
        canonical_text(b),
        fromfile=f"{a.name or workflow_id} v{v1}",
        tofile=f"{b.name or workflow_id} v{v2}",
        lineterm="",
        n=3,
    )
    return "\n".join(diff)
