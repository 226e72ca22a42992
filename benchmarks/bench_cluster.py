"""Two Ray nodes on this machine beside one node, in one run: the engine's W1 and W3 workloads.

Starts its own Ray head (1 CPU, its own temp dir and ports; never the session's or anyone else's Ray),
measures W1 (fan-out/in of 200 states) and W3 (200 concurrent runs of a 10-state chain) with every state
on Ray, then adds a second node (1 CPU, ``ray start --address``) and measures again. Reports seconds,
states/s and runs/s of the single driver and how the states spread over the nodes (records.time_per_node).
Stops only the processes it started (by PID). Results: benchmarks/results/cluster.json.
``BENCH_REPEATS`` (default 3) repeats per phase, medians.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RAY = str(Path(sys.executable).with_name("ray"))
REPEATS = int(os.environ.get("BENCH_REPEATS", 3))


def free_ports(n: int) -> list[int]:
    """``n`` distinct free TCP ports on 127.0.0.1 (all bound at once, then released)."""
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _pids_with(marker: str) -> list[int]:
    from ray_tasks.cluster import _pids_with

    return _pids_with(marker)


def stop_nodes(marker: str) -> None:
    """SIGTERM then SIGKILL the processes whose command line names ``marker`` (this bench's temp dir)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in _pids_with(marker):
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        time.sleep(3)


def _announce_agent_port(temp_dir: Path, listen_port: int) -> None:
    """Write the dashboard agent's port file for the raylet when the agent is late.

    The raylet waits a fixed 15 s for ``dashboard_agent_listen_port_<node id>``, which the agent writes
    once it has started; under a load of 40 on 2 cores the agent needs 20+ s and the raylet aborts. The
    port is fixed (``--dashboard-agent-listen-port``), so it is announced early here (atomically; the
    agent later writes the same value)."""
    for session in temp_dir.glob("session_2*"):
        ids = {other.name.rsplit("_", 1)[-1] for other in session.glob("*_port_*")}
        try:  # a worker node's session has no other port file: the raylet logs its node id
            ids.update(
                re.findall(r"Setting node ID node_id=([0-9a-f]+)", (session / "logs" / "raylet.out").read_text())
            )
        except OSError:
            pass
        for node_id in ids:
            target = session / f"dashboard_agent_listen_port_{node_id}"
            if len(node_id) > 20 and not target.exists():
                tmp = target.with_name(target.name + ".tmp")
                tmp.write_text(str(listen_port))
                os.replace(tmp, target)


def start_node(
    args: list[str],
    temp_dir: Path,
    agent_listen_port: int,
    attempts: int = 4,
    env=None,
    cwd: Path | None = None,
    affinity: set[int] | None = None,
) -> None:
    """``ray start`` with its own temp dir (``--dashboard-agent-listen-port`` must be in ``args``), retried
    when the raylet dies at start-up on a loaded machine; stops the failed attempt's processes.
    ``affinity``: the CPU cores the node's processes (GCS, raylet, workers: they inherit it) may use."""
    env = (
        dict(env)
        if env is not None
        else {k: v for k, v in os.environ.items() if not k.startswith(("RAY_ADDRESS", "PYTHON"))}
    )
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    errors = []
    for attempt in range(attempts):
        own = temp_dir.with_name(f"{temp_dir.name}{attempt}")
        proc = subprocess.Popen(
            [RAY, "start", *args, f"--temp-dir={own}"],
            env=env,
            cwd=cwd,
            preexec_fn=(lambda: os.sched_setaffinity(0, affinity)) if affinity else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 240
        while proc.poll() is None and time.monotonic() < deadline:
            _announce_agent_port(own, agent_listen_port)
            if any("Check failed" in p.read_text(errors="replace") for p in own.glob("session_*/logs/raylet.out")):
                break
            time.sleep(0.5)
        if proc.poll() == 0:
            return
        if proc.poll() is None:
            proc.kill()
        errors.append((proc.communicate()[0] or "")[-400:] or "the raylet died during start-up")
        stop_nodes(str(own))
    raise RuntimeError(f"ray start failed {attempts} times: " + " | ".join(errors))


def head_args(p: list[int], *extra: str) -> list[str]:
    """``ray start`` flags of a head node on the 9 free ports ``p`` (GCS, client server, dashboard, then
    the node's own six), without the dashboard, plus ``extra`` (CPUs, memory, resources)."""
    return [
        "--head",
        f"--port={p[0]}",
        f"--ray-client-server-port={p[1]}",
        f"--dashboard-port={p[2]}",
        "--include-dashboard=false",
        *node_ports(p[3:9]),
        *extra,
    ]


def node_ports(p: list[int]) -> list[str]:
    """``ray start`` flags of a node's own six ports ``p``; the dashboard agent listens on ``p[2]``."""
    return [
        f"--node-manager-port={p[0]}",
        f"--object-manager-port={p[1]}",
        f"--dashboard-agent-listen-port={p[2]}",
        f"--dashboard-agent-grpc-port={p[3]}",
        f"--metrics-export-port={p[4]}",
        f"--runtime-env-agent-port={p[5]}",
    ]


def _phase(engine, store, label: str, repeats: int) -> list[dict]:
    from benchmarks.bench_engine import _spec, engine_time, workloads
    from engine import records

    rows = []
    for name, (dsl, states, runs) in workloads().items():
        if name.startswith("W2"):
            continue
        spec = _spec(dsl, states, "ray")
        engine_time(engine, spec, min(runs, 20))  # warm the workers of every node
        before = {r["node"]: int(r["steps"]) for r in records.time_per_node(store)}
        times = [engine_time(engine, spec, runs) for _ in range(repeats)]
        store.flush()
        after = {r["node"]: int(r["steps"]) for r in records.time_per_node(store)}
        med = statistics.median(times)
        n_states = len(states) * runs
        row = {
            "phase": label,
            "workload": name,
            "seconds": round(med, 3),
            "states_per_s": round(n_states / med, 1),
            "runs_per_s": round(runs / med, 1),
            "samples_s": [round(t, 3) for t in times],
            "steps_per_node": {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)},
            "load_avg": round(os.getloadavg()[0], 1),
        }
        rows.append(row)
        print(
            f"{label:<10} {name:<24} {med:6.2f} s  {row['states_per_s']:7.1f} states/s  {row['runs_per_s']:6.1f} runs/s  "
            f"per node {row['steps_per_node']}  load {row['load_avg']}",
            flush=True,
        )
    return rows


def main() -> dict:
    os.environ.setdefault("WORKBENCH_FUNCTION_DIRS", str(HERE.parent))
    os.environ["WORKBENCH_SHIP_CODE"] = "0"  # one machine: the code is on the disk both nodes see
    root = Path(tempfile.mkdtemp(prefix="wbb", dir="/tmp"))
    p = free_ports(20)
    common = ["--num-cpus=1", "--object-store-memory=150000000", "--disable-usage-stats"]
    try:
        start_node(head_args(p, "--resources", '{"node_a": 1}', *common), root / "h", p[5])
        address = f"127.0.0.1:{p[0]}"
        from engine.executors import ray_executor
        from engine.runner import Engine
        from engine.store import Store
        from ray_tasks import cluster

        cluster.connect(address)
        store = Store(root / "bench.duckdb")
        engine = Engine(store=store, executor=ray_executor())
        try:
            rows = _phase(engine, store, "one node", REPEATS)
            start_node(
                [f"--address={address}", "--resources", '{"node_b": 1}', *node_ports(p[10:16]), *common],
                root / "b",
                p[12],
            )
            deadline = time.monotonic() + 120
            while (cluster.info() or cluster.connect(address)).resources.get(
                "CPU", 0
            ) < 2 and time.monotonic() < deadline:
                time.sleep(1)
            rows += _phase(engine, store, "two nodes", REPEATS)
        finally:
            engine.shutdown()
            store.close()
            cluster.shutdown()
    finally:
        stop_nodes(str(root))
        shutil.rmtree(root, ignore_errors=True)
    result = {
        "rows": rows,
        "cpus": os.cpu_count(),
        "repeats": REPEATS,
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    out = HERE / "results" / "cluster.json"
    out.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
