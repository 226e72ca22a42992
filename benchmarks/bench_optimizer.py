"""Optimizer benchmark: the advisor's parallelization suggestion, applied and measured on Ray.

The workflow: ``produce -> consume`` (consume reads what produce wrote: a dependent pair) followed by
three independent slow states ``fetch_a -> fetch_b -> fetch_c`` (0.5 s sleeps). It is run RUNS times
on Ray, the advisor is asked for suggestions (it must group the independent states and never
produce with consume), the suggestion is accepted (a new workflow version), the new version runs
RUNS times, and the measured speed-up is compared with the predicted one. Target: within 20%.

Run: ``.venv/bin/python -m benchmarks.bench_optimizer`` (writes benchmarks/results/optimizer.json).
The state functions below are imported by the Ray workers (the repository root is on their path).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

RUNS = int(os.environ.get("BENCH_OPTIMIZER_RUNS", 5))
SLEEP_S = 0.5
PAIR_S = 0.3
TOLERANCE = 0.20
RESULTS = Path(__file__).resolve().parent / "results" / "optimizer.json"


# --- state functions (run on Ray workers) ------------------------------------------------------


def produce(context: dict, seconds: float = PAIR_S) -> dict:
    time.sleep(seconds)
    return {"produced": 41}


def consume(context: dict, seconds: float = PAIR_S) -> dict:
    value = context["produced"]  # the dependency the advisor must see
    time.sleep(seconds)
    return {"consumed": value + 1}


def fetch(context: dict, seconds: float = SLEEP_S, key: str = "a") -> dict:
    """Stands for a call to a slow service; its answer carries a timestamp (not cacheable)."""
    time.sleep(seconds)
    return {f"fetched_{key}": time.time()}


WORKFLOW_TOML = f'''
name = "Optimizer benchmark"
description = "a dependent pair, then three independent slow states"
dsl = """
start->produce;
produce->consume;
consume->fetch_a;
fetch_a->fetch_b;
fetch_b->fetch_c;
fetch_c->end;
"""
[states.produce]
action = "python"
function = "benchmarks.bench_optimizer:produce"
execution = "ray"
[states.consume]
action = "python"
function = "benchmarks.bench_optimizer:consume"
execution = "ray"
[states.fetch_a]
action = "python"
function = "benchmarks.bench_optimizer:fetch"
params = {{ key = "a", seconds = {SLEEP_S} }}
execution = "ray"
[states.fetch_b]
action = "python"
function = "benchmarks.bench_optimizer:fetch"
params = {{ key = "b", seconds = {SLEEP_S} }}
execution = "ray"
[states.fetch_c]
action = "python"
function = "benchmarks.bench_optimizer:fetch"
params = {{ key = "c", seconds = {SLEEP_S} }}
execution = "ray"
'''

WARMUP_DSL = "start->[w1,w2];\n[w1,w2]->end;\n"


def run(runs: int = RUNS) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from engine import library
    from engine import optimizer as O
    from engine.executors import ray_executor
    from engine.runner import Engine
    from engine.store import Store
    from engine.workflow_file import StateBinding, WorkflowSpec, parse_workflow_text
    from ray_tasks import cluster

    tmp = Path(tempfile.mkdtemp(prefix="bench_optimizer_"))
    store = Store(tmp / "workbench.duckdb")
    t_ray = time.perf_counter()
    info = cluster.connect(os.environ.get("RAY_ADDRESS") or "local")
    ray_s = time.perf_counter() - t_ray
    engine = Engine(store=store, executor=ray_executor())
    try:
        # warm both worker processes so no measured run pays for a worker start
        warm = WorkflowSpec(
            name="warm-up",
            dsl=WARMUP_DSL,
            states={
                s: StateBinding(
                    action="python",
                    function="benchmarks.bench_optimizer:fetch",
                    execution="ray",
                    params={"seconds": 0.2, "key": s},
                )
                for s in ("w1", "w2")
            },
        )
        wwid, wver = library.save_workflow(store, warm)
        for _ in range(2):
            engine.run(warm, {}, workflow_id=wwid, version=wver)

        spec = parse_workflow_text(WORKFLOW_TOML)
        wid, v1 = library.save_workflow(store, spec)
        before = [engine.run(spec, {}, workflow_id=wid, version=v1) for _ in range(runs)]
        assert all(r.status == "completed" for r in before), [r.error for r in before]

        report = O.analyze(store, wid, version=v1, llm=False)
        par = [s for s in report.suggestions if s.kind == "parallelize"]
        groups = [s.proposed_changes["states"] for s in par]
        dependent_grouped = any({"produce", "consume"} <= set(g) for g in groups)
        fetch_grouped = any({"fetch_a", "fetch_b", "fetch_c"} <= set(g) for g in groups)
        if not par or dependent_grouped or not fetch_grouped:
            return {
                "ok": False,
                "summary": f"unexpected suggestions: {groups}",
                "groups": groups,
                "not_suggested": report.not_suggested,
            }
        sugg = next(s for s in par if {"fetch_a", "fetch_b", "fetch_c"} <= set(s.proposed_changes["states"]))
        accepted = O.accept(store, sugg.id)
        v2 = accepted["version"]
        spec2, _ = library.get_workflow(store, wid, v2)
        after = [engine.run(spec2, {}, workflow_id=wid, version=v2) for _ in range(runs)]
        assert all(r.status == "completed" for r in after), [r.error for r in after]

        measured = O.record_actual_improvement(store, sugg.id)
        med1, med2 = measured["a"]["median_ms"], measured["b"]["median_ms"]
        gain = sugg.gain_ms
        predicted_speedup = med1 / (med1 - gain)
        measured_speedup = med1 / med2
        error = abs(measured_speedup - predicted_speedup) / predicted_speedup
        saved = med1 - med2
        res = {
            "runs_per_version": runs,
            "ray_cpus": info.resources.get("CPU"),
            "parallel_slots": report.slots,
            "ray_start_s": round(ray_s, 1),
            "suggested_groups": groups,
            "dependent_pair_grouped": dependent_grouped,
            "kept_sequential": report.not_suggested,
            "suggestion": {
                "id": sugg.id,
                "title": sugg.title,
                "estimated_improvement_pct": sugg.estimated_improvement,
                "prediction": sugg.evidence["prediction"],
                "dsl": sugg.proposed_changes["dsl"],
            },
            "score_before": report.score,
            "potential_score": report.potential_score,
            "new_version": v2,
            "durations_v1_ms": measured["a"]["durations_ms"],
            "durations_v2_ms": measured["b"]["durations_ms"],
            "median_v1_ms": med1,
            "median_v2_ms": med2,
            "predicted_gain_ms": round(gain, 1),
            "measured_gain_ms": round(saved, 1),
            "predicted_speedup": round(predicted_speedup, 3),
            "measured_speedup": round(measured_speedup, 3),
            "speedup_error": round(error, 3),
            "gain_error": round(abs(saved - gain) / gain, 3) if gain else None,
            "significance": measured["statement"],
            "actual_improvement_pct": measured["actual_improvement"],
            "tolerance": TOLERANCE,
            "ok": error <= TOLERANCE and not dependent_grouped,
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
            "measured_at": datetime.now().isoformat(timespec="seconds"),
        }
        return res
    finally:
        engine.shutdown()
        store.close()
        cluster.shutdown()


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    res = run(int(argv[0]) if argv else RUNS)
    if "median_v1_ms" not in res:
        print(res["summary"])
        return res
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=2) + "\n")
    print(f"suggested groups: {res['suggested_groups']} (dependent pair grouped: {res['dependent_pair_grouped']})")
    for k in res["kept_sequential"]:
        print(f"  kept sequential: {k['first']} -> {k['second']}: {k['reason']}")
    print(f"new DSL (v{res['new_version']}):\n" + res["suggestion"]["dsl"])
    print(
        f"v1 median {res['median_v1_ms'] / 1000:.3f} s -> v2 median {res['median_v2_ms'] / 1000:.3f} s "
        f"({res['runs_per_version']} runs each, {res['parallel_slots']} parallel slots)"
    )
    print(f"predicted gain {res['predicted_gain_ms'] / 1000:.3f} s, measured {res['measured_gain_ms'] / 1000:.3f} s")
    print(res["significance"])
    summary = (
        f"speed-up predicted x{res['predicted_speedup']:.2f}, measured x{res['measured_speedup']:.2f} "
        f"({100 * res['speedup_error']:.1f}% off, target <= {100 * TOLERANCE:.0f}%)"
    )
    print(summary)
    res["summary"] = summary
    return res


if __name__ == "__main__":
    out = main()
    sys.exit(0 if out.get("ok") else 1)
