"""``workbench token create|list|revoke``: API tokens of the service (engine/auth.py).

Tokens are written to the store of ``WORKBENCH_DB`` directly: whoever can write that store is trusted
as its administrator. The secret is printed once (stdout) and only its SHA-256 is kept.
"""

from __future__ import annotations

import json
import sys

from engine.identity import login_user


def _store():
    from engine.store import get_store

    return get_store()


def cmd_create(args) -> int:
    from engine import auth

    user = args.user or args.name or login_user()
    secret, row = auth.create_token(
        _store(), args.role, user=user, name=args.name, expires=args.expires, created_by=login_user(), groups=args.group
    )
    if args.save is not None:
        path = auth.write_token_file(auth.default_token_file() if args.save == "" else _path(args.save), secret)
        print(
            f"saved to {path} (mode 600): the CLI, client and app use it when WORKBENCH_TOKEN is not set",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps({**row, "token": secret}, default=str))
    else:
        print(secret)
        until = f", expires {row['expires_at']:%Y-%m-%d %H:%M} UTC" if row["expires_at"] else ""
        print(
            f"token {row['token_id']} for {row['user_name']} as {row['role']}{until}. It is shown only "
            "this once: keep it in WORKBENCH_TOKEN or ~/.config/workbench/token (chmod 600)",
            file=sys.stderr,
        )
    return 0


def _path(text: str):
    from pathlib import Path

    return Path(text).expanduser()


def cmd_list(args) -> int:
    from engine import auth

    rows = auth.list_tokens(_store(), include_revoked=args.all)
    if args.json:
        print(json.dumps(rows, default=str))
        return 0
    if not rows:
        print("no tokens" + ("" if args.all else " (active); --all shows revoked ones"))
        return 0
    print(f"{'ID':<13} {'NAME':<16} {'USER':<14} {'ROLE':<9} {'STATUS':<8} {'CREATED':<17} EXPIRES")
    for r in rows:
        status = "expired" if r["status"] == "active" and r["expired"] else r["status"]
        exp = f"{r['expires_at']:%Y-%m-%d %H:%M}" if r["expires_at"] else "never"
        print(
            f"{r['token_id']:<13} {str(r['name'])[:16]:<16} {str(r['user_name'])[:14]:<14} {r['role']:<9} "
            f"{status:<8} {r['created_at']:%Y-%m-%d %H:%M} {exp}"
        )
    return 0


def cmd_revoke(args) -> int:
    from engine import auth

    row = auth.revoke_token(_store(), args.token_id, by=login_user())
    print(f"revoked token {row['token_id']} ({row['name']}, {row['user_name']})")
    return 0


def cmd_token(args) -> int:
    """Dispatch ``workbench token create|list|revoke``."""
    if args.action == "create":
        if not args.role:
            print("workbench token create: --role is required (viewer, analyst, operator, admin)", file=sys.stderr)
            return 2
        return cmd_create(args)
    if args.action == "list":
        return cmd_list(args)
    if not args.token_id:
        print("workbench token revoke: give the token's id (or a unique prefix, or its name)", file=sys.stderr)
        return 2
    return cmd_revoke(args)


def register(sub) -> None:
    from engine.auth import Role

    p = sub.add_parser(
        "token",
        help="API tokens of the service: create (printed once; only its hash is stored), list (never secrets), revoke",
    )
    p.add_argument("action", choices=["create", "list", "revoke"])
    p.add_argument("token_id", nargs="?", help="revoke: the token's id, a unique id prefix, or its name")
    p.add_argument(
        "--role",
        choices=[r.value for r in Role],
        help="create: viewer: read; analyst: create, run and answer own workflows; operator: run, "
        "approve, cancel any; admin: everything",
    )
    p.add_argument("--name", help="create: a label (default: the user)")
    p.add_argument("--user", help="create: the user the token acts as (default: --name, else your login)")
    p.add_argument("--expires", help="create: lifetime 30d, 12h, 45m, 2w (default: never)")
    p.add_argument(
        "--save",
        nargs="?",
        const="",
        default=None,
        metavar="PATH",
        help="create: also write it to a user-only file (default ~/.config/workbench/token)",
    )
    p.add_argument(
        "--group",
        action="append",
        default=[],
        help="create: a group the token's user belongs to, for workflow shares (repeat for several)",
    )
    p.add_argument("--all", action="store_true", help="list: revoked tokens too")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_token)
