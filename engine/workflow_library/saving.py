"""Saving versions: a new version of a spec (``save_workflow``) and the one-step look-up-or-save a run
of a definition uses (``ensure_saved``), both under one store-wide lock so version numbers never clash."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from engine.dsl.graph import to_graph
from engine.errors import DSLError
from engine.store import Store
from engine.workflow_file import WorkflowSpec
from engine.workflow_library.base import (
    STATUSES,
    LibraryError,
    _changed,
    _current,
    _now,
    _owner,
    _spec_json,
    _stored_spec_json,
    _versions,
    slugify,
)
from engine.workflow_library.names import workflow_for_name

_VERSIONS_LOCK = "library-versions"  # Store.exclusive() lock around look-ups and saves of versions


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
