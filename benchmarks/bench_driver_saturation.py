"""Where one driver saturates: the driver on one core, the Ray node on the other, offered load ramped.

Starts its own Ray head (its own temp dir and ports, never anyone else's Ray) pinned to one core with
``os.sched_setaffinity`` (its raylet, GCS and workers inherit the mask), pins this process — the driver:
one :class:`engine.runner.Engine` with records on — to the other core, then ramps the offered load:

* **chains**: N concurrent runs of a 10-state chain (N = 1, 2, 5, 10, …), runs/s and states/s;
* **fan-outs**: one run of a fan-out/in of W no-op states (W = 10, 50, 100, …), states/s.

Each level runs waves for at least ``BENCH_WINDOW_S`` seconds (default 3). Past 50 runs / a fan-out of
500, the ramp stops once two levels in a row raise the best throughput by less than 5 % (or when
``BENCH_RAMP_BUDGET_S``, default 240 s per kind, is spent); the **knee** is the lowest level within 5 %
of the best (the offered load where throughput stopped rising). At each level it records the driver
process's CPU time per wall second (its share of its core; includes Ray's client threads in the driver),
states per driver CPU second (what one whole core for the driver would sustain: on a shared machine
the measured rate is lower when other processes take the driver's core) and how busy each core was (``/proc/stat``: other users' processes on the machine count
too). Every state runs on Ray (``execution = "ray"``), the function is a no-op, so what saturates is
the driver's and Ray's per-state cost, not the work. The affinity of this process is restored at the
end. Results: benchmarks/results/driver_saturation.json.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WINDOW_S = float(os.environ.get("BENCH_WINDOW_S", 3))
WORKER_SLOTS = int(os.environ.get("BENCH_WORKER_SLOTS", 2))  # logical CPUs of the Ray node (one real core)
CHAIN_LEVELS = (1, 2, 5, 10, 20, 50, 100, 200, 400, 800)
FAN_LEVELS = (10, 50, 100, 200, 500, 1000, 2000, 4000)
FLAT = 0.05  # a level that raises the best throughput by less than this is "no longer rising"
MIN_LEVEL = {"chains": 50, "fan-outs": 500}  # ramp at least this far (a stall on a shared machine is not a knee)
RAMP_BUDGET_S = float(os.environ.get("BENCH_RAMP_BUDGET_S", 240))  # per workload kind


def pick_cores(available: set[int]) -> tuple[int, int] | None:
    """(driver core, Ray core): the first two cores this process may run on; None with fewer than two."""
    cores = sorted(available)
    return (cores[0], cores[1]) if len(cores) >= 2 else None


def still_rising(throughputs: list[float], flat: float = FLAT, patience: int = 2) -> bool:
    """Whether the ramp should go on: False once ``patience`` levels in a row raised the best
    throughput seen before them by less than ``flat`` (a fraction)."""
    best, stalls = 0.0, 0
    for t in throughputs:
        stalls = stalls + 1 if best and t < best * (1 + flat) else 0
        best = max(best, t)
    return stalls < patience


def knee(points: list[dict], key: str, flat: float = FLAT) -> dict:
    """The lowest-load point whose ``key`` is within ``flat`` of the best: where throughput stopped rising."""
    if not points:
        raise ValueError("no points measured")
    best = max(p[key] for p in points)
    return next(p for p in points if p[key] >= best * (1 - flat))


def _core_times(cores: tuple[int, ...]) -> dict[int, tuple[float, float]]:
    """(busy, total) jiffies of each core in ``cores`` from /proc/stat."""
    out = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *fields = line.split()
        if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cores:
            values = [float(v) for v in fields[:8]]
            idle = values[3] + values[4]  # idle + iowait
            out[int(name[3:])] = (sum(values) - idle, sum(values))
    return out


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Window:
    """Wall time, this process's CPU time and each core's busy share over one measured level."""

    def __init__(self, cores: tuple[int, ...]):
        self.cores = cores

    def __enter__(self) -> Window:
        self.t0, self.cpu0, self.cores0 = time.perf_counter(), _own_cpu_s(), _core_times(self.cores)
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.t0
        self.driver_cpu_share = (_own_cpu_s() - self.cpu0) / self.wall
        after = _core_times(self.cores)
        self.core_busy = {
            c: (after[c][0] - self.cores0[c][0]) / max(after[c][1] - self.cores0[c][1], 1e-9)
            for c in self.cores
            if c in after
        }


def _run_waves(engine, spec, runs: int, window_s: float) -> int:
    """Start ``runs`` runs at once and wait for all, again until ``window_s`` passed; runs done."""
    from benchmarks.bench_engine import engine_time

    done, t0 = 0, time.perf_counter()
    while done == 0 or time.perf_counter() - t0 < window_s:
        engine_time(engine, spec, runs)  # raises when a run did not complete
        done += runs
    return done


def ramp(engine, kind: str, cores: tuple[int, ...], window_s: float = WINDOW_S) -> list[dict]:
    """Measure one workload kind ("chains" or "fan-outs") at rising load until throughput is flat (past
    MIN_LEVEL) or RAMP_BUDGET_S ran out; the last point says why the ramp stopped (``ramp_stopped``)."""
    from benchmarks.bench_engine import _spec

    points: list[dict] = []
    started = time.monotonic()
    levels = CHAIN_LEVELS if kind == "chains" else FAN_LEVELS
    for level in levels:
        if kind == "chains":
            states = [f"c{i}" for i in range(10)]
            steps = [f"start->{states[0]}"] + [f"{a}->{b}" for a, b in zip(states, states[1:])] + [f"{states[-1]}->end"]
            dsl, runs = ";".join(steps) + ";", level
        else:
            states = [f"s{i}" for i in range(level)]
            dsl, runs = f"start->[{','.join(states)}]; [{','.join(states)}]->end;", 1
        spec = _spec(dsl, states, "ray")
        _run_waves(engine, spec, runs, 0)  # warm-up: workers started, the spec loaded
        with Window(cores) as w:
            n_runs = _run_waves(engine, spec, runs, window_s)
        point = {
            "level": level,
            "offered": f"{level} concurrent runs" if kind == "chains" else f"fan-out of {level}",
            "runs": n_runs,
            "seconds": round(w.wall, 3),
            "runs_per_s": round(n_runs / w.wall, 1),
            "states_per_s": round(n_runs * len(states) / w.wall, 1),
            "driver_cpu_share": round(w.driver_cpu_share, 3),
            # the driver's cost per state, whatever else loads the machine: the ceiling of one whole core
            "states_per_driver_cpu_s": round(n_runs * len(states) / max(w.driver_cpu_share * w.wall, 1e-9), 1),
            "core_busy": {str(c): round(v, 3) for c, v in w.core_busy.items()},
            "load_avg": round(os.getloadavg()[0], 1),
        }
        points.append(point)
        print(
            f"{kind:<8} {point['offered']:<22} {point['runs_per_s']:7.1f} runs/s {point['states_per_s']:8.1f} states/s"
            f"  driver CPU {point['driver_cpu_share']:.0%} ({point['states_per_driver_cpu_s']:.0f} states/CPU-s)  cores busy {point['core_busy']}  load {point['load_avg']}",
            flush=True,
        )
        if time.monotonic() - started > RAMP_BUDGET_S:
            point["ramp_stopped"] = f"time budget ({RAMP_BUDGET_S:.0f} s) spent"
            break
        if level >= MIN_LEVEL[kind] and not still_rising([p["states_per_s"] for p in points]):
            point["ramp_stopped"] = "throughput flat for two levels"
            break
    return points


def main() -> dict:
    from benchmarks.bench_cluster import free_ports, head_args, start_node, stop_nodes

    os.environ.setdefault("WORKBENCH_FUNCTION_DIRS", str(HERE.parent))
    os.environ["WORKBENCH_SHIP_CODE"] = "0"  # one machine: the code is on the disk the node sees
    original = os.sched_getaffinity(0)
    pair = pick_cores(original)
    root = Path(tempfile.mkdtemp(prefix="wbs", dir="/tmp"))
    p = free_ports(12)
    result: dict = {"pinned": pair is not None}
    try:
        start_node(
            head_args(p, f"--num-cpus={WORKER_SLOTS}", "--object-store-memory=150000000", "--disable-usage-stats"),
            root / "h",
            p[5],
            affinity={pair[1]} if pair else None,
        )
        if pair:
            os.sched_setaffinity(0, {pair[0]})
        from engine.executors import ray_executor
        from engine.runner import Engine
        from engine.store import Store
        from ray_tasks import cluster

        cluster.connect(f"127.0.0.1:{p[0]}")
        store = Store(root / "bench.duckdb")
        engine = Engine(store=store, executor=ray_executor())
        cores = tuple(pair) if pair else tuple(sorted(original))
        try:
            load_before = round(os.getloadavg()[0], 1)
            chains = ramp(engine, "chains", cores)
            fans = ramp(engine, "fan-outs", cores)
        finally:
            engine.shutdown()
            store.close()
            cluster.shutdown()
    finally:
        os.sched_setaffinity(0, original)
        stop_nodes(str(root))
        shutil.rmtree(root, ignore_errors=True)
    chain_knee, fan_knee = knee(chains, "states_per_s"), knee(fans, "states_per_s")
    result.update(
        {
            "driver_core": pair[0] if pair else None,
            "ray_core": pair[1] if pair else None,
            "worker_slots": WORKER_SLOTS,
            "window_s": WINDOW_S,
            "chains": chains,
            "fan_outs": fans,
            "knee": {"chains": chain_knee, "fan_outs": fan_knee},
            "load_avg_before": load_before,
            "cpus": os.cpu_count(),
            "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        }
    )
    (HERE / "results" / "driver_saturation.json").write_text(json.dumps(result, indent=1))
    summary = (
        f"knee: {chain_knee['runs_per_s']} runs/s ({chain_knee['states_per_s']} states/s) at {chain_knee['offered']}, "
        f"driver CPU {chain_knee['driver_cpu_share']:.0%}; fan-outs {fan_knee['states_per_s']} states/s at "
        f"{fan_knee['offered']}, driver CPU {fan_knee['driver_cpu_share']:.0%}; per driver CPU second: "
        f"{chain_knee['states_per_driver_cpu_s']} (chains), {fan_knee['states_per_driver_cpu_s']} (fan-outs) states"
    )
    print(summary)
    return {"ok": True, "summary": summary, **result}


if __name__ == "__main__":
    main()
