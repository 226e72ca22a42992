"""Sharing workflows with users and groups (issue 13, "Roles and ownership").

A workflow has an owner (the ``owner`` of its versions). Its owner, an admin, or an operator may share it
with a **user** (e-mail / subject, as the user is named in tokens and sign-in) or a **group** (from the
``groups`` OIDC claim, ``[workbench.groups]`` in ``.streamlit/secrets.toml``, or a token's ``--group``),
at one of three levels, each including the one before:

- ``view``: read the workflow, its runs and analytics;
- ``run``: also start, resume and rerun its runs, approve/answer and cancel them;
- ``edit``: also save new versions and manage its schedules and triggers.

A share never lifts a role: a viewer with a ``run`` share still only reads (the role's permissions cap
it). Archiving and sharing stay with the owner (and operators/admins). The group ``*`` means every
signed-in user.

Shares live in the ``workflow_shares`` table (append-only; the view keeps the newest row per
``share_id``, so every share and un-share stays in the raw rows with who and when) and each change is an
``audit_logs`` row (``security.shared`` / ``security.unshared``).
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from engine.auth import NO_OWNER, Permission, Principal, Role, audit
from engine.errors import WorkbenchError

EVERYONE = "*"  # the group of every signed-in user


class ShareLevel(StrEnum):
    """What a share allows; each level includes the ones before it."""

    VIEW = "view"
    RUN = "run"
    EDIT = "edit"

    @classmethod
    def parse(cls, value: str | ShareLevel) -> ShareLevel:
        """The level named ``value``; ValueError listing the levels otherwise."""
        if isinstance(value, ShareLevel):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            raise ValueError(f"unknown share level {value!r}; one of: view, run, edit") from None


LEVEL_PERMISSIONS: dict[ShareLevel, frozenset[Permission]] = {
    ShareLevel.VIEW: frozenset({Permission.READ}),
    ShareLevel.RUN: frozenset({Permission.READ, Permission.EXECUTE, Permission.APPROVE, Permission.CANCEL}),
    ShareLevel.EDIT: frozenset(
        {Permission.READ, Permission.EXECUTE, Permission.APPROVE, Permission.CANCEL, Permission.UPDATE}
    ),
}
KINDS = ("user", "group")


class ShareError(WorkbenchError):
    """A share could not be made, found or removed."""


class ShareDenied(ShareError):
    """The caller may not change the shares of this workflow (the message names ``workflow:share``)."""


def _now():
    from engine import records

    return records.store_time(records.utc_now())


def share_key(workflow_id: str, kind: str, subject: str) -> str:
    """The id of the share of ``workflow_id`` with one user or group (the same for re-shares)."""
    return f"{workflow_id}|{kind}|{subject}"


def _normalise(kind: str, subject: str) -> tuple[str, str]:
    kind = (kind or "").strip().lower()
    if kind not in KINDS:
        raise ShareError(f"share with a user or a group (got {kind!r})")
    subject = (subject or "").strip()
    if not subject:
        raise ShareError(f"give the {kind} to share with")
    return kind, subject.lower() if kind == "user" and "@" in subject else subject


def resolve_workflow(store, ref: str, who: Principal | None = None) -> tuple[str, str]:
    """``(workflow_id, owner)`` of the workflow ``ref`` (id or name); ShareError when there is none. With
    ``who``, a name several workflows share means its own first, among the workflows it may read."""
    from engine import library

    try:
        if who is None:
            meta = library.get_workflow(store, ref, include_archived=True)[1]
        else:
            meta = library.get_workflow(
                store,
                ref,
                include_archived=True,
                among=accessible_workflow_ids(store, who),
                prefer_owner=who.user,
            )[1]
    except library.WorkflowNotFoundError as exc:
        raise ShareError(str(exc)) from None
    return meta["workflow_id"], meta.get("owner") or NO_OWNER


def may_manage(who: Principal, owner: str) -> bool:
    """Whether ``who`` may share/un-share a workflow owned by ``owner``: its owner (analysts and up),
    operators and admins."""
    if who.role in (Role.ADMIN, Role.OPERATOR):
        return True
    return who.role == Role.ANALYST and bool(owner) and owner == who.user


def _require_manage(store, who: Principal, workflow_id: str, owner: str, what: str) -> None:
    if may_manage(who, owner):
        return
    audit(
        store,
        "security.denied",
        f"{who.user} ({who.role.value}) may not {what} workflow {workflow_id} owned by {owner or 'nobody'}: "
        "only its owner, an operator or an admin may",
        actor=who.user,
        level="warning",
        metadata={"permission": "workflow:share", "workflow_id": workflow_id, "owner": owner, "role": who.role.value},
    )
    store.flush()
    raise ShareDenied(
        f"permission denied: {who.user} ({who.role.value}) lacks workflow:share on workflow {workflow_id} "
        f"owned by {owner or 'nobody'} (its owner, an operator or an admin shares it)"
    )


def list_shares(store, workflow_id: str, *, include_removed: bool = False) -> list[dict]:
    """The shares of ``workflow_id`` (current rows; ``include_removed``: un-shared ones too), newest first."""
    rows = store.query("SELECT * FROM workflow_shares WHERE workflow_id = ? ORDER BY updated_at DESC", [workflow_id])
    return [{k: v for k, v in r.items() if k != "seq"} for r in rows if include_removed or r["status"] == "active"]


def share_history(store, workflow_id: str) -> list[dict]:
    """Every share and un-share of ``workflow_id`` (who, when), oldest first: the audit rows."""
    return store.query(
        "SELECT timestamp, event_type, actor, message, metadata FROM audit_logs "
        "WHERE event_type IN ('security.shared', 'security.unshared') "
        "AND json_extract_string(metadata, '$.workflow_id') = ? ORDER BY timestamp",
        [workflow_id],
    )


def share(
    store, who: Principal, workflow: str, *, user: str | None = None, group: str | None = None, level: str = "view"
) -> dict:
    """Share ``workflow`` (id or name) with ``user`` or ``group`` at ``level``; a new level replaces the
    old. ``who`` must own it or be an operator/admin. Returns the share row."""
    if bool(user) == bool(group):
        raise ShareError("share with exactly one of a user or a group")
    kind, subject = _normalise("user" if user else "group", str(user or group))
    lvl = ShareLevel.parse(level)
    wid, owner = resolve_workflow(store, workflow, who)
    _require_manage(store, who, wid, owner, "share")
    now = _now()
    key = share_key(wid, kind, subject)
    old = store.query("SELECT created_at FROM workflow_shares WHERE share_id = ?", [key])
    row = {
        "share_id": key,
        "workflow_id": wid,
        "subject_kind": kind,
        "subject": subject,
        "level": lvl.value,
        "status": "active",
        "shared_by": who.user,
        "created_at": old[0]["created_at"] if old else now,
        "updated_at": now,
    }
    store.append("workflow_shares", row)
    audit(
        store,
        "security.shared",
        f"workflow {wid} shared with {kind} {subject} ({lvl.value}) by {who.user}",
        actor=who.user,
        metadata={"workflow_id": wid, "kind": kind, "subject": subject, "level": lvl.value, "id": uuid.uuid4().hex},
    )
    store.flush()
    return row


def unshare(store, who: Principal, workflow: str, *, user: str | None = None, group: str | None = None) -> dict:
    """Remove the share of ``workflow`` with ``user`` or ``group`` (ShareError when there is none)."""
    if bool(user) == bool(group):
        raise ShareError("un-share exactly one of a user or a group")
    kind, subject = _normalise("user" if user else "group", str(user or group))
    wid, owner = resolve_workflow(store, workflow, who)
    _require_manage(store, who, wid, owner, "un-share")
    key = share_key(wid, kind, subject)
    rows = store.query("SELECT * FROM workflow_shares WHERE share_id = ? AND status = 'active'", [key])
    if not rows:
        raise ShareError(f"workflow {wid} is not shared with {kind} {subject}")
    row = {k: v for k, v in rows[0].items() if k != "seq"}
    row.update(status="removed", shared_by=who.user, updated_at=_now())
    store.append("workflow_shares", row)
    audit(
        store,
        "security.unshared",
        f"workflow {wid} no longer shared with {kind} {subject} (was {row['level']}); by {who.user}",
        actor=who.user,
        metadata={"workflow_id": wid, "kind": kind, "subject": subject, "level": row["level"]},
    )
    store.flush()
    return row


def _subjects(who: Principal) -> tuple[list[str], list[str]]:
    users = [who.user, who.user.lower()]
    return users, [*who.groups, EVERYONE]


def shared_permissions(store, who: Principal, workflow_id: str | None) -> frozenset[Permission]:
    """The permissions the shares of ``workflow_id`` give ``who`` (through its user or its groups)."""
    if not workflow_id:
        return frozenset()
    users, groups = _subjects(who)
    rows = store.query(
        "SELECT level FROM workflow_shares WHERE workflow_id = ? AND status = 'active' AND "
        "((subject_kind = 'user' AND subject IN (SELECT unnest(?))) OR "
        "(subject_kind = 'group' AND subject IN (SELECT unnest(?))))",
        [workflow_id, users, groups or [""]],
    )
    out: frozenset[Permission] = frozenset()
    for r in rows:
        out |= LEVEL_PERMISSIONS.get(ShareLevel(r["level"]), frozenset())
    return out


def accessible_workflow_ids(store, who: Principal) -> set[str] | None:
    """Ids of the workflows ``who`` may read (owned or shared); None: every workflow (operators, admins)."""
    if who.role in (Role.OPERATOR, Role.ADMIN):
        return None
    users, groups = _subjects(who)
    owned = store.query("SELECT DISTINCT workflow_id FROM workflows WHERE owner IN (SELECT unnest(?))", [users])
    shared = store.query(
        "SELECT DISTINCT workflow_id FROM workflow_shares WHERE status = 'active' AND "
        "((subject_kind = 'user' AND subject IN (SELECT unnest(?))) OR "
        "(subject_kind = 'group' AND subject IN (SELECT unnest(?))))",
        [users, groups or [""]],
    )
    return {r["workflow_id"] for r in owned} | {r["workflow_id"] for r in shared}


def filter_accessible(store, who: Principal | None, rows: list[dict], key: str = "workflow_id") -> list[dict]:
    """``rows`` (each with a workflow id under ``key``) that ``who`` may read; all of them for None."""
    if who is None:
        return rows
    ids = accessible_workflow_ids(store, who)
    return rows if ids is None else [r for r in rows if r.get(key) in ids]
