"""Analytics benchmark: 1M recorded state transitions (+ their executions, recoveries, AI decisions and
LLM calls) in a temporary store, then every query the Analytics page runs, timed. Target: < 2 s each.

Run: ``.venv/bin/python -m benchmarks.bench_analytics`` (writes benchmarks/results/analytics.json).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import analytics as A
from engine.store import Store

TRANSITIONS = 1_000_000
STATES_PER_RUN = 10
WORKFLOWS = 10
DAYS = 90
BATCH = 50_000
TARGET_S = 2.0
RESULTS = Path(__file__).resolve().parent / "results" / "analytics.json"
ERRORS = ["ConnectionError", "TimeoutError", "ValueError", "KeyError"]


def generate(store: Store, transitions: int = TRANSITIONS, seed: int = 7, now: datetime | None = None) -> dict:
    """Runs of WORKFLOWS workflows spread over DAYS days; ~3% of attempts fail, most are retried."""
    rnd = random.Random(seed)
    now = now or A.utcnow()
    start0 = now - timedelta(days=DAYS)
    runs = int(transitions / (STATES_PER_RUN + 1) * 1.01) + 1  # + the start row; a failed run stops early
    span_s = DAYS * 86400
    ex_rows, tr_rows, rec_rows, dec_rows, llm_rows = [], [], [], [], []
    counts = {
        "workflow_executions": 0,
        "state_transitions": 0,
        "recovery_actions": 0,
        "ai_decisions": 0,
        "llm_calls": 0,
    }

    def flush(force: bool = False):
        for table, rows in (
            ("workflow_executions", ex_rows),
            ("state_transitions", tr_rows),
            ("recovery_actions", rec_rows),
            ("ai_decisions", dec_rows),
            ("llm_calls", llm_rows),
        ):
            if rows and (force or len(rows) >= BATCH):
                store.append_many(table, rows)
                counts[table] += len(rows)
                rows.clear()

    for i in range(runs):
        wid = f"wf-{i % WORKFLOWS}"
        eid = f"ex-{i:07d}"
        t0 = start0 + timedelta(seconds=span_s * i / runs)
        t = t0
        tr_rows.append(_tr(eid, wid, "start", "s0", t, 0.01, "completed", 1, "inline"))
        failed_run = False
        for s in range(STATES_PER_RUN):
            state = f"s{s}"
            base = 20 + 15 * s + (300 if s == 4 else 0)
            attempt = 1
            while True:
                d = base * rnd.lognormvariate(0, 0.35)
                fails = rnd.random() < (0.03 if s != 6 else 0.12)
                tr_rows.append(
                    _tr(
                        eid,
                        wid,
                        state,
                        None if fails else f"s{s + 1}",
                        t,
                        d,
                        "failed" if fails else "completed",
                        attempt,
                        "ray",
                        rnd.choice(ERRORS) if fails else None,
                    )
                )
                t += timedelta(milliseconds=d + 2)
                if not fails:
                    break
                ok = attempt < 3 and rnd.random() < 0.8
                rec_rows.append(
                    {
                        "id": f"{eid}-{s}-{attempt}",
                        "execution_id": eid,
                        "workflow_id": wid,
                        "timestamp": t,
                        "error_type": "ConnectionError",
                        "error_class": "transient",
                        "error_message": "reset",
                        "error_state": state,
                        "error_context": {"token": "0"},
                        "recovery_strategy": "retry" if ok else "abort",
                        "chosen_by": "rules",
                        "ai_suggested": False,
                        "attempt": attempt,
                        "success": ok,
                        "recovery_duration_ms": 5.0,
                    }
                )
                if not ok:
                    failed_run = True
                    break
                attempt += 1
            if failed_run:
                break
        if i % 7 == 0:
            dec_rows.append(
                {
                    "id": f"d-{eid}",
                    "execution_id": eid,
                    "workflow_id": wid,
                    "state": "s3",
                    "condition": '"looks fine"',
                    "context_hash": f"h{i % 500}",
                    "result": rnd.random() < 0.7,
                    "confidence": rnd.randint(40, 100),
                    "decided_by": rnd.choice(["ai", "ai", "cache", "rule"]),
                    "timestamp": t0,
                }
            )
            llm_rows.append(
                {
                    "id": f"l-{eid}",
                    "timestamp": t0,
                    "operation": "decision",
                    "provider": "openai",
                    "model": "gpt-4o-mini",
                    "prompt_tokens": 300,
                    "completion_tokens": 40,
                    "total_tokens": 340,
                    "cost_usd": 0.00007,
                    "latency_ms": 400.0,
                    "cache_hit": rnd.random() < 0.3,
                    "success": True,
                    "workflow_id": wid,
                    "execution_id": eid,
                }
            )
        dur = (t - t0).total_seconds() * 1000
        ex_rows.append(
            {
                "execution_id": eid,
                "workflow_id": wid,
                "workflow_name": f"Workflow {i % WORKFLOWS}",
                "version": 1 + (i // (runs // 3 + 1)),
                "status": "failed" if failed_run else "completed",
                "initial_context": {"n": i},
                "states_visited": [],
                "error_count": 0,
                "retry_count": 0,
                "start_time": t0,
                "end_time": t,
                "duration_ms": int(dur),
                "updated_at": t,
                "seq": 2,
            }
        )
        flush()
    flush(force=True)
    store.flush()
    return counts


def _tr(eid, wid, state, to, t, d, status, attempt, on, err=None) -> dict:
    return {
        "id": f"{eid}-{state}-{attempt}",
        "execution_id": eid,
        "workflow_id": wid,
        "version": 1,
        "from_state": state,
        "to_state": to,
        "transition_type": "normal",
        "token": "0",
        "visit": 0,
        "attempt": attempt,
        "status": status,
        "context_snapshot": {"v": 1},
        "keys_read": ["n"],
        "keys_written": ["v"],
        "action": "python",
        "executed_on": on,
        "error_type": err,
        "error_message": f"{err}: boom" if err else None,
        "started_at": t,
        "ended_at": t + timedelta(milliseconds=d),
        "timestamp": t + timedelta(milliseconds=d),
        "duration_ms": d,
    }


def page_queries(store: Store, workflow: str | None, since: str | None = "30d") -> list[tuple[str, callable]]:
    """Every query the Analytics page runs for one view (same calls, same order)."""
    holder: dict = {}

    def scope():
        holder["scope"] = A.resolve_scope(store, workflow, since=since)
        return holder["scope"]

    def recent():
        df = A.recent_executions(store, holder["scope"], 50)
        holder["eid"] = df["execution_id"].iloc[0] if not df.empty else "none"
        return df

    gran = "day"
    return [
        ("list_workflows", lambda: A.list_workflows(store)),
        ("resolve_scope", scope),
        ("execution_stats", lambda: A.execution_stats(store, holder["scope"])),
        ("recovery_stats", lambda: A.recovery_stats(store, holder["scope"])),
        ("executions_over_time", lambda: A.executions_over_time(store, holder["scope"], gran)),
        ("workflow_summary", lambda: A.workflow_summary(store, holder["scope"])),
        ("run_time_stats", lambda: A.run_time_stats(store, holder["scope"])),
        ("state_performance", lambda: A.state_performance(store, holder["scope"])),
        ("common_errors", lambda: A.common_errors(store, holder["scope"])),
        ("ai_decision_stats", lambda: A.ai_decision_stats(store, holder["scope"], gran)),
        ("llm_usage", lambda: A.llm_usage(store, holder["scope"], gran)),
        ("recent_executions", recent),
        ("gantt", lambda: A.gantt(store, holder["eid"])),
    ]


def time_page(store: Store, workflow: str | None, repeats: int = 3, since: str | None = "30d") -> dict:
    out = {}
    for name, fn in page_queries(store, workflow, since):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        out[name] = {
            "first_s": round(times[0], 4),
            "median_s": round(statistics.median(times), 4),
            "max_s": round(max(times), 4),
        }
    return out


def run(transitions: int = TRANSITIONS, workdir: str | None = None) -> dict:
    tmp = Path(workdir or tempfile.mkdtemp(prefix="bench_analytics_"))
    try:
        store = Store(tmp / "workbench.duckdb")
        t0 = time.perf_counter()
        counts = generate(store, transitions)
        gen_s = time.perf_counter() - t0
        segs = len(list((store.log_dir / "state_transitions").glob("seg-*.parquet")))
        result = {"rows": counts, "generate_s": round(gen_s, 1), "segments_before_compact": segs, "views": {}}
        result["views"]["all_workflows_30d"] = time_page(store, None)
        result["views"]["one_workflow_30d"] = time_page(store, "Workflow 3")
        c0 = time.perf_counter()
        store.compact()
        result["compact_s"] = round(time.perf_counter() - c0, 2)
        result["views"]["all_workflows_30d_compacted"] = time_page(store, None)
        result["views"]["one_workflow_30d_compacted"] = time_page(store, "Workflow 3")
        result["views"]["all_workflows_all_time_compacted"] = time_page(store, None, since=None)
        worst = max(q["max_s"] for v in result["views"].values() for q in v.values())
        slowest = max(
            ((vn, qn, q["max_s"]) for vn, v in result["views"].items() for qn, q in v.items()), key=lambda x: x[2]
        )
        page_total = {vn: round(sum(q["median_s"] for q in v.values()), 3) for vn, v in result["views"].items()}
        result.update(
            worst_query_s=worst,
            slowest=f"{slowest[1]} ({slowest[0]})",
            page_total_median_s=page_total,
            target_s=TARGET_S,
            ok=worst < TARGET_S,
            python=sys.version.split()[0],
            cpus=os.cpu_count(),
            measured_at=datetime.now().isoformat(timespec="seconds"),
        )
        store.close()
        return result
    finally:
        if workdir is None:
            shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    n = int(argv[0]) if argv else TRANSITIONS
    res = run(n)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=2) + "\n")
    for view, qs in res["views"].items():
        print(f"{view}: page total {res['page_total_median_s'][view]:.3f} s (median per query summed)")
        for name, q in qs.items():
            print(
                f"  {name:<22} first {q['first_s'] * 1000:8.1f} ms  median {q['median_s'] * 1000:8.1f} ms  "
                f"max {q['max_s'] * 1000:8.1f} ms"
            )
    summary = (
        f"{res['rows']['state_transitions']:,} transitions: slowest page query {res['worst_query_s']:.2f} s "
        f"({res['slowest']}), target < {TARGET_S:g} s"
    )
    print(summary)
    return {"ok": res["ok"], "summary": summary, **res}


if __name__ == "__main__":
    out = main()
    sys.exit(0 if out["ok"] else 1)
