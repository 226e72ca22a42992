"""``workbench schedule add|list|pause|resume|remove`` and ``workbench trigger list|add|pause|resume|remove``.

``schedule`` goes to the service when one is in use (``WORKBENCH_SERVER``, or a service on this store
at the default address: the API's role checks apply with the caller's token), else it acts on the
store of ``WORKBENCH_DB``. ``trigger`` acts on the store (like ``workbench token``). A running service
picks changes up on its next tick (engine/automation/loop.py). See docs/automation.md.
"""

from __future__ import annotations

import json
import sys

from engine.identity import login_user


def _store():
    from engine.store import get_store

    return get_store()


def _context(text: str | None) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise SystemExit(f"workbench: --context is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise SystemExit("workbench: --context must be a JSON object")
    return value


def _show(rows: list[dict], as_json: bool) -> None:
    if as_json:
        print(json.dumps(rows, default=str))
        return
    if not rows:
        print("no schedules")
        return
    print(f"{'SCHEDULE':<36} {'WHEN':<24} {'ZONE':<16} {'ON':<4} {'SOURCE':<6} NEXT (UTC)")
    for r in rows:
        d = r["definition"]
        when = d.get("cron") or f"every {d.get('every')}"
        nxt = r["next_fires"][0] if r["next_fires"] else "-"
        on = "yes" if r["enabled"] else "no"
        print(f"{r['schedule_id']:<36} {when:<24} {d.get('timezone', 'UTC'):<16} {on:<4} {r['source']:<6} {nxt}")


def _remote_schedule(args, definition: dict | None) -> int:
    """``workbench schedule`` against the service (``WORKBENCH_SERVER``), with the caller's API token."""
    from urllib.parse import quote

    from engine.client import WorkbenchClient

    with WorkbenchClient(timeout=60) as c:
        if args.action == "list":
            params = {"workflow": args.target or args.workflow} if (args.target or args.workflow) else None
            _show(c._request("GET", "/api/v1/schedules", params=params)["schedules"], args.json)
            return 0
        if args.action == "add":
            body = dict(definition or {}, version=args.version)
            _show(
                [c._request("POST", f"/api/v1/workflows/{quote(args.target, safe='')}/schedules", json_body=body)],
                args.json,
            )
            return 0
        sid = quote(args.target, safe=":")
        if args.action in ("pause", "resume"):
            _show([c._request("POST", f"/api/v1/schedules/{sid}/{args.action}")], args.json)
            return 0
        c._request("DELETE", f"/api/v1/schedules/{sid}")
        print(f"removed schedule {args.target}")
        return 0


def _definition(args) -> dict:
    definition = {
        "id": args.id,
        "cron": args.cron,
        "every": args.every,
        "timezone": args.timezone,
        "context": _context(args.context),
        "catchup": args.catchup,
        "overlap": args.overlap,
        "priority": args.priority,
        "enabled": not args.paused,
    }
    return {k: v for k, v in definition.items() if v is not None}


def cmd_schedule(args) -> int:
    """Dispatch ``workbench schedule`` (to the service when one is in use, see ``use_service``)."""
    from engine.automation import schedules
    from engine.cli.serve_cmds import use_service

    if args.action == "add" and args.target and bool(args.cron) == bool(args.every):
        print("workbench schedule add: give --cron or --every (one of them)", file=sys.stderr)
        return 2
    if use_service():
        if args.action != "list" and not args.target:
            print(f"workbench schedule {args.action}: give the workflow or schedule id", file=sys.stderr)
            return 2
        return _remote_schedule(args, _definition(args) if args.action == "add" else None)
    store = _store()
    if args.action == "list":
        wid = None
        if args.target or args.workflow:
            from engine import library

            wid = library.get_workflow(store, args.target or args.workflow)[1]["workflow_id"]
        _show(schedules.list_schedules(store, wid), args.json)
        return 0
    if not args.target:
        print(
            f"workbench schedule {args.action}: give the {'workflow' if args.action == 'add' else 'schedule id'}",
            file=sys.stderr,
        )
        return 2
    if args.action == "add":
        row = schedules.add_schedule(
            store, args.target, _definition(args), version=args.version, by=login_user(), source="cli"
        )
        _show([row], args.json)
        return 0
    if args.action in ("pause", "resume"):
        row = schedules.set_enabled(store, args.target, args.action == "resume", by=login_user())
        _show([row], args.json)
        return 0
    schedules.remove_schedule(store, args.target, by=login_user())
    print(f"removed schedule {args.target}")
    return 0


def cmd_trigger(args) -> int:
    """Dispatch ``workbench trigger``."""
    from engine.automation import triggers

    store = _store()
    if args.action == "list":
        rows = [{k: v for k, v in r.items() if k != "token_hash"} for r in triggers.trigger_rows(store)]
        if args.json:
            print(json.dumps(rows, default=str))
        for r in [] if args.json else rows:
            d = r["definition"]
            what = f"{d.get('folder')}/{d.get('glob')}" if r["kind"] == "file" else f"auth={d.get('auth')}"
            print(f"{r['trigger_id']:<36} {r['kind']:<8} {'on' if r['enabled'] else 'off':<4} {what}")
        if not rows and not args.json:
            print("no triggers")
        return 0
    if not args.target:
        print(
            f"workbench trigger {args.action}: give the {'workflow' if args.action.startswith('add') else 'trigger id'}",
            file=sys.stderr,
        )
        return 2
    if args.action == "add-webhook":
        row, token = triggers.add_webhook(
            store, args.target, args.id or "hook", auth=args.auth, secret=args.secret, context=_context(args.context)
        )
        print(
            f"webhook {row['trigger_id']}: POST /api/v1/hooks/{row['workflow_id']}/{row['definition']['id']}",
            file=sys.stderr,
        )
        if token:
            print(token)
            print("the token is shown only this once (only its SHA-256 is stored)", file=sys.stderr)
        return 0
    if args.action == "add-file":
        if not args.folder:
            print("workbench trigger add-file: --folder is required", file=sys.stderr)
            return 2
        row = triggers.add_file_trigger(
            store, args.target, args.id or "files", args.folder, args.glob, context=_context(args.context)
        )
        print(f"file trigger {row['trigger_id']} watches {args.folder}/{args.glob}")
        return 0
    if args.action in ("pause", "resume"):
        triggers.set_trigger_enabled(store, args.target, args.action == "resume")
        print(f"{args.action}d trigger {args.target}")
        return 0
    triggers.remove_trigger(store, args.target)
    print(f"removed trigger {args.target}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("schedule", help="schedules of saved workflows: add, list, pause, resume, remove")
    p.add_argument("action", choices=["add", "list", "pause", "resume", "remove"])
    p.add_argument("target", nargs="?", help="add: the workflow (id or name); pause/resume/remove: the schedule id")
    p.add_argument("--workflow", help="list: only this workflow's schedules")
    p.add_argument("--cron", help='add: 5 fields ("0 7 * * 1-5") or 6 with the seconds first')
    p.add_argument("--every", help="add: an interval instead of cron: 30s, 15m, 1h30m, 1d")
    p.add_argument("--timezone", default="UTC", help="add: IANA zone of the cron fields (default UTC)")
    p.add_argument("--context", help="add: the runs' initial context as a JSON object")
    p.add_argument("--catchup", choices=["skip", "run_once"], default="skip", help="add: after downtime")
    p.add_argument(
        "--overlap", choices=["allow", "skip"], default="allow", help="add: skip = no new run while the last is live"
    )
    p.add_argument("--priority", type=int, default=0, help="add: run-queue priority")
    p.add_argument("--id", help="add: the schedule's short id (default: cli-<random>)")
    p.add_argument("--version", type=int, help="add: pin a workflow version (default: the current one)")
    p.add_argument("--paused", action="store_true", help="add: start paused")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_schedule)

    t = sub.add_parser("trigger", help="webhook and file triggers of saved workflows")
    t.add_argument("action", choices=["list", "add-webhook", "add-file", "pause", "resume", "remove"])
    t.add_argument("target", nargs="?", help="add-*: the workflow (id or name); pause/resume/remove: the trigger id")
    t.add_argument("--id", help="add-*: the trigger's short id (the webhook URL's last part)")
    t.add_argument("--auth", choices=["token", "hmac"], default="token", help="add-webhook (default token)")
    t.add_argument("--secret", help="add-webhook: {secret:NAME} reference (hmac; token: default a new token)")
    t.add_argument("--folder", help="add-file: the watched folder (inside the allowed data folders)")
    t.add_argument("--glob", default="*", help="add-file: file pattern in the folder (default *)")
    t.add_argument("--context", help="add-*: fixed initial context as a JSON object")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=cmd_trigger)
