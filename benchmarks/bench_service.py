"""The workbench service against the in-process API, same workflows, one machine.

For a 3-state chain (``noop``: states run in the driver; ``ray``: each state is a Ray task running
``benchmarks.functions:noop``) it measures
* submit rate: runs started per second by one client in a loop (``POST …/execute`` vs ``api.start``),
  and by 8 client threads at once for the service;
* throughput: the same batch from first submit to last completion;
* latency: submit → completed for one run at a time (service: ``POST …/execute`` then the SSE
  stream until ``execution_finished``, the stream reading the records every 20 ms; in process:
  ``api.start`` + ``api.wait``).

Back-pressure (``burst``): 1,000 runs submitted at once by 8 client threads to a service started with
``--max-runs 50``: time until every run completed, and the most runs in flight (the service's count
and the recorded start/end times). Meanwhile another thread asks ``/health``, ``/api/v1/executions?limit=20``
and ``/api/v1/queue`` every 0.5 s (``answers_during_burst``: p50/p95/max latency, failures); the burst
passes when none failed and each p95 is under 1 s.

The service is a real ``workbench serve`` subprocess with its own Ray and store; the in-process
part runs after it stops, with its own Ray and store. Results: ``benchmarks/results/service.json``.

    python -m benchmarks.bench_service          # BENCH_SERVICE_RUNS (200), BENCH_SERVICE_LATENCY (30)
    python -m benchmarks.bench_service burst    # only: BENCH_SERVICE_BURST (1,000) runs at once, --max-runs 50
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
    return {
        "n": len(xs),
        "median_ms": round(statistics.median(xs), 2),
        "p95_ms": round(_pct(xs, 0.95), 2),
        "min_ms": round(min(xs), 2),
        "max_ms": round(max(xs), 2),
    }


# ------------------------------------------------------------------------------- the service
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(
    tmp: Path, args: list[str] | None = None, ready_path: str = "/ready", db_name: str = "svc.duckdb"
) -> tuple[subprocess.Popen, str]:
    import httpx

    port = _free_port()
    # the states call benchmarks.* modules: the repo root is a function folder for the served process
    os.environ.setdefault("WORKBENCH_FUNCTION_DIRS", str(REPO))
    env = dict(
        os.environ,
        WORKBENCH_DB=str(tmp / db_name),
        RAY_ADDRESS="local",
        WORKBENCH_LOG_LEVEL="WARNING",
        WORKBENCH_RAY_CPUS=os.environ.get("WORKBENCH_RAY_CPUS", "2"),
        WORKBENCH_RAY_OBJECT_STORE_MB=os.environ.get("WORKBENCH_RAY_OBJECT_STORE_MB", "300"),
    )
    log = open(tmp / "server.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "serve", "--port", str(port), *(args or [])],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"workbench serve exited: {(tmp / 'server.log').read_text()[-2000:]}")
        try:
            if httpx.get(url + ready_path, timeout=5).status_code == 200:
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
    return {
        "submitted_per_s": round(RUNS / t_sub, 1),
        "completed_per_s": round(RUNS / t_all, 1),
        f"submitted_per_s_{THREADS}_threads": round(RUNS / t_sub_par, 1),
        f"completed_per_s_{THREADS}_threads": round(RUNS / t_all_par, 1),
        "submit_to_completed": _latency(lat),
        "final_statuses": sorted(statuses),
    }


# ------------------------------------------------------------------------------- back-pressure
BURST_RUNS = int(os.environ.get("BENCH_SERVICE_BURST", 1000))
BURST_LIMIT = 50
BURST_STATE_S = 0.4  # > 8 pool threads / submit rate: the queue fills and the limit binds
INLINE_THREADS = 8  # engine.executors' in-process pool


def _max_overlap(spans: list[tuple[float, float]]) -> int:
    points = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans], key=lambda p: (p[0], p[1]))
    top = now = 0
    for _, step in points:
        now += step
        top = max(top, now)
    return top


class _Prober:
    """Samples ``/health`` and a read (the latest 20 runs, the queue) every ``every_s`` from its own
    thread while a burst is in flight: latency of each answer and the requests that failed or were slow."""

    PATHS = {"health": "/health", "executions": "/api/v1/executions?limit=20", "queue": "/api/v1/queue"}

    def __init__(self, url: str, every_s: float = 0.5, timeout_s: float = 10.0):
        import threading

        import httpx

        self.url, self.every_s = url, every_s
        self.http = httpx.Client(base_url=url, timeout=timeout_s, headers=self._auth_headers())
        self.samples: dict[str, list[float]] = {k: [] for k in self.PATHS}
        self.failures: dict[str, list[str]] = {k: [] for k in self.PATHS}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="burst-prober", daemon=True)

    @staticmethod
    def _auth_headers() -> dict:
        from engine import auth

        secret = auth.token_from_environment()  # the token the benchmark's WorkbenchClients send
        return {"Authorization": f"Bearer {secret}"} if secret else {}

    def _loop(self) -> None:
        import httpx

        while not self._stop.is_set():
            tick = time.perf_counter()
            for name, path in self.PATHS.items():
                t0 = time.perf_counter()
                try:
                    r = self.http.get(path)
                    ms = (time.perf_counter() - t0) * 1000
                    if r.status_code == 200:
                        self.samples[name].append(ms)
                    else:
                        self.failures[name].append(f"HTTP {r.status_code} after {ms:.0f} ms")
                except httpx.HTTPError as exc:
                    self.failures[name].append(f"{type(exc).__name__} after {(time.perf_counter() - t0) * 1000:.0f} ms")
            self._stop.wait(max(0.0, self.every_s - (time.perf_counter() - tick)))

    def __enter__(self) -> _Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(30)
        self.http.close()

    def report(self) -> dict:
        """Per endpoint: samples, failures (first 5 reasons), p50/p95/max latency in ms."""
        out: dict = {"every_s": self.every_s}
        for name, path in self.PATHS.items():
            xs = self.samples[name]
            out[name] = {
                "path": path,
                "n": len(xs),
                "failures": len(self.failures[name]),
                "failure_examples": self.failures[name][:5],
            }
            if xs:
                out[name].update(
                    p50_ms=round(_pct(xs, 0.5), 1), p95_ms=round(_pct(xs, 0.95), 1), max_ms=round(max(xs), 1)
                )
        return out


def bench_burst(tmp: Path) -> dict:
    """BURST_RUNS runs submitted at once (8 client threads) to a service started with ``--max-runs 50``;
    each run is one state sleeping 0.4 s in the service's process (inline, on its 8-thread pool: the
    limit, not Ray, is measured; the pool bounds the rate at 20 runs/s, so 1,000 runs need ≥ 50 s). Time from the first submit to every run completed; most runs in flight, from the
    service's own count and from the recorded start/end times."""
    import datetime as dt

    from engine.client import WorkbenchClient

    proc, url = _start_server(
        tmp, ["--no-ray", "--max-runs", str(BURST_LIMIT)], ready_path="/health", db_name="burst.duckdb"
    )
    try:
        client = WorkbenchClient(url, timeout=120)
        toml = (
            f'name = "bench-burst"\ndsl = "start->nap; nap->end;"\n[states.nap]\naction = "python"\n'
            f'function = "benchmarks.functions:slow_sometimes"\nparams = {{ p = 1.0, slow_s = {BURST_STATE_S} }}\n'
        )
        wid = client.create_workflow(toml=toml)["workflow_id"]
        clients = [WorkbenchClient(url, timeout=120) for _ in range(THREADS)]
        prober = _Prober(url)
        with prober:  # /health and reads sampled every 0.5 s from submit until the last run ended
            t0 = time.perf_counter()
            with ThreadPoolExecutor(THREADS) as pool:
                started = list(
                    pool.map(lambda i: clients[i % THREADS].execute(wid, execution="inline"), range(BURST_RUNS))
                )
            t_sub = time.perf_counter() - t0
            ids = [s["execution_id"] for s in started]
            _wait_all(client, wid, ids, timeout=1800)
            t_all = time.perf_counter() - t0
        rows = [r for r in client.executions(workflow=wid, limit=1000) if r["execution_id"] in set(ids)]
        spans = [
            (
                dt.datetime.fromisoformat(str(r["start_time"])).timestamp(),
                dt.datetime.fromisoformat(str(r["end_time"])).timestamp(),
            )
            for r in rows
            if r.get("end_time")
        ]
        q = client.queue()
        for c in clients:
            c.close()
        client.close()
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return {
        "runs": BURST_RUNS,
        "max_runs": BURST_LIMIT,
        "state_s": BURST_STATE_S,
        "queued_at_submit": sum(1 for s in started if s["status"] == "queued"),
        "submit_all_s": round(t_sub, 2),
        "all_completed_s": round(t_all, 2),
        "completed_per_s": round(BURST_RUNS / t_all, 1),
        "floor_s": round(BURST_RUNS * BURST_STATE_S / INLINE_THREADS, 1),
        "max_in_flight_service": q["max_observed"],
        "max_in_flight_records": _max_overlap(spans),
        "final_statuses": sorted({r["status"] for r in rows}),
        "runs_listed": len(rows),
        "answers_during_burst": prober.report(),
    }


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
    return {
        "submitted_per_s": round(RUNS / t_sub, 1),
        "completed_per_s": round(RUNS / t_all, 1),
        "submit_to_completed": _latency(lat),
        "final_statuses": sorted({r.status for r in results}),
    }


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
        burst = bench_burst(tmp)
        in_process = _in_process_all(tmp)
    out = {
        "runs": RUNS,
        "latency_runs": LATENCY_RUNS,
        "threads": THREADS,
        "cpus": os.cpu_count(),
        "workflow": CHAIN,
        "service": service,
        "in_process": in_process,
        "burst": burst,
        "service_over_in_process": {
            k: {
                "submit_rate": round(service[k]["submitted_per_s"] / in_process[k]["submitted_per_s"], 3),
                "median_latency": round(
                    service[k]["submit_to_completed"]["median_ms"] / in_process[k]["submit_to_completed"]["median_ms"],
                    2,
                ),
            }
            for k in service
        },
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "service.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    ok = all(set(v["final_statuses"]) == {"completed"} for part in (service, in_process) for v in part.values())
    ok = ok and _burst_ok(burst)
    s, i = service["ray"], in_process["ray"]
    return {
        "ok": ok,
        "summary": f"ray 3-state: service {s['submitted_per_s']} submits/s, "
        f"median {s['submit_to_completed']['median_ms']} ms vs in-process "
        f"{i['submitted_per_s']}/s, {i['submit_to_completed']['median_ms']} ms",
    }


def _answers_ok(answers: dict | None) -> bool:
    """Every sampled endpoint answered each time (no failure), p95 under 1 s."""
    if not answers:
        return False
    probes = [v for k, v in answers.items() if k != "every_s"]
    return all(p["n"] > 0 and p["failures"] == 0 and p["p95_ms"] < 1000 for p in probes)


def _burst_ok(burst: dict) -> bool:
    return (
        burst["final_statuses"] == ["completed"]
        and burst["runs_listed"] == burst["runs"]
        and burst["max_in_flight_records"] <= burst["max_runs"]
        and burst["max_in_flight_service"] <= burst["max_runs"]
        and _answers_ok(burst.get("answers_during_burst"))
    )


def main_burst() -> dict:
    """Only the back-pressure part; its result replaces ``burst`` in results/service.json."""
    with tempfile.TemporaryDirectory(prefix="bench-service-") as d:
        burst = bench_burst(Path(d))
    path = HERE / "results" / "service.json"
    out = json.loads(path.read_text()) if path.exists() else {}
    out["burst"] = burst
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(burst, indent=2))
    return {
        "ok": _burst_ok(burst),
        "summary": f"{burst['runs']} runs at once, --max-runs {burst['max_runs']}: "
        f"all completed in {burst['all_completed_s']} s, max in flight "
        f"{burst['max_in_flight_records']}; /health p95 "
        f"{burst['answers_during_burst']['health'].get('p95_ms')} ms, executions "
        f"p95 {burst['answers_during_burst']['executions'].get('p95_ms')} ms",
    }


if __name__ == "__main__":
    res = main_burst() if sys.argv[1:] == ["burst"] else main()
    sys.exit(0 if res["ok"] else 1)
