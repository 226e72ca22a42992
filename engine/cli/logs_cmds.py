"""``workbench logs RUN [--state S]``: what each attempt of a run's states printed (stdout/stderr)."""

from __future__ import annotations

import json
import sys


def cmd_logs(args) -> int:
    """Print the captured output of a run's attempts, oldest first (optionally of one state)."""
    from engine.cli.serve_cmds import use_service

    entries = _from_service(args) if use_service() else _from_store(args)
    if args.json:
        print(json.dumps(entries, default=str))
        return 0
    if not entries:
        where = f" by state '{args.state}'" if args.state else ""
        print(f"no output was recorded{where} in run {args.execution_id}", file=sys.stderr)
        return 0
    for e in entries:
        token = "" if e["token"] in (None, "0") else f" [branch {e['token']}]"
        print(
            f"── {e['state']} · attempt {e['attempt']}{token} · {e['status']} on {e['executed_on']} · {e['timestamp']}"
        )
        text = e["text"] or ""
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _from_store(args) -> list[dict]:
    from engine import records
    from engine.errors import WorkbenchError
    from engine.store import get_store

    store = get_store()
    if records.execution(store, args.execution_id) is None:
        raise WorkbenchError(f"there is no run {args.execution_id}")
    return records.step_logs(store, args.execution_id, state=args.state)


def _from_service(args) -> list[dict]:
    """Through the service that holds the store (WORKBENCH_SERVER, or the one ``make run`` started)."""
    from engine.client import WorkbenchClient

    with WorkbenchClient(timeout=60) as c:  # a refusal raises ServiceError (a WorkbenchError: exit 1)
        return c.logs(args.execution_id, state=args.state)


def register(sub) -> None:
    p = sub.add_parser(
        "logs",
        help="what a run's states printed (stdout/stderr of each attempt)",
        description="Print the output (stdout and stderr) each attempt of a run's states wrote, oldest first: "
        "the last 64 K characters per attempt, secrets redacted.",
    )
    p.add_argument("execution_id", metavar="RUN")
    p.add_argument("--state", help="only this state's attempts")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.set_defaults(func=cmd_logs)
