"""``workbench serve``: the workbench as a service (FastAPI on uvicorn) that drives runs on its own."""

from __future__ import annotations

import os
import sys

from engine.schema import TIMER_REQUEST


def cmd_serve(args) -> int:
    import uvicorn

    from engine.service import create_app, logs

    if args.log_level:
        os.environ["WORKBENCH_LOG_LEVEL"] = args.log_level
    logs.configure(args.log_format)
    mode, problem = auth_mode_for(args.host, "local" if args.local else args.auth)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    app = create_app(connect_ray=not args.no_ray, max_runs=args.max_runs, auth_mode=mode)
    print(
        f"workbench service on http://{args.host}:{args.port} (API /api/v1, docs /docs, metrics /metrics; "
        f"auth: {_describe(mode)})",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        log_level=logs.log_level(),
        timeout_graceful_shutdown=5,
    )
    return 0


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def auth_mode_for(host: str, wanted: str | None) -> tuple[str, str | None]:
    """The auth mode to serve ``host`` with, and why it may not start (None: it may).

    Local mode (no token: every caller is the local admin) is only for loopback. Beyond loopback the
    service requires tokens, and refuses to start while the store holds none (nobody could call it)."""
    from engine import auth
    from engine.service.auth import mode_from_env

    mode = wanted or mode_from_env()
    if is_loopback(host):
        return mode, None
    if mode == "local":
        return mode, (
            f"local mode (no tokens) is only for 127.0.0.1; serving on {host} requires API tokens "
            "(drop --local / WORKBENCH_AUTH=local)"
        )
    from engine.store import get_store

    if auth.active_token_count(get_store()) == 0:
        return "required", (
            f"serving on {host} requires API tokens and the store has none: create one first "
            "with `workbench token create --role admin --name you`, then start again"
        )
    return "required", None


def _describe(mode: str) -> str:
    return {
        "local": "local mode, every caller is the local admin",
        "required": "API token required",
        "auto": "local mode while no token exists, tokens required once one does",
    }[mode]


def register(sub) -> None:
    p = sub.add_parser("serve", help="serve the REST API (/api/v1) and drive runs in this process")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--log-format",
        choices=["json", "text"],
        default="json",
        help="json: one object per line on stderr (default); text: for people",
    )
    p.add_argument("--log-level", help="debug|info|warning|error (default: WORKBENCH_LOG_LEVEL or info)")
    p.add_argument(
        "--no-ray",
        action="store_true",
        help="do not connect Ray at start-up (it connects on the first run that needs it)",
    )
    p.add_argument(
        "--auth",
        choices=["auto", "required", "local"],
        default=None,
        help="auto (default; WORKBENCH_AUTH): on 127.0.0.1 callers without a token are the local admin "
        "until a token exists; required: every /api/v1 route and /metrics needs a token; local: "
        "single-user local mode (loopback only). Beyond loopback tokens are always required",
    )
    p.add_argument("--local", action="store_true", help="same as --auth local")
    p.add_argument(
        "--max-runs",
        type=int,
        default=None,
        metavar="N",
        help="runs driven at once; more wait as 'queued' (default: WORKBENCH_MAX_RUNS, else no limit)",
    )
    p.set_defaults(func=cmd_serve)


# --------------------------------------------------------------------------------------------------
# run | cancel | approve | answer | history | show through the service (when WORKBENCH_SERVER is set)


def use_service() -> bool:
    """True when those commands go to a service instead of running in this process: ``WORKBENCH_SERVER``
    is set, or (``WORKBENCH_SERVER`` unset) a service answers at the default address and records into
    the same store as this process would (``/health``'s ``store_id``), as under ``make run``.
    ``WORKBENCH_SERVER=local`` forces in-process."""
    setting = os.environ.get("WORKBENCH_SERVER", "").strip()
    if setting:
        return setting.lower() != "local"
    from engine.client import DEFAULT_SERVER, service_for_this_store

    return service_for_this_store(DEFAULT_SERVER) is not None


def _client():
    from engine.client import WorkbenchClient

    return WorkbenchClient(timeout=60)


def _execution_options(args) -> dict:
    out = {"execution": getattr(args, "execution", None) or "auto"}
    if getattr(args, "timeout", None):
        out["timeout_seconds"] = args.timeout
    if getattr(args, "max_steps", None):
        out["max_steps"] = args.max_steps
    if getattr(args, "no_ai", False):
        out["enable_ai_decisions"] = False
    if getattr(args, "no_recovery", False):
        out["enable_auto_recovery"] = False
    return out


def _print_event(ev: dict) -> None:
    kind = ev["type"]
    if kind in ("state_finished", "state_failed"):
        arrow = f" -> {ev['to_state']}" if ev.get("to_state") else ""
        where = f" [{ev['executed_on']}]" if ev.get("executed_on") not in (None, "inline") else ""
        dur = ev.get("duration_ms")
        dur_s = f" {dur:.0f} ms" if isinstance(dur, (int, float)) else ""
        attempt = f" (attempt {ev['attempt']})" if (ev.get("attempt") or 1) > 1 else ""
        err = f": {ev['error']}" if ev.get("error") and ev.get("status") != "completed" else ""
        print(
            f"  {ev.get('status', ''):<9} {ev['state']}{arrow}{where}{dur_s}{attempt}{err}", file=sys.stderr, flush=True
        )
    elif kind == "recovery_action":
        print(
            f"  recovery  {ev.get('state')}: {ev.get('strategy')} ({ev.get('chosen_by')})", file=sys.stderr, flush=True
        )


def _follow(client, execution_id: str, as_json: bool, quiet: bool) -> int:
    """Print the run's progress until it ends, waits for a person or waits for a timer of more than a
    minute; exit code like a local run."""
    import json

    ex = client.wait(execution_id, until_waiting=True, on_event=None if (quiet or as_json) else _print_event)
    from engine.workbench.run_state import outcome

    ex["outcome"] = outcome(client.history(execution_id)["transitions"], ex)  # what the app shows
    if as_json:
        keys = (
            "execution_id",
            "status",
            "states_visited",
            "final_context",
            "duration_ms",
            "error_count",
            "retry_count",
            "error_message",
            "waiting_for",
            "workflow_id",
            "version",
            "outcome",
        )
        print(json.dumps({k: ex.get(k) for k in keys}, default=str))
    else:
        shown = f" (outcome: {ex['outcome']})" if ex["outcome"] else ""
        print(
            f"{ex['status']}{shown}: execution {execution_id}"
            + (f" in {ex['duration_ms']} ms" if ex.get("duration_ms") is not None else "")
            + " "
            f"({len(ex.get('states_visited') or [])} states, {ex.get('error_count') or 0} errors, "
            f"{ex.get('retry_count') or 0} retries) on {client.base_url}"
        )
        if ex.get("error_message"):
            print(f"  error: {ex['error_message']}")
    if ex["status"] == "waiting":
        for r in ex.get("open_requests") or []:
            if r["kind"] == TIMER_REQUEST:  # a wait state: nobody is asked
                print(
                    f"waiting at '{r['state']}': {r['prompt']}\n  the service goes on when the wait is over; to go "
                    f"on now: WORKBENCH_SERVER={client.base_url} workbench answer {execution_id} {r['state']} continue",
                    file=sys.stderr,
                )
                continue
            verb = (
                "approve {id} {state} --yes|--no"
                if r["kind"] == "approval"
                else "answer {id} {state} " + "|".join(r.get("options") or [])
            )
            print(
                f"waiting for a person at '{r['state']}' ({r['kind']}): {r['prompt']}\n"
                f"  the service keeps driving the run; continue with: WORKBENCH_SERVER={client.base_url} "
                f"workbench {verb.format(id=execution_id, state=r['state'])}",
                file=sys.stderr,
            )
    return 0 if ex["status"] == "completed" else 1


def remote(command: str, args) -> int:
    """Run one of cancel/approve/answer/history/show against the service at ``WORKBENCH_SERVER``."""
    import json

    from engine.cli.execution_output import print_execution, print_history

    with _client() as c:
        if command == "cancel":
            out = c.cancel(args.execution_id)
            print(json.dumps(out) if args.json else f"{out['status']}: {out['message']}")
            return 0
        if command in ("approve", "answer"):
            out = (
                c.approve(args.execution_id, args.state, bool(args.yes), by="cli")
                if command == "approve"
                else c.answer(args.execution_id, args.state, args.value, by="cli")
            )
            if not args.json:
                print(
                    f"answer '{out['answer']}' for '{args.state}' delivered to the service ({out['delivered']})",
                    file=sys.stderr,
                )
            return _follow(c, args.execution_id, args.json, getattr(args, "quiet", False))
        if command == "history":
            rows = c.executions(workflow=args.workflow, status=args.status, limit=args.limit)
            if args.json:
                print(json.dumps(rows, default=str))
                return 0
            print_history(rows, f"no executions recorded yet on {c.base_url}")
            return 0
        if command == "show":
            ex = c.execution(args.execution_id)
            hist = c.history(args.execution_id)
            if args.json:
                print(
                    json.dumps(
                        {
                            **ex,
                            "transitions": hist["transitions"],
                            "audit_log": hist["audit_logs"],
                            "recovery": hist["recovery_actions"],
                        },
                        default=str,
                    )
                )
                return 0
            print_execution(ex, hist["transitions"], hist["recovery_actions"], hist["audit_logs"])
            return 0
    raise ValueError(f"no remote form of '{command}'")
