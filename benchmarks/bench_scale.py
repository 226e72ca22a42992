"""Scale (issue 10): many runs started from the API, and driver memory over many sequential runs.

S1: 1,000 runs started at once with ``engine.api.start`` (one thread calls start; the runs go on
    concurrently in the driver loop), time split into *start* (the 1,000 ``api.start`` calls, library
    version lookup included), *run* (from the last start until every run finished, as the engine sees
    it) and *collect* (then ``api.wait`` for each of the 1,000 full results). For
    comparison, 200 more runs are started with the uncached library lookup ``ensure_version`` made
    before its cache.
S2: 10,000 sequential ``api.run`` calls; every 500 runs the driver's RSS (``/proc/self/status``) and
    ``tracemalloc``'s traced memory are sampled after ``gc.collect()``. The slope after warm-up (the
    first 20 % of the runs) is fitted by least squares and reported per 1,000 runs; the verdict
    "flat" means the traced heap grows by less than 100 bytes per run.

Workflow: ``start->a; a->b; b->end;`` — ``a`` a tiny python state (returns a 200-character string),
``b`` a python no-op, both ``execution = "auto"``: their first runs go to Ray, then (recorded p95
under 5 ms) they run inline in the driver. Records go to a real Store on a temporary DuckDB file.

Environment: ``BENCH_SCALE_CONCURRENT`` (1000), ``BENCH_SCALE_SEQUENTIAL`` (10000),
``BENCH_SCALE_SAMPLE_EVERY`` (500), ``BENCH_SCALE_LABEL`` (a note kept with the result). Each run
is appended to ``benchmarks/results/scale.json`` (``latest`` plus the ``history`` of earlier runs).
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import statistics
import subprocess
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULT = HERE / "results" / "scale.json"
FLAT_BYTES_PER_RUN = 100.0


def tiny(context: dict, size: int = 200) -> dict:
    """A tiny python state: writes a short string and a counter."""
    return {"payload": "x" * size, "count": int(context.get("count", 0)) + 1}


def _spec(name: str):
    from engine.workflow_file import StateBinding, WorkflowSpec

    return WorkflowSpec(
        name=name,
        dsl="start->a; a->b; b->end;",
        states={
            "a": StateBinding(action="python", function="benchmarks.bench_scale:tiny", execution="auto"),
            "b": StateBinding(action="python", function="benchmarks.functions:noop", execution="auto"),
        },
    )


def rss_bytes() -> int:
    """Resident set size of this process (Linux /proc)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def slope_per_run(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of (runs, value) points, in value units per run."""
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var if var else 0.0


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def concurrent_starts(api, store, spec, n: int, uncached: bool = False) -> dict:
    """S1: n runs started from the API at once; start and run time apart.

    ``uncached``: each start first does the library lookup ``ensure_version`` did before its cache
    (the comparison point), then passes the version to ``api.start``.
    """
    from engine import library

    per_start = []
    t0 = time.perf_counter()
    ids = []
    for _ in range(n):
        s = time.perf_counter()
        version = api._library_version(store, spec, library) if uncached else None
        ids.append(api.start(spec, {}, store=store, version=version))
        per_start.append((time.perf_counter() - s) * 1000)
    t_started = time.perf_counter()
    engine = api.engine(store)
    pending = set(ids)
    deadline = t_started + 900
    while pending and time.perf_counter() < deadline:  # every run finished (the engine's view)
        pending &= set(engine.live_executions())
        time.sleep(0.02)
    t_finished = time.perf_counter()
    results = [api.wait(i, timeout=900, store=store) for i in ids]  # then collect the full results
    t_done = time.perf_counter()
    ok = sum(r.status == "completed" for r in results)
    return {
        "runs": n,
        "completed": ok,
        "start_s": round(t_started - t0, 3),
        "run_s": round(t_finished - t_started, 3),
        "collect_results_s": round(t_done - t_finished, 3),
        "total_s": round(t_done - t0, 3),
        "start_ms_mean": round(statistics.fmean(per_start), 3),
        "start_ms_p50": round(_pct(per_start, 0.5), 3),
        "start_ms_p95": round(_pct(per_start, 0.95), 3),
        "runs_per_s": round(n / (t_finished - t0), 1),
    }


def ensure_version_cost(api, store, spec, n: int = 200) -> tuple[float, float]:
    """Mean ms of ``api.ensure_version`` for an unchanged spec: cached, and the uncached library lookup."""
    from engine import library

    t0 = time.perf_counter()
    for _ in range(n):
        api.ensure_version(spec, store)
    cached = (time.perf_counter() - t0) * 1000 / n
    m = max(5, n // 10)
    t0 = time.perf_counter()
    for _ in range(m):
        api._library_version(store, spec, library)
    return cached, (time.perf_counter() - t0) * 1000 / m


def sequential_memory(api, store, spec, n: int, every: int) -> dict:
    """S2: n sequential runs; RSS and traced memory sampled every ``every`` runs."""
    samples = []
    failed = 0
    tracemalloc.start(1)
    t0 = time.perf_counter()
    try:
        for i in range(1, n + 1):
            res = api.run(spec, {}, store=store)
            failed += res.status != "completed"
            if i % every == 0:
                store.flush()  # rows waiting for the next flush are transient, not retained
                gc.collect()
                cur, peak = tracemalloc.get_traced_memory()
                samples.append(
                    {
                        "runs": i,
                        "rss_mb": round(rss_bytes() / 2**20, 2),
                        "traced_mb": round(cur / 2**20, 3),
                        "seconds": round(time.perf_counter() - t0, 2),
                    }
                )
                print(
                    f"  {i:>6} runs  rss {samples[-1]['rss_mb']:8.1f} MB  traced {samples[-1]['traced_mb']:8.2f} MB"
                    f"  {samples[-1]['seconds']:7.1f} s",
                    flush=True,
                )
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - t0
    warm = [s for s in samples if s["runs"] > n * 0.2] or samples
    traced_slope = slope_per_run([(s["runs"], s["traced_mb"] * 2**20) for s in warm])
    rss_slope = slope_per_run([(s["runs"], s["rss_mb"] * 2**20) for s in warm])
    return {
        "runs": n,
        "failed": failed,
        "seconds": round(elapsed, 1),
        "runs_per_s": round(n / elapsed, 1),
        "sample_every": every,
        "warmup_runs": int(n * 0.2),
        "samples": samples,
        "traced_bytes_per_run_after_warmup": round(traced_slope, 1),
        "rss_bytes_per_run_after_warmup": round(rss_slope, 1),
        "traced_kb_per_1000_runs": round(traced_slope * 1000 / 1024, 1),
        "rss_kb_per_1000_runs": round(rss_slope * 1000 / 1024, 1),
        "flat": traced_slope < FLAT_BYTES_PER_RUN,
        "note": "tracemalloc is on during S2 (1 frame), which slows the runs",
    }


def _git_head() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=HERE.parent, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _write(result: dict) -> None:
    history = []
    if RESULT.exists():
        try:
            old = json.loads(RESULT.read_text())
            history = old.get("history", [])
            if old.get("latest"):
                prev = dict(old["latest"])
                prev.get("S2_sequential_memory", {}).pop("samples", None)
                history.append(prev)
        except (ValueError, AttributeError):
            history = []
    RESULT.parent.mkdir(exist_ok=True)
    RESULT.write_text(json.dumps({"latest": result, "history": history[-10:]}, indent=2) + "\n")


def main() -> dict:
    os.environ.setdefault("WORKBENCH_RAY_CPUS", "2")
    # the states call benchmarks.* modules: the repo root is a function folder for this process (and its Ray)
    os.environ.setdefault("WORKBENCH_FUNCTION_DIRS", str(HERE.parent))
    n_conc = int(os.environ.get("BENCH_SCALE_CONCURRENT", 1000))
    n_seq = int(os.environ.get("BENCH_SCALE_SEQUENTIAL", 10_000))
    every = int(os.environ.get("BENCH_SCALE_SAMPLE_EVERY", 500))
    from engine import api
    from engine.runner import get_engine
    from engine.store import Store
    from ray_tasks import cluster

    cluster.connect(os.environ.get("RAY_ADDRESS") or "local")
    tmp = tempfile.mkdtemp(prefix="bench-scale-")
    store = Store(Path(tmp) / "workbench.duckdb")
    engine = get_engine(store)
    spec = _spec("bench-scale")
    try:
        for _ in range(8):  # warm the Ray workers and the cheap-state statistics (auto → inline)
            api.run(spec, {}, store=store)
        engine._cheap_cache.clear()
        ev_ms, ev_uncached_ms = ensure_version_cost(api, store, spec)
        print(
            f"ensure_version (unchanged spec): {ev_ms:.3f} ms per call cached, {ev_uncached_ms:.2f} ms "
            f"for the library lookup it saves",
            flush=True,
        )
        s1 = concurrent_starts(api, store, spec, n_conc)
        print(
            f"S1 {n_conc} concurrent runs from the API: {s1['completed']}/{n_conc} completed; start {s1['start_s']} s "
            f"({s1['start_ms_mean']} ms per start, p95 {s1['start_ms_p95']} ms), run {s1['run_s']} s, "
            f"then api.wait for every result {s1['collect_results_s']} s; total {s1['total_s']} s",
            flush=True,
        )
        n_unc = max(1, n_conc // 5)
        s1u = concurrent_starts(api, store, spec, n_unc, uncached=True)
        print(
            f"S1 (comparison) {n_unc} runs started with the uncached library lookup: start {s1u['start_s']} s "
            f"({s1u['start_ms_mean']} ms per start), run {s1u['run_s']} s",
            flush=True,
        )
        print(f"S2 {n_seq} sequential runs, memory sampled every {every}:", flush=True)
        s2 = sequential_memory(api, store, spec, n_seq, every)
        print(
            f"S2 after warm-up: traced {s2['traced_kb_per_1000_runs']} KB / 1,000 runs, "
            f"RSS {s2['rss_kb_per_1000_runs']} KB / 1,000 runs; flat={s2['flat']}",
            flush=True,
        )
    finally:
        engine.shutdown()
        store.close()
    result = {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_head": _git_head(),
        "label": os.environ.get("BENCH_SCALE_LABEL", ""),
        "execution": "auto (python states inline after their first Ray runs)",
        "workflow": "start->a; a->b; b->end; (a tiny python, b no-op)",
        "ensure_version_ms": round(ev_ms, 3),
        "ensure_version_uncached_ms": round(ev_uncached_ms, 3),
        "S1_concurrent_from_api": s1,
        "S1_uncached_lookup_comparison": s1u,
        "S2_sequential_memory": s2,
    }
    _write(result)
    ok = s1["completed"] == n_conc and s2["failed"] == 0 and s2["flat"]
    return {
        "ok": ok,
        "summary": f"S1 {n_conc} runs: start {s1['start_s']} s + run {s1['run_s']} s; "
        f"S2 {n_seq} runs: traced {s2['traced_kb_per_1000_runs']} KB/1k runs, "
        f"RSS {s2['rss_kb_per_1000_runs']} KB/1k runs after warm-up",
    }


if __name__ == "__main__":
    print(main())
