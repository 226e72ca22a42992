"""``workbench run | resume | rerun | cancel | approve | answer | history | show | cluster``."""

from __future__ import annotations

import json
import sys

from engine.cli.execution_output import print_execution, print_history
from engine.cli.serve_cmds import remote, use_service
from engine.schema import TIMER_REQUEST


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


def _local_outcome(execution_id: str) -> str:
    """The business outcome the app shows (the final state reached; '' while the run is not finished)."""
    from engine import api, records
    from engine.workbench import run_state

    store = api.engine().store
    row = records.execution(store, execution_id)
    return run_state.outcomes_of(store, [row]).get(execution_id, "") if row else ""


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
        data["outcome"] = _local_outcome(res.execution_id)
        if as_json:
            print(json.dumps(data, default=str))
        else:
            shown = f" (outcome: {data['outcome']})" if data["outcome"] else ""
            print(
                f"{res.status}{shown}: execution {res.execution_id} in {res.duration_ms} ms "
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
                if w["kind"] == TIMER_REQUEST:  # a wait state: nobody is asked
                    print(
                        f"waiting at '{w['state']}': {w['prompt']}\n  a running service (workbench serve) goes on "
                        f"when the wait is over; or then: workbench resume {res.execution_id}; to go on now: "
                        f"workbench answer {res.execution_id} {w['state']} continue",
                        file=sys.stderr,
                    )
                    continue
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


def _is_file(target: str) -> bool:
    """``workbench run TARGET``: a workflow file (an existing path, ``-``, or a .toml/.dsl name) or else
    the name or id of a workflow in the library."""
    from pathlib import Path

    return target == "-" or Path(target).suffix in (".toml", ".dsl") or Path(target).exists()


def _version_line(name: str, workflow_id: str, version: int, default: int | None, source: str) -> str:
    """Which version runs, and whether it is the library's default (what a file run never changes)."""
    line = f"running '{name}' v{version} ({source})"
    if default is not None and default != version:
        line += (
            f"; the library's default version stays v{default} "
            "(use --save-version to make the file's content the default)"
        )
    return line


def _library_target(store, args):
    """(spec, workflow_id, version, message) for ``workbench run`` in this process."""
    from engine import api, library

    if not _is_file(args.file):
        spec, meta = library.get_workflow(store, args.file, args.version)
        wid, ver = meta["workflow_id"], int(meta["version"])
        which = "the default version" if args.version is None else "the version asked for"
        return spec, wid, ver, f"running '{spec.name}' v{ver} from the library ({which})"
    if args.version is not None:
        from engine.errors import WorkbenchError

        raise WorkbenchError("--version picks a version of a library workflow: give its name, not a file")
    spec = api.load(args.file)
    if args.save_version:
        wid, ver = library.ensure_saved(
            store,
            spec,
            new_note=f"saved from {args.file}",
            changed_note=f"saved from {args.file} (workbench run --save-version)",
            make_default=True,
        )
    else:
        wid, ver = api.ensure_version(spec, store)
    default = library.default_version(store, wid)
    source = "the file's content, saved as the default" if args.save_version else "the file's content"
    return spec, wid, ver, _version_line(spec.name, wid, ver, default, source)


def _run_on_service(args, ctx: dict) -> int:
    """``workbench run`` through the service: a library name, or a file (pinned, or saved as the
    default version with ``--save-version``)."""
    import re
    from pathlib import Path

    from engine.cli.serve_cmds import _client, _execution_options, _follow
    from engine.client import ServiceError as ClientError
    from engine.errors import WorkbenchError

    opts = _execution_options(args)
    with _client() as c:
        if not _is_file(args.file):
            started = c.execute(args.file, ctx, version=args.version, **opts)
            where = "from the library"
        else:
            if args.version is not None:
                raise WorkbenchError("--version picks a version of a library workflow: give its name, not a file")
            path = Path(args.file)
            try:
                text = sys.stdin.read() if args.file == "-" else path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise WorkbenchError(f"{args.file}: cannot read: {exc}") from None
            is_toml = path.suffix == ".toml" or (path.suffix != ".dsl" and re.search(r"^\s*dsl\s*=", text, re.M))
            source = {"toml": text} if is_toml else {"dsl": text, "name": path.stem if args.file != "-" else None}
            if is_toml:  # checked here first: a mistake is then named by the file, not as the service's "toml"
                from engine.workflow_file import parse_workflow_text

                parse_workflow_text(text, source=args.file, fmt="toml")
            if args.save_version:
                from engine import api

                name = api.load(args.file).name if args.file != "-" else source.get("name")
                note = f"saved from {args.file} (workbench run --save-version)"
                # the name means the token's own workflow first (the service resolves it among those it
                # may read); one it may read but not edit (someone else's, shared to view or run) is left
                # alone: the file becomes a workflow of the token's own, as for a run without --save-version
                try:
                    wid = c.get_workflow(name)["workflow_id"]
                    saved = c.update_workflow(wid, **source, change_note=note)
                except ClientError as exc:
                    if exc.status not in (403, 404):
                        raise
                    if exc.status == 403:
                        print(
                            f"you may not edit the workflow '{name}' ({wid}): saving the file as a workflow of "
                            "your own with that name",
                            file=sys.stderr,
                        )
                    saved = c.create_workflow(**source, change_note=note)
                started = c.execute(saved["workflow_id"], ctx, version=saved.get("version"), **opts)
                where = "the file's content, saved as the default"
            else:
                started = c.run_definition(**source, initial_context=ctx, **opts)
                where = "the file's content; the library's default version is not changed"
        print(
            f"running '{started.get('workflow_id')}' v{started.get('version')} ({where}) on {c.base_url}: "
            f"execution {started['execution_id']}",
            file=sys.stderr,
        )
        return _follow(c, started["execution_id"], args.json, args.quiet)


def cmd_run(args) -> int:
    ctx = _parse_context(args.context)
    if use_service():  # the service drives the run
        return _run_on_service(args, ctx)
    from engine import api

    store = api.engine().store
    spec, wid, ver, message = _library_target(store, args)
    print(message + "…", file=sys.stderr)  # stderr: also with --json, whose stdout stays one JSON object
    eid = api.start(spec, ctx, _options(args), version=(wid, ver), on_step=None if args.quiet else _progress)
    return _emit(api.wait(eid), args.json)


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
    from engine.errors import WorkbenchError
    from engine.workbench.run_state import refusal

    why = refusal(api.engine(), args.execution_id, "cancel")  # like the service's 409
    if why:
        raise WorkbenchError(f"nothing to cancel: {why}")
    msg = api.cancel(args.execution_id)
    print(json.dumps({"execution_id": args.execution_id, "result": msg}) if args.json else msg)
    return 0


def _answer(args, value: str) -> int:
    from engine import api
    from engine.errors import WorkbenchError
    from engine.workbench.run_state import refusal

    why = refusal(api.engine(), args.execution_id, "answer", args.state)  # the run's state now
    if why:
        raise WorkbenchError(f"answer '{value}' not sent: {why}")
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
    print_history(rows, "no executions recorded yet: run one with `workbench run data/templates/order_processing.toml`")
    return 0


def cmd_show(args) -> int:
    if use_service():
        return remote("show", args)
    from engine import api

    ex = api.show(args.execution_id)
    if args.json:
        print(json.dumps(ex, default=str))
        return 0
    print_execution(ex, ex["transitions"], ex["recovery"], ex["audit_log"])
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

    p = sub.add_parser(
        "run",
        help="run a workflow file (.toml or .dsl) or a library workflow by name",
        description="Run a workflow file, or a workflow of the library by name or id (--version N picks a "
        "version; default: the library's default version). A file runs as its own pinned library version; "
        "the library's default version changes only with --save-version.",
    )
    p.add_argument("file", metavar="FILE|NAME")
    p.add_argument("--context", help="initial context as JSON or @file.json")
    p.add_argument("--version", type=int, help="with a library name: the version to run")
    p.add_argument(
        "--save-version",
        action="store_true",
        dest="save_version",
        help="with a file: save its content as the workflow's new default version before running it",
    )
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

    p = sub.add_parser(
        "answer", help="answer a decision (true/false), an escalation (retry/skip/abort) or end a wait now (continue)"
    )
    p.add_argument("execution_id")
    p.add_argument("state")
    p.add_argument("value", choices=["true", "false", "retry", "skip", "abort", "yes", "no", "continue"])
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
