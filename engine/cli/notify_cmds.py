"""``workbench notifications [list|scan|test]``: notification attempts, one detection pass, a test message.

The service sends notifications by itself (engine/automation/notifier.py); ``scan`` runs one pass
of the same detection from this process (for a setup without the service, e.g. from cron).
"""

from __future__ import annotations

import json
import sys


def _store():
    from engine.store import get_store

    return get_store()


def cmd_list(args) -> int:
    from engine.automation.notifier import attempts

    rows = attempts(_store(), getattr(args, "execution", None), getattr(args, "limit", 50) or 50)
    if getattr(args, "json", False):
        print(json.dumps(rows, default=str))
        return 0
    if not rows:
        print("no notifications recorded", file=sys.stderr)
        return 0
    for r in rows:
        when = f"{r['created_at']:%Y-%m-%d %H:%M:%S}" if r.get("created_at") else "-"
        what = r.get("error") or r.get("detail") or ""
        print(
            f"{when}  {r['status']:<8} #{r['attempt']}  {r['event']:<9} {r['channel']:<14} "
            f"{(r.get('workflow_name') or '')[:30]:<30} {r['execution_id'] or ''}  {r.get('target') or ''}  {what}"
        )
    return 0


def cmd_scan(args) -> int:
    from engine.automation.notifier import Notifier

    n = Notifier(_store())
    try:
        sent = n.scan_once(wait=True)
    finally:
        n.stop()
    print(f"{len(sent)} notification(s) handled", file=sys.stderr)
    return 0


def cmd_test(args) -> int:
    from engine.automation import notify

    settings = notify.load_settings()
    channel, trusted = notify.resolve_channels([args.channel], settings)[0]
    message = notify.build_message({"kind": "step", "message": args.message})
    try:
        detail = notify.send(channel, message, trusted=trusted, settings=settings)
    except (notify.NotifyError, PermissionError) as exc:
        print(f"error: {channel.label}: {exc}", file=sys.stderr)
        return 1
    print(f"{channel.label}: {detail}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("notifications", help="notification attempts (list), one detection pass, a test message")
    p.add_argument("--execution", help="only this run's notifications")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)
    s = p.add_subparsers(dest="notify_command", metavar="ACTION")
    q = s.add_parser("list", help="recorded claims and attempts, newest first (the default)")
    q.add_argument("--execution", help="only this run's notifications")
    q.add_argument("--limit", type=int, default=50)
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_list)
    q = s.add_parser("scan", help="detect failed/waiting/deadline/completed events now and send them (once)")
    q.set_defaults(func=cmd_scan)
    q = s.add_parser("test", help="send a test message on a channel named in data/notifications.toml")
    q.add_argument("channel")
    q.add_argument("--message", default="Test message from the workbench")
    q.set_defaults(func=cmd_test)
