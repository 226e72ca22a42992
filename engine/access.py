"""Who may do one action on a workflow or run: the role (engine/auth.py), ownership, the workflow's
shares (engine/sharing.py) and the rate limits, checked in one place for the app and the service.

Kept apart from engine/auth.py so that auth (roles, tokens, audit) and sharing (which builds on auth's
types) import each other in one direction only."""

from __future__ import annotations

from engine import library, sharing
from engine.auth import (
    LOCAL_ADMIN,
    NO_OWNER,
    READ_SCOPED_ROLES,
    Permission,
    PermissionDenied,
    Principal,
    RateLimiter,
    audit,
    execution_owner,
    execution_workflow_id,
    rate_limit_message,
    workflow_owner,
)
from engine.identity import login_user


def shares_for(
    store, who: Principal, *, workflow_id: str | None = None, execution_id: str | None = None
) -> frozenset[Permission]:
    """What the shares of the workflow (or of the run's workflow) give ``who`` (engine/sharing.py)."""
    if workflow_id is None and execution_id is not None:
        workflow_id = execution_workflow_id(store, execution_id)
    if not workflow_id:
        return frozenset()
    try:
        workflow_id = library.get_workflow(store, workflow_id, include_archived=True)[1]["workflow_id"]
    except (library.WorkflowNotFoundError, KeyError, TypeError):
        return frozenset()
    return sharing.shared_permissions(store, who, workflow_id)


def readable_workflow_ids(store, who: Principal) -> set[str] | None:
    """Ids of the workflows ``who`` may read (owned or shared); None: every workflow (operators, admins)."""
    if who.role not in READ_SCOPED_ROLES:
        return None
    return sharing.accessible_workflow_ids(store, who)


def may_update_workflow(store, who: Principal, workflow_id: str, owner: str | None = None) -> bool:
    """Whether ``who`` may save versions into the workflow ``workflow_id``: ``workflow:update`` by its role
    and ownership (analysts: their own), or through an ``edit`` share."""
    owner = workflow_owner(store, workflow_id) if owner is None else owner
    if who.can(Permission.UPDATE, owner=owner):
        return True
    return who.can(Permission.UPDATE, owner=owner, shared=sharing.shared_permissions(store, who, workflow_id))


def owner_of_new(who: Principal) -> str | None:
    """Who owns a workflow ``who`` creates: its user; None (``WORKBENCH_USER`` or the OS user, as for any
    save by this process) for the local admin of local mode."""
    return None if who == LOCAL_ADMIN else who.user


def ensure_version_for(
    store, who: Principal, spec, *, make_default: bool = False, new_note: str = "", changed_note: str = ""
) -> tuple[str, int]:
    """``(workflow_id, version)`` holding exactly ``spec`` for a run (or save) of a definition by ``who``.

    The name means a workflow ``who`` may write into (``library.ensure_saved``): its own of that name
    first, else one it may update (an ``edit`` share; operators and admins: any); a workflow of that name
    it may not update (someone else's, even one shared with it to view or run) is never written into nor
    used: ``who`` gets a workflow of its own with that name. New versions keep their workflow's owner."""
    from engine import api

    owner = owner_of_new(who) or login_user()

    def may_write(row: dict) -> bool:
        return may_update_workflow(store, who, row["workflow_id"], row.get("owner") or NO_OWNER)

    scoped = not who.can(Permission.UPDATE, owner=NO_OWNER)  # analysts: it depends on owners and shares
    if make_default:
        return library.ensure_saved(
            store,
            spec,
            new_note=new_note,
            changed_note=changed_note,
            make_default=True,
            owner=owner,
            may_write=may_write if scoped else None,
        )
    return api.ensure_version(spec, store, owner=owner, may_write=may_write if scoped else None)


def workflow_for(store, who: Principal | None, ref: str, version: int | None = None, *, include_archived: bool = False):
    """``library.get_workflow`` on behalf of ``who``: a name looks only at the workflows ``who`` may read
    and means its own first (None: the library's rule, the most recently changed)."""
    if who is None:
        return library.get_workflow(store, ref, version, include_archived=include_archived)
    return library.get_workflow(
        store,
        ref,
        version,
        include_archived=include_archived,
        among=readable_workflow_ids(store, who),
        prefer_owner=owner_of_new(who) or login_user(),
    )


def may_read_workflow(store, who: Principal, workflow_id: str, owner: str | None = None) -> bool:
    """Whether ``who`` may read the workflow ``workflow_id`` (its owner, a share, or a role reading all)."""
    if who.role not in READ_SCOPED_ROLES:
        return True
    owner = workflow_owner(store, workflow_id) if owner is None else owner
    return who.can(Permission.READ, owner=owner) or Permission.READ in sharing.shared_permissions(
        store, who, workflow_id
    )


def may_read_execution(store, who: Principal, execution_id: str) -> bool:
    """Whether ``who`` may read the run ``execution_id``: who started it, or a reader of its workflow."""
    if who.role not in READ_SCOPED_ROLES:
        return True
    if who.can(Permission.READ, owner=execution_owner(store, execution_id)):
        return True
    workflow_id = execution_workflow_id(store, execution_id)
    return workflow_id is not None and may_read_workflow(store, who, workflow_id)


def readable_rows(store, who: Principal, rows: list[dict], key: str = "workflow_id") -> list[dict]:
    """``rows`` (each naming a workflow id under ``key``) of the workflows ``who`` may read."""
    ids = readable_workflow_ids(store, who)
    return rows if ids is None else [r for r in rows if r.get(key) in ids]


def readable_execution_rows(store, who: Principal, rows: list[dict], key: str = "execution_id") -> list[dict]:
    """``rows`` (each naming a run under ``key``) of the runs ``who`` may read: runs of a workflow it reads
    (by the row's ``workflow_id`` when it has one), and runs it started itself."""
    ids = readable_workflow_ids(store, who)
    if ids is None:
        return rows
    seen: dict[str, bool] = {}
    out = []
    for r in rows:
        eid = r.get(key)
        if r.get("workflow_id") in ids:
            out.append(r)
            continue
        if eid and eid not in seen:
            seen[eid] = may_read_execution(store, who, eid)
        if eid and seen[eid]:
            out.append(r)
    return out


def check_action(
    store,
    who: Principal,
    permission: Permission | str,
    *,
    workflow_id: str | None = None,
    execution_id: str | None = None,
    limiter: RateLimiter | None = None,
    rate_kind: str | None = None,
    action: str | None = None,
    surface: str = "app",
) -> str | None:
    """Check one action of ``who`` on a workflow or run: role, ownership (analysts act on their own only),
    shares of the workflow (engine/sharing.py), then the rate limit of ``rate_kind``. Returns None when allowed (and, with ``action``, records
    ``<surface>.<action>`` in ``audit_logs`` with ``who`` as actor), else the refusal message, which names
    the missing permission or the limit; refusals are recorded as ``security.denied`` / ``security.rate_limited``."""
    permission = Permission(permission)
    owner: str | None = None
    if execution_id is not None:
        owner = execution_owner(store, execution_id)
    elif workflow_id is not None:
        owner = workflow_owner(store, workflow_id)
    meta = {"permission": permission.value, "role": who.role.value, "owner": owner, "surface": surface}
    if not who.can(permission, owner=owner) and not who.can(
        permission, owner=owner, shared=shares_for(store, who, workflow_id=workflow_id, execution_id=execution_id)
    ):
        denied = PermissionDenied(permission, user=who.user, role=who.role, owner=owner)
        audit(
            store,
            "security.denied",
            f"{denied} ({surface}: {action or permission.value})",
            actor=who.user,
            level="warning",
            execution_id=execution_id,
            metadata=meta | {"workflow_id": workflow_id},
        )
        return str(denied)
    if limiter is not None and rate_kind is not None and who != LOCAL_ADMIN:
        wait = limiter.check(who.user, rate_kind)
        if wait is not None:
            calls, window = limiter.limits[rate_kind]  # type: ignore[misc]
            message = rate_limit_message(rate_kind, who.user, calls, window, wait)
            audit(store, "security.rate_limited", message, actor=who.user, level="warning", metadata=meta)
            return message
    if action is not None:
        audit(
            store,
            f"{surface}.{action}",
            f"{action} by {who.user} ({who.role.value})",
            actor=who.user,
            execution_id=execution_id,
            metadata=meta | {"workflow_id": workflow_id},
        )
    return None
