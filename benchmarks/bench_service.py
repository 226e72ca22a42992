"""The workbench service against the in-process API, same workflows, one machine.

For a 3-state chain (``noop``: states run in the driver; ``ray``: each state is a Ray task running
``benchmarks.functions:noop``) it measures
* submit rate: runs started per second by one client in a loop (``POST …/execute`` vs ``api.start``),
  and by 8 client threads at once for the service;
* throughput: the same batch from first submit to last completion;
* latency: submit → completed for one run at a time (service: ``POST …/execute`` then the SSE
  stream until ``execution_finished``, the stream reading the records every 20 ms; in process:
  ``api.start`` + ``api.wait``).

The service is a real ``workbench serve`` subprocess with its own Ray and store; the in-process
part runs after it stops, with its own Ray and store. Results: ``benchmarks/results/service.json``.

    python -m benchmarks.bench_service          # BENCH_SERVICE_RUNS (200), BENCH_SERVICE_LATENCY (30)
"""
from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RUNS = int(os.environ.get("BENCH_SERVICE_RUNS", 200))
LATENCY_RUNS = int(os.environ.get("BENCH_SERVICE_LATENCY", 30))
THREADS = 8
CHAIN = "start->s1; s1->s2; s2->s3; s3->end;"


def workflow_toml(kind: str) -> str:
    """The 3-state chain; ``ray`` binds each state to a Ray task."""
    text = f'name = "bench-service-{kind}"\ndsl = "{CHAIN}"\n'
    if kind == "ray":
        for s in ("s1", "s2", "s3"):
            text += f'[states.{s}]\naction = "python"\nfunction = "benchmarks.functions:noop"\nexecution = "ray"\n'
    return text


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def _latency(xs: list[float]) -> dict:
    return {"n": len(xs), "median_ms": round(statistics.median(xs), 2), "p95_ms": round(_pct(xs, 0.95), 2),
            "min_ms": round(min(xs), 2), "max_ms": round(max(xs), 2)}


# ------------------------------------------------------------------------------- the service
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(tmp: Path) -> tuple[subprocess.Popen, str]:
    import httpx

    port = _free_port()
    env = dict(os.environ, WORKBENCH_DB=str(tmp / "svc.duckdb"), RAY_ADDRESS="local", WORKBENCH_LOG_LEVEL="WARNING",
               WORKBENCH_RAY_CPUS=os.environ.get("WORKBENCH_RAY_CPUS", "2"),
               WORKBENCH_RAY_OBJECT_STORE_MB=os.environ.get("WORKBENCH_RAY_OBJECT_STORE_MB", "300"))
    log = open(tmp / "server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "serve", "--port", str(port)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"workbench serve exited: {(tmp / 'server.log').read_text()[-2000:]}")
        try:
            if httpx.get(url + "/ready", timeout=5).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("workbench serve was not ready after 240 s")


def _wait_all(client, workflow_id: str, ids: list[str], timeout: float = 600) -> None:
    """Until every run in ``ids`` ended (one list query per check, not one request per run)."""
    deadline = time.monotonic() + timeout
    wanted = set(ids)
    while True:
        rows = client.executions(workflow=workflow_id, limit=1000)
        done = {r["execution_id"] for r in rows if r["status"] in ("completed", "failed", "cancelled")}
        if wanted <= done:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(wanted - done)} runs did not finish")
        time.sleep(0.05)


def bench_service(url: str, kind: str) -> dict:
    from engine.client import WorkbenchClient

    client = WorkbenchClient(url, timeout=120)
    wid = client.create_workflow(toml=workflow_toml(kind))["workflow_id"]
    client.wait(client.execute(wid)["execution_id"], timeout=120)  # warm: first run, Ray workers
    # one client in a loop
    t0 = time.perf_counter()
    ids = [client.execute(wid)["execution_id"] for _ in range(RUNS)]
    t_sub = time.perf_counter() - t0
    _wait_all(client, wid, ids)
    t_all = time.perf_counter() - t0
    # several client threads at once
    clients = [WorkbenchClient(url, timeout=120) for _ in range(THREADS)]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        ids2 = list(pool.map(lambda i: clients[i % THREADS].execute(wid)["execution_id"], range(RUNS)))
    t_sub_par = time.perf_counter() - t0
    _wait_all(client, wid, ids2)
    t_all_par = time.perf_counter() - t0
    # one at a time: submit -> execution_finished on the event stream
    lat = []
    for _ in range(LATENCY_RUNS):
        t = time.perf_counter()
        eid = client.execute(wid)["execution_id"]
        for ev in client.events(eid, timeout=60, poll_ms=20):
            if ev["type"] == "execution_finished":
                assert ev["status"] == "completed", ev
                break
        lat.append((time.perf_counter() - t) * 1000)
    rows = {r["execution_id"]: r["status"] for r in client.executions(workflow=wid, limit=1000)}
    statuses = {rows.get(i) for i in ids + ids2}
    for c in clients:
        c.close()
    client.close()
    return {"submitted_per_s": round(RUNS / t_sub, 1), "completed_per_s": round(RUNS / t_all, 1),
            f"submitted_per_s_{THREADS}_threads": round(RUNS / t_sub_par, 1),
            f"completed_per_s_{THREADS}_threads": round(RUNS / t_all_par, 1),
            "submit_to_completed": _latency(lat), "final_statuses": sorted(statuses)}


# ------------------------------------------------------------------------------- in process
def bench_in_process(kind: str) -> dict:
    from engine import api
    from engine.library import save_workflow
    from engine.workflow_file import parse_workflow_text

    eng = api.engine()
    spec = parse_workflow_text(workflow_toml(kind), fmt="toml")
    version = save_workflow(eng.store, spec)
    api.wait(api.start(spec, {}, version=version), 120)  # warm
    t0 = time.perf_counter()
    ids = [api.start(spec, {}, version=version) for _ in range(RUNS)]
    t_sub = time.perf_counter() - t0
    results = [api.wait(i, 600) for i in ids]
    t_all = time.perf_counter() - t0
    lat = []
    for _ in range(LATENCY_RUNS):
        t = time.perf_counter()
        res = api.wait(api.start(spec, {}, version=version), 60)
        assert res.status == "completed", res
        lat.append((time.perf_counter() - t) * 1000)
    return {"submitted_per_s": round(RUNS / t_sub, 1), "completed_per_s": round(RUNS / t_all, 1),
            "submit_to_completed": _latency(lat), "final_statuses": sorted({r.status for r in results})}


def _in_process_all(tmp: Path) -> dict:
    os.environ["WORKBENCH_DB"] = str(tmp / "inproc.duckdb")
    os.environ.setdefault("WORKBENCH_RAY_CPUS", "2")
    os.environ.setdefault("WORKBENCH_RAY_OBJECT_STORE_MB", "300")
    os.environ["RAY_ADDRESS"] = "local"
    from engine import api

    eng = api.engine()
    eng.start_cluster()
    deadline = time.monotonic() + 240
    while not eng.cluster_status()["ready"]:
        if eng.cluster_status()["error"] or time.monotonic() > deadline:
            raise RuntimeError(f"Ray did not start: {eng.cluster_status()['error']}")
        time.sleep(0.2)
    try:
        return {kind: bench_in_process(kind) for kind in ("noop", "ray")}
    finally:
        eng.shutdown()
        eng.store.close()  # before the temporary directory goes


def main() -> dict:
    from engine.client import WorkbenchClient  # noqa: F401  (fail early when httpx is missing)

    with tempfile.TemporaryDirectory(prefix="bench-service-") as d:
        tmp = Path(d)
        proc, url = _start_server(tmp)
        try:
            service = {kind: bench_service(url, kind) for kind in ("noop", "ray")}
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        in_process = _in_process_all(tmp)
    out = {"runs": RUNS, "latency_runs": LATENCY_RUNS, "threads": THREADS, "cpus": os.cpu_count(),
           "workflow": CHAIN, "service": service, "in_process": in_process,
           "service_over_in_process": {
               k: {"submit_rate": round(service[k]["submitted_per_s"] / in_process[k]["submitted_per_s"], 3),
                   "median_latency": round(service[k]["submit_to_completed"]["median_ms"]
                                           / in_process[k]["submit_to_completed"]["median_ms"], 2)}
               for k in service}}
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "service.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    ok = all(set(v["final_statuses"]) == {"completed"} for part in (service, in_process) for v in part.values())
    s, i = service["ray"], in_process["ray"]
    return {"ok": ok, "summary": f"ray 3-state: service {s['submitted_per_s']} submits/s, "
                                 f"median {s['submit_to_completed']['median_ms']} ms vs in-process "
                                 f"{i['submitted_per_s']}/s, {i['submit_to_completed']['median_ms']} ms"}


if __name__ == "__main__":
    res = main()
    sys.exit(0 if res["ok"] else 1)
