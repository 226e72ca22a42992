"""Engine overhead against raw Ray doing the same tasks in the same process.

W1: fan-out/fan-in of 200 no-op states; W2: a chain of 50 no-op states; W3: 200 concurrent runs
of a 10-state chain. Two engine modes, recording on (real Store on a temp DuckDB file):
* ``ray``  — every state is a Ray task (the like-for-like comparison with raw Ray);
* ``auto`` — no-op and recorded-cheap states run inline in the driver (the stretch goal).
Goal: engine(ray) <= 1.25 x raw Ray.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPEATS = int(os.environ.get("BENCH_REPEATS", 3))


def _spec(dsl: str, states: list[str], execution: str):
    from engine.workflow_file import StateBinding, WorkflowSpec

    binding = StateBinding(action="python", function="benchmarks.functions:noop", execution=execution)
    return WorkflowSpec(
        name=f"bench-{execution}", dsl=dsl, states={s: binding for s in states}, settings={"max_steps": 100_000}
    )


def workloads():
    fan = [f"s{i}" for i in range(200)]
    chain50 = [f"c{i}" for i in range(50)]
    chain10 = [f"c{i}" for i in range(10)]

    def chain_dsl(names):
        steps = [f"start->{names[0]}"] + [f"{a}->{b}" for a, b in zip(names, names[1:])] + [f"{names[-1]}->end"]
        return ";".join(steps) + ";"

    return {
        "W1 fan-out/in 200": (f"start->[{','.join(fan)}]; [{','.join(fan)}]->end;", fan, 1),
        "W2 chain 50": (chain_dsl(chain50), chain50, 1),
        "W3 200 runs x chain 10": (chain_dsl(chain10), chain10, 200),
    }


def raw_ray(name: str, states: list[str], runs: int) -> float:
    import ray

    from ray_tasks.tasks import run_state_task

    payload = {
        "action": "python",
        "binding": {"action": "python", "function": "benchmarks.functions:noop"},
        "context": {},
        "state": "x",
        "python_path": [str(HERE.parent)],
    }
    t0 = time.perf_counter()
    if name.startswith("W1"):
        ray.get([run_state_task.remote(payload) for _ in states])
    elif name.startswith("W2"):
        for _ in states:
            ray.get(run_state_task.remote(payload))
    else:

        async def chain():
            for _ in states:
                await run_state_task.remote(payload)

        async def all_runs():
            await asyncio.gather(*(chain() for _ in range(runs)))

        asyncio.run(all_runs())
    return time.perf_counter() - t0


def engine_time(engine, spec, runs: int) -> float:
    t0 = time.perf_counter()
    ids = [engine.start(spec, {}) for _ in range(runs)]
    results = [engine.wait(i) for i in ids]
    elapsed = time.perf_counter() - t0
    bad = [r for r in results if r.status != "completed"]
    if bad:
        raise RuntimeError(f"benchmark run failed: {bad[0].error}")
    return elapsed


def main() -> dict:
    os.environ.setdefault("WORKBENCH_RAY_CPUS", "2")
    from engine.executors import ray_executor
    from engine.runner import Engine
    from engine.store import Store
    from ray_tasks import cluster

    cluster.connect(os.environ.get("RAY_ADDRESS") or "local")
    tmp = tempfile.mkdtemp(prefix="bench-engine-")
    store = Store(Path(tmp) / "workbench.duckdb")
    engine = Engine(store=store, executor=ray_executor())
    rows = []
    try:
        for name, (dsl, states, runs) in workloads().items():
            specs = {m: _spec(dsl, states, m) for m in ("ray", "auto")}
            # warm up workers and the cheap-state statistics of the auto spec
            raw_ray(name, states[:20], min(runs, 20))
            for _ in range(2):
                engine_time(engine, specs["ray"], min(runs, 20))
            for _ in range(6):
                engine_time(engine, specs["auto"], 1)
            engine._cheap_cache.clear()
            raw = [raw_ray(name, states, runs) for _ in range(REPEATS)]
            eng_ray = [engine_time(engine, specs["ray"], runs) for _ in range(REPEATS)]
            eng_auto = [engine_time(engine, specs["auto"], runs) for _ in range(REPEATS)]
            r, e, a = statistics.median(raw), statistics.median(eng_ray), statistics.median(eng_auto)
            rows.append(
                {
                    "workload": name,
                    "raw_ray_s": round(r, 3),
                    "engine_ray_s": round(e, 3),
                    "ratio_ray": round(e / r, 2),
                    "engine_auto_s": round(a, 3),
                    "ratio_auto": round(a / r, 2),
                }
            )
            print(
                f"{name:<24} raw Ray {r:6.3f} s | engine (every state on Ray) {e:6.3f} s = {e / r:4.2f}x | "
                f"engine (auto: cheap states inline) {a:6.3f} s = {a / r:4.2f}x",
                flush=True,
            )
        # W4: 1,000 executions in flight at once in one process (3 Ray states each)
        import threading

        sleepy = _spec("start->a; a->b; b->c; c->end;", ["a", "b", "c"], "ray")
        threads_before = threading.active_count()
        t0 = time.perf_counter()
        ids = [engine.start(sleepy, {}) for _ in range(1000)]
        peak_live = len(engine.live_executions())
        threads_during = threading.active_count()
        done = [engine.wait(i, timeout=600) for i in ids]
        w4 = time.perf_counter() - t0
        ok4 = sum(r.status == "completed" for r in done)
        rows.append(
            {
                "workload": "W4 1000 concurrent runs",
                "runs": 1000,
                "completed": ok4,
                "peak_live_executions": peak_live,
                "extra_threads": threads_during - threads_before,
                "seconds": round(w4, 2),
            }
        )
        print(
            f"W4 1000 concurrent runs: {ok4}/1000 completed in {w4:.1f} s; {peak_live} live at once; "
            f"{threads_during - threads_before} extra threads (one driver thread for all)",
            flush=True,
        )
        recorded = store.query("SELECT count(*) AS n FROM state_transitions")[0]["n"]
    finally:
        engine.shutdown()
        store.close()
    out = HERE / "results" / "engine.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "repeats": REPEATS, "recorded_transitions": recorded}, indent=2))
    ratios = [r for r in rows if "ratio_ray" in r]
    ok = all(r["ratio_ray"] <= 1.25 for r in ratios)
    summary = "; ".join(f"{r['workload'].split()[0]} {r['ratio_ray']}x/{r['ratio_auto']}x" for r in ratios)
    return {"ok": ok, "summary": f"engine vs raw Ray (ray/auto): {summary}"}


if __name__ == "__main__":
    print(main())
