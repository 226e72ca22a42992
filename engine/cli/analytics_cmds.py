"""``workbench analytics | optimize | export``: run analytics, the optimization advisor, Parquet export.

The records are those of ``$WORKBENCH_DB`` (default ``data/workbench.duckdb``).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from engine.errors import WorkbenchError


def _store():
    from engine.store import get_store

    return get_store()


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _pct(v) -> str:
    return "—" if v is None else f"{v:.1f}%"


def _fmt(v, digits: int = 1) -> str:
    if v is None:
        return "—"
    if isinstance(v, str) and _ISO.match(v):
        return v[:16].replace("T", " ")
    if isinstance(v, float):
        if v != v:
            return "—"
        return f"{v:,.{digits}f}"
    if hasattr(v, "strftime"):
        return v.strftime("%Y-%m-%d %H:%M")
    return str(v)


def table(rows: list[dict], cols: list[tuple[str, str]], digits: int = 1) -> str:
    """Aligned text columns: ``cols`` = [(key, header)]."""
    if not rows:
        return "  (none)"
    cells = [[_fmt(r.get(k), digits) for k, _ in cols] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, (_, h) in enumerate(cols)]
    out = ["  " + "  ".join(h.ljust(w) for (_, h), w in zip(cols, widths))]
    out.append("  " + "  ".join("-" * w for w in widths))
    for c in cells:
        out.append("  " + "  ".join(v.rjust(w) if _numeric(v) else v.ljust(w) for v, w in zip(c, widths)))
    return "\n".join(out)


def _numeric(s: str) -> bool:
    return bool(s) and (s.replace(",", "").replace(".", "", 1).replace("-", "", 1).isdigit() or s == "—")


# --- analytics --------------------------------------------------------------------------------


def _remote_report(args) -> dict:
    """The report from the service (``WORKBENCH_SERVER``) with the caller's token: only the workflows that
    token may read count (engine/access.py)."""
    from urllib.parse import quote

    from engine.client import WorkbenchClient

    path = f"/api/v1/workflows/{quote(args.workflow, safe='')}/analytics" if args.workflow else "/api/v1/analytics"
    params = {"start_date": args.since, "end_date": args.until, "granularity": args.granularity}
    if args.workflow:
        params["version"] = args.version
    with WorkbenchClient(timeout=120) as c:
        return c._request("GET", path, params=params)


def cmd_analytics(args) -> int:
    """``workbench analytics``: through the service when one is in use (its role and share checks apply),
    else from the store of ``WORKBENCH_DB``."""
    from engine import analytics as A
    from engine.cli.serve_cmds import use_service

    if use_service():
        rep = _remote_report(args)
    else:
        rep = A.report(
            _store(),
            args.workflow,
            since=args.since,
            until=args.until,
            version=args.version,
            granularity=args.granularity,
        )
    if args.json:
        print(A.to_json(rep))
        return 0
    s = rep["statistics"]
    rng = rep["time_range"]
    print(
        f"Analytics for {rep['workflow']}"
        + (f" v{rep['version']}" if rep["version"] else "")
        + f" from {rng['start'] or 'the first run'} to {rng['end']} (by {rep['granularity']})"
    )
    if not s["total_executions"]:
        print(
            "\nNo runs in this range. Run a workflow (workbench run data/templates/order_processing.toml) "
            "or widen the range with --since 90d / --since all."
        )
        return 0
    print(
        f"\n  executions {s['total_executions']}  completed {s['successful_executions']}  failed "
        f"{s['failed_executions']}  cancelled {s['cancelled_executions']}  running {s['running_executions']}"
    )
    print(
        f"  success rate {_pct(s['success_rate'])}  failure rate {_pct(s['failure_rate'])}  "
        f"auto-recovery {_pct(rep['error_analysis']['auto_recovery_rate'])}"
    )
    print(
        f"  duration avg {_fmt(s['avg_duration_ms'], 0)} ms  p50 {_fmt(s['p50_duration_ms'], 0)}  "
        f"p95 {_fmt(s['p95_duration_ms'], 0)}  p99 {_fmt(s['p99_duration_ms'], 0)}"
    )
    rt = rep.get("run_time") or {}
    if rt.get("runs_waiting_for_people"):
        print(
            f"  working time p50 {_fmt(rt['working_p50_ms'], 0)} ms  p95 {_fmt(rt['working_p95_ms'], 0)}  |  waiting for "
            f"{A.waiting_for(rt)} p50 {_fmt(rt['waiting_p50_ms'], 0)} ms ({rt['runs_waiting_for_people']} of {rt['runs']} runs, "
            f"{_pct(rt['waiting_share'])} of run time)"
        )
    if rep.get("workflows"):
        print("\nWorkflows")
        print(
            table(
                rep["workflows"],
                [
                    ("workflow", "workflow"),
                    ("executions", "runs"),
                    ("success_rate", "success %"),
                    ("p50_ms", "p50 ms"),
                    ("p95_ms", "p95 ms"),
                    ("last_run", "last run"),
                ],
                0,
            )
        )
    print("\nOver time")
    print(
        table(
            rep["timeline"],
            [
                ("bucket", "from"),
                ("executions", "runs"),
                ("completed", "ok"),
                ("failed", "failed"),
                ("success_rate", "success %"),
                ("p50_ms", "p50 ms"),
                ("p95_ms", "p95 ms"),
                ("p99_ms", "p99 ms"),
            ],
            0,
        )
    )
    print("\nStates (most time first)")
    print(
        table(
            rep["state_performance"],
            [
                ("state", "state"),
                ("attempts", "attempts"),
                ("error_rate", "error %"),
                ("avg_duration_ms", "avg ms"),
                ("p50_duration_ms", "p50 ms"),
                ("p95_duration_ms", "p95 ms"),
                ("p99_duration_ms", "p99 ms"),
            ],
        )
    )
    print("\nMost common errors")
    print(
        table(
            rep["error_analysis"]["by_state"],
            [("state", "state"), ("error_type", "error"), ("count", "count"), ("example", "latest message")],
        )
    )
    ai = rep["ai_decisions"]
    if ai["decisions"]:
        print(f"\nAI decisions: {ai['decisions']} (avg confidence {_fmt(ai['avg_confidence'])})")
        print(
            table(
                ai["by_decider"],
                [("decided_by", "decided by"), ("decisions", "decisions"), ("avg_confidence", "avg confidence")],
            )
        )
    llm = rep["llm"]
    if llm["calls"]:
        print(f"\nLLM: {llm['calls']} calls, ${llm['cost_usd']:.4f}, cache hit rate {_pct(llm['cache_hit_rate'])}")
    print("\nInsights")
    for line in rep["ai_insights"]:
        print(f"  - {line}")
    return 0


# --- optimize ---------------------------------------------------------------------------------


def cmd_optimize(args) -> int:
    from engine import optimizer as O

    store = _store()
    if args.accept:
        out = O.accept(store, args.accept)
        print(json.dumps(out, default=str) if args.json else out["message"])
        return 0
    if args.reject:
        out = O.reject(store, args.reject)
        print(json.dumps(out) if args.json else f"rejected {out['id']}")
        return 0
    if args.measure:
        out = O.record_actual_improvement(store, args.measure)
        print(
            json.dumps(_jsonable(out), default=str)
            if args.json
            else out["statement"] + f"\nrecorded actual improvement: {_fmt(out['actual_improvement'])} "
            f"(estimated {_fmt(out['estimated_improvement'])})"
        )
        return 0
    if args.compare:
        target = O.resolve_target(store, args.workflow, args.version)
        a, b = args.compare
        out = O.compare_versions(store, target.workflow_id, a, b)
        print(json.dumps(_jsonable(out), default=str) if args.json else out["statement"])
        return 0
    rep = O.analyze(store, args.workflow, version=args.version, slots=args.slots, llm=False if args.no_ai else None)
    if args.json:
        print(json.dumps(rep.to_dict(), indent=2, default=str))
        return 0
    print(f"Optimization report: '{rep.workflow_name}' v{rep.version} ({rep.workflow_id})")
    runs = rep.runs
    print(
        f"  {runs['finished']} finished runs, {runs['completed']} completed, median "
        f"{_fmt((runs['median_ms'] or 0) / 1000, 2)} s"
    )
    for n in rep.notes:
        print(f"  {n}")
    if rep.score is not None:
        pts = rep.score_components["points"]
        print(f"\nScore {rep.score}/100 (potential {rep.potential_score}); {O.SCORE_FORMULA}")
        print(
            f"  success {pts['success']} + performance {pts['performance']} + tail latency "
            f"{pts['tail_latency']} + cost {pts['cost']}"
        )
    if not rep.suggestions:
        print("\nNo suggestions." if rep.score is not None else "")
    for s in rep.suggestions:
        auto = "applies automatically" if s.automatic else "manual change"
        print(
            f"\n[{s.id}] {s.optimization_type} · priority {s.priority} · est. {s.estimated_improvement:g}% · "
            f"{s.implementation_effort} effort · {auto} · {s.status}"
        )
        print(f"  {s.title}")
        print("  " + s.description)
        if s.kind == "parallelize":
            print("  new DSL:")
            for line in s.proposed_changes["dsl"].splitlines():
                print("    " + line)
    if rep.not_suggested:
        print("\nKept sequential:")
        for n in rep.not_suggested:
            pair = f"{n['first']} -> {n['second']}" if n["first"] else n["second"]
            print(f"  {pair}: {n['reason']}")
    if rep.narrative_source != "offline":
        print(f"\nNarrative by {rep.narrative_source} (the numbers above come from the records):")
        print(rep.narrative)
    if rep.suggestions:
        print(f"\nAccept one with: workbench optimize '{args.workflow}' --accept ID")
    return 0


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=str))


# --- export -----------------------------------------------------------------------------------


def export_parquet(store, directory: str | Path, tables: list[str] | None = None, history: bool = False) -> dict:
    """Write each table's view to ``DIR/<table>.parquet`` (and ``<table>_history`` with ``history``)."""
    from engine.schema import LATEST_BY, TABLES

    out_dir = Path(directory).expanduser().resolve()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkbenchError(f"cannot create {out_dir}: {exc.strerror}") from None
    names = tables or list(TABLES)
    unknown = [t for t in names if t not in TABLES]
    if unknown:
        raise WorkbenchError(f"unknown table(s) {', '.join(unknown)}; tables: {', '.join(TABLES)}")
    if history:
        names = names + [f"{t}_history" for t in names if t in LATEST_BY]
    counts = {}
    for t in names:
        path = out_dir / f"{t}.parquet"
        target = str(path).replace("'", "''")
        store.query(f"COPY (SELECT * FROM \"{t}\") TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
        counts[t] = store.query(f"SELECT count(*) AS n FROM read_parquet('{target}')")[0]["n"]
    return {"directory": str(out_dir), "tables": counts}


def cmd_export(args) -> int:
    if not args.parquet:
        print("error: give --parquet DIR", file=sys.stderr)
        return 2
    out = export_parquet(_store(), args.parquet, args.table or None, args.history)
    if args.json:
        print(json.dumps(out))
    else:
        for t, n in out["tables"].items():
            print(f"  {t:<28} {n:>9} rows")
        print(f"wrote {len(out['tables'])} Parquet files to {out['directory']}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("analytics", help="run statistics: success rates, p50/p95/p99, states, errors, LLM cost")
    p.add_argument("--workflow", help="a workflow name or id (default: all workflows)")
    p.add_argument(
        "--since",
        default="30d",
        help="start: ISO date/time or a span like 24h, 7d, 2w, 3mo; 'all' for everything (default 30d)",
    )
    p.add_argument("--until", help="end (exclusive), same formats")
    p.add_argument("--version", type=int, help="only this version of the workflow")
    p.add_argument(
        "--granularity",
        choices=["minute", "hour", "day", "week", "month"],
        help="time buckets (default: from the span of the runs)",
    )
    p.add_argument("--json", action="store_true", help="the full report as JSON")
    p.set_defaults(func=cmd_analytics)

    p = sub.add_parser("optimize", help="optimization report: score and evidence-based suggestions")
    p.add_argument("workflow", metavar="FILE|NAME", help="a workflow file, name or id")
    p.add_argument("--version", type=int, help="analyse this version (default: the newest with runs, or the file's)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--accept", metavar="ID", help="accept a suggestion (automatic ones become a new version)")
    p.add_argument("--reject", metavar="ID", help="reject a suggestion")
    p.add_argument(
        "--compare",
        nargs=2,
        type=int,
        metavar=("A", "B"),
        help="compare two versions' durations and success with significance",
    )
    p.add_argument("--measure", metavar="ID", help="record the actual improvement of an implemented suggestion")
    p.add_argument("--slots", type=int, help="parallel slots for the prediction (default: Ray CPUs)")
    p.add_argument("--no-ai", action="store_true", help="never ask a model for the narrative")
    p.set_defaults(func=cmd_optimize)

    p = sub.add_parser("export", help="export the records for notebooks: --parquet DIR")
    p.add_argument("--parquet", metavar="DIR", required=True, help="directory for one .parquet file per table")
    p.add_argument("--table", action="append", help="only this table (repeatable)")
    p.add_argument("--history", action="store_true", help="also every raw row of the latest-row tables")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_export)
