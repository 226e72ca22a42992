"""``workbench share|unshare``: share workflows with users and groups (engine/sharing.py).

Like ``workbench token``, these write the store of ``WORKBENCH_DB`` directly: whoever can write that store
is trusted as its administrator, so the command acts as an admin named by ``WORKBENCH_USER`` (or the login).
"""

from __future__ import annotations

import json
import sys


def _store():
    from engine.store import get_store

    return get_store()


def _me():
    from engine.auth import Principal, Role
    from engine.identity import login_user

    return Principal(user=login_user(), role=Role.ADMIN)


def _one_subject(args, verb: str) -> bool:
    if bool(args.user) == bool(args.group):
        print(f"workbench {verb}: give exactly one of --user U or --group G", file=sys.stderr)
        return False
    return True


def cmd_share(args) -> int:
    """``share WORKFLOW --user U|--group G --level L`` or ``share list WORKFLOW``."""
    from engine import sharing

    target = list(args.target)
    if target[0] == "list" and len(target) == 2:
        return _list(target[1], args)
    if len(target) != 1:
        print("usage: workbench share WORKFLOW --user U|--group G --level view|run|edit, or share list WORKFLOW")
        return 2
    if not _one_subject(args, "share"):
        return 2
    row = sharing.share(_store(), _me(), target[0], user=args.user, group=args.group, level=args.level)
    if args.json:
        print(json.dumps(row, default=str))
    else:
        print(f"shared {row['workflow_id']} with {row['subject_kind']} {row['subject']} ({row['level']})")
    return 0


def _list(workflow: str, args) -> int:
    from engine import sharing

    store = _store()
    wid, owner = sharing.resolve_workflow(store, workflow)
    rows = sharing.list_shares(store, wid, include_removed=args.all)
    if args.json:
        print(json.dumps({"workflow_id": wid, "owner": owner, "shares": rows}, default=str))
        return 0
    print(f"{wid}: owner {owner or '(none)'}")
    if not rows:
        print("not shared with anyone" + ("" if args.all else " (--all shows removed shares)"))
    for r in rows:
        print(
            f"  {r['subject_kind']:<6} {r['subject']:<28} {r['level']:<5} {r['status']:<8} "
            f"by {r['shared_by']} at {r['updated_at']:%Y-%m-%d %H:%M}"
        )
    return 0


def cmd_unshare(args) -> int:
    """``unshare WORKFLOW --user U|--group G``."""
    from engine import sharing

    if not _one_subject(args, "unshare"):
        return 2
    row = sharing.unshare(_store(), _me(), args.workflow, user=args.user, group=args.group)
    print(f"{row['workflow_id']} is no longer shared with {row['subject_kind']} {row['subject']}")
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "share",
        help="share a workflow with a user or group (view: read; run: run/approve/cancel; edit: also save), "
        "or 'share list WORKFLOW'",
    )
    p.add_argument("target", nargs="+", metavar="WORKFLOW", help="the workflow (id or name), or: list WORKFLOW")
    p.add_argument("--user", help="the user (e-mail or subject, as in sign-in and tokens)")
    p.add_argument("--group", help="the group (OIDC groups claim, [workbench.groups], a token's --group; * = everyone)")
    p.add_argument("--level", choices=["view", "run", "edit"], default="view")
    p.add_argument("--all", action="store_true", help="list: removed shares too")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_share)
    u = sub.add_parser("unshare", help="stop sharing a workflow with a user or group")
    u.add_argument("workflow", help="the workflow (id or name)")
    u.add_argument("--user")
    u.add_argument("--group")
    u.set_defaults(func=cmd_unshare)
