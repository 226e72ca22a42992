"""``workbench run | resume | rerun | cancel | approve | answer | history | show | cluster``."""

from __future__ import annotations

import json
import sys

from engine.cli.serve_cmds import remote, use_service


def _parse_context(raw: str | None) -> dict:
    """``--context`` JSON (or ``@file.json``) as a dict; a clear WorkbenchError for any bad input."""
    from engine.context_input import read_context_argument

    return read_context_argument(raw)


def _progress(event: dict) -> None:
    st = event.get("state")
    if st is None:
        return
    status = event["status"]
    arrow = f" -> {event['to_state']}" if event.get("to_state") else ""
    where = f" [{event.get('executed_on')}]" if event.get("executed_on") not in (None, "inline") else ""
    dur = event.get("duration_ms")
    dur_s = f" {dur:.0f} ms" if isinstance(dur, (int, float)) else ""
    err = f": {event['error']}" if event.get("error") and status != "completed" else ""
    attempt = f" (attempt {event['attempt']})" if (event.get("attempt") or 1) > 1 else ""
    print(f"  {status:<9} {st}{arrow}{where}{dur_s}{attempt}{err}", file=sys.stderr, flush=True)


def _emit(res, as_json: bool) -> int:
    from engine.runner import ExecutionResult

    if isinstance(res, ExecutionResult):
        data = {
            k: res.to_dict()[k]
            for k in (
                "execution_id",
                "status",
                "states_visited",
                "final_context",
                "duration_ms",
                "error_count",
                "retry_count",
                "error",
                "waiting_for",
                "workflow_id",
                "version",
            )
        }
        if as_json:
            print(json.dumps(data, default=str))
        else:
            print(
                f"{res.status}: execution {res.execution_id} in {res.duration_ms} ms "
                f"({len(res.states_visited)} states, {res.error_count} errors, {res.retry_count} retries)"
            )
            if res.error:
                print(f"  error: {res.error}")
            try:
                from engine.runner import get_engine

                url = get_engine().cluster_status().get("dashboard_url")
            except Exception:
                url = None
            if url:
                print(f"  Ray dashboard: {url}", file=sys.stderr)
        if res.status == "waiting":
            for w in res.waiting_for:
                verb = (
                    "approve {id} {state} --yes|--no"
                    if w["kind"] == "approval"
                    else "answer {id} {state} " + "|".join(w.get("options") or [])
                )
                print(
                    f"waiting for a person at '{w['state']}' ({w['kind']}): {w['prompt']}\n"
                    f"  continue with: workbench {verb.format(id=res.execution_id, state=w['state'])}",
                    file=sys.stderr,
                )
        return 0 if res.status == "completed" else 1
    print(json.dumps(res, default=str) if as_json else res)
    return 0


def _options(args):
    from engine.runner import RunOptions

    return RunOptions(
        timeout_s=getattr(args, "timeout", None),
        detach_when_waiting=True,
        execution=getattr(args, "execution", None) or "auto",
        ai_decisions=False if getattr(args, "no_ai", False) else None,
        auto_recovery=False if getattr(args, "no_recovery", False) else None,
        max_steps=getattr(args, "max_steps", None),
    )


def cmd_run(args) -> int:
    if use_service():  # WORKBENCH_SERVER set: the service drives the run
        return remote("run", args)
    from engine import api

    ctx = _parse_context(args.context)
    spec = api.load(args.file)
    if not args.json:
        print(f"running '{spec.name}'…", file=sys.stderr)
    res = api.run(spec, ctx, _options(args), on_step=None if args.quiet else _progress)
    return _emit(res, args.json)


def cmd_resume(args) -> int:
    from engine import api

    res = api.resume(args.execution_id, options=_options(args))
    return _emit(res, args.json)


def cmd_rerun(args) -> int:
    from engine import api

    res = api.rerun(args.execution_id, args.from_state, options=_options(args))
    return _emit(res, args.json)


def cmd_cancel(args) -> int:
    if use_service():
        return remote("cancel", args)
    from engine import api

    msg = api.cancel(args.execution_id)
    print(json.dumps({"execution_id": args.execution_id, "result": msg}) if args.json else msg)
    return 0


def _answer(args, value: str) -> int:
    from engine import api

    info = api.answer(args.execution_id, args.state, value, by="cli", options=_options(args))
    res = info.pop("result", None)
    if res is not None:
        return _emit(res, args.json)
    where = {
        "live": "delivered to the running process",
        "store": "recorded; the process driving the run will pick it up",
        "resume": "recorded",
    }[info["delivered"]]
    print(json.dumps(info) if args.json else f"answer '{value}' for '{args.state}' {where}")
    return 0


def cmd_approve(args) -> int:
    if use_service():
        return remote("approve", args)
    return _answer(args, "yes" if args.yes else "no")


def cmd_answer(args) -> int:
    if use_service():
        return remote("answer", args)
    return _answer(args, args.value)


def cmd_history(args) -> int:
    if use_service():
        return remote("history", args)
    from engine import api

    rows = api.history(args.workflow, args.status, args.limit)
    if args.json:
        print(json.dumps(rows, default=str))
        return 0
    if not rows:
        print("no executions recorded yet: run one with `workbench run data/templates/order_processing.toml`")
        return 0
    print(f"{'execution':<17} {'workflow':<28} {'v':>3} {'status':<10} {'ms':>8}  started")
    for r in rows:
        print(
            f"{r['execution_id']:<17} {str(r['workflow_name'])[:28]:<28} {r['version'] or '':>3} "
            f"{r['status']:<10} {r['duration_ms'] or '':>8}  {r['start_time']}"
        )
    return 0


def cmd_show(args) -> int:
    if use_service():
        return remote("show", args)
    from engine import api

    ex = api.show(args.execution_id)
    if args.json:
        print(json.dumps(ex, default=str))
        return 0
    print(f"execution {ex['execution_id']}  {ex['workflow_name']} v{ex['version']}  status {ex['status']}")
    if ex.get("error_message"):
        print(f"error: {ex['error_message']}")
    print(
        f"started {ex['start_time']}  duration {ex['duration_ms']} ms  errors {ex['error_count']}  "
        f"retries {ex['retry_count']}"
    )
    print("\ntransitions:")
    for t in ex["transitions"]:
        arrow = f" -> {t['to_state']}" if t["to_state"] else ""
        cond = f"  [{t['condition_evaluated']}]" if t["condition_evaluated"] else ""
        print(f"  {t['status']:<9} {t['from_state']}{arrow}  {t['duration_ms'] or 0:.0f} ms  token {t['token']}{cond}")
    if ex["recovery"]:
        print("\nrecovery:")
        for r in ex["recovery"]:
            print(
                f"  {r['error_state']}: {r['recovery_strategy']} ({r['chosen_by']}) success={r['success']}: "
                f"{r['reasoning']}"
            )
    print("\naudit log:")
    for a in ex["audit_log"]:
        if a["level"] == "debug":
            continue
        print(f"  {a['timestamp']} {a['level']:<7} {a['event_type']:<16} {a['message']}")
    return 0


def cmd_cluster(args) -> int:
    from ray_tasks import cluster

    info = cluster.connect(args.address)
    data = {
        "address": info.address,
        "mode": info.mode,
        "dashboard_url": info.dashboard_url,
        "nodes": info.nodes,
        "resources": {k: v for k, v in info.resources.items() if not k.startswith("node:")},
    }
    print(
        json.dumps(data, default=str)
        if args.json
        else f"Ray {info.mode} at {info.address}; {info.nodes} node(s); dashboard {info.dashboard_url}\n"
        f"resources: {data['resources']}"
    )
    return 0


def register(sub) -> None:
    def common(p, run_opts=True):
        p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
        if run_opts:
            p.add_argument("--timeout", type=float, help="fail the run after S seconds")
            p.add_argument("--max-steps", type=int, dest="max_steps", help="bound on executed states (loops)")
            p.add_argument("--execution", choices=["auto", "ray", "inline"], help="where states run")
            p.add_argument("--no-ai", action="store_true", help="natural-language conditions go to a person")
            p.add_argument("--no-recovery", action="store_true", help="only the file's retry policy and @error paths")
            p.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")

    p = sub.add_parser("run", help="run a workflow file (.toml or .dsl)")
    p.add_argument("file")
    p.add_argument("--context", help="initial context as JSON or @file.json")
    common(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("resume", help="continue an interrupted or waiting execution")
    p.add_argument("execution_id")
    common(p)
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("rerun", help="new execution reusing recorded results before a state")
    p.add_argument("execution_id")
    p.add_argument("--from", dest="from_state", required=True, metavar="STATE")
    common(p)
    p.set_defaults(func=cmd_rerun)

    p = sub.add_parser("cancel", help="cancel a running execution")
    p.add_argument("execution_id")
    common(p, run_opts=False)
    p.set_defaults(func=cmd_cancel)

    p = sub.add_parser("approve", help="approve or reject a waiting approval state")
    p.add_argument("execution_id")
    p.add_argument("state")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--yes", action="store_true")
    g.add_argument("--no", action="store_true")
    common(p)
    p.set_defaults(func=cmd_approve)

    p = sub.add_parser("answer", help="answer a decision (true/false) or an escalation (retry/skip/abort)")
    p.add_argument("execution_id")
    p.add_argument("state")
    p.add_argument("value", choices=["true", "false", "retry", "skip", "abort", "yes", "no"])
    common(p)
    p.set_defaults(func=cmd_answer)

    p = sub.add_parser("history", help="recent executions")
    p.add_argument("--workflow")
    p.add_argument("--status")
    p.add_argument("--limit", type=int, default=30)
    common(p, run_opts=False)
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("show", help="one execution: transitions, recovery, audit log")
    p.add_argument("execution_id")
    common(p, run_opts=False)
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("cluster", help="connect to Ray and show the dashboard URL and resources")
    p.add_argument("--address", help="Ray address (default: RAY_ADDRESS, a local head, or a new local Ray)")
    common(p, run_opts=False)
    p.set_defaults(func=cmd_cluster)
