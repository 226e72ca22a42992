"""Start-up latency (issue 18): ``api.start`` -> the first state running, and ``workbench run`` of a
small template from process start to done, without and with a running service.

Every figure is measured in fresh processes with their own temp store (the machine's load average is
recorded beside each): ``cold`` is the first run of a process (it starts or connects Ray), ``warm`` the
next run in the same process. ``BENCH_REPEATS`` (default 2) sets the repeats; medians are reported.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REPEATS = int(os.environ.get("BENCH_REPEATS", 2))
TEMPLATE = ROOT / "data" / "templates" / "data_quality.toml"
CLI = [sys.executable, "-m", "engine.cli"]

_FIRST_STATE = r"""
import json, os, sys, time
sys.path.insert(0, {root!r})
from engine import api
from engine.runner import RunOptions
from engine.workflow_file import parse_workflow_text
out = {{}}
for execution in ("ray", "auto", "ray"):
    text = ('name = "first-state-' + execution + '"\ndsl = "start->a; a->end;"\n[states.a]\naction = "python"\n'
            'function = "benchmarks.functions:stamp"\nexecution = "' + execution + '"\n')
    spec = parse_workflow_text(text)
    t0 = time.time()
    eid = api.start(spec, {{}})
    res = api.wait(eid)
    assert res.status == "completed", res.error
    key = ("cold " if not out else "warm ") + execution
    out.setdefault(key, round((res.final_context["first_state_at"] - t0) * 1000, 1))
print("RESULT " + json.dumps(out))
"""


def _env(db: Path, **extra: str) -> dict:
    env = dict(os.environ, WORKBENCH_DB=str(db), WORKBENCH_FUNCTION_DIRS=str(ROOT), **extra)
    env.pop("RAY_ADDRESS", None)
    return env


def _load() -> float:
    return round(os.getloadavg()[0], 1)


def first_state_latency() -> dict:
    """ms from api.start to the first state running: cold (the process's first run) and warm
    (a loaded machine can time Ray's start-up out: up to 3 fresh processes are tried)."""
    for attempt in range(3):
        try:
            return _first_state_latency()
        except RuntimeError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _first_state_latency() -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        env = _env(Path(tmp) / "w.duckdb", WORKBENCH_SERVER="local", WORKBENCH_RAY_CPUS="2")
        proc = subprocess.run(
            [sys.executable, "-c", _FIRST_STATE.format(root=str(ROOT))],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"first-state probe failed: {proc.stderr[-2000:]}")
    return json.loads(line[len("RESULT ") :])


def cli_run(env: dict) -> float:
    """Seconds from `workbench run TEMPLATE` starting to its process ending (the run completed)."""
    for attempt in range(3):  # Ray's start-up can time out on a loaded machine: try a fresh process
        try:
            return _cli_run(env)
        except RuntimeError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _cli_run(env: dict) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [*CLI, "run", str(TEMPLATE), "--json"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"workbench run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return elapsed


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> dict:
    rows: dict = {"first_state_ms": [], "cli_local_s": [], "cli_service_s": [], "load_avg": []}
    for _ in range(REPEATS):
        rows["load_avg"].append(_load())
        rows["first_state_ms"].append(first_state_latency())
        with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
            rows["cli_local_s"].append(round(cli_run(_env(Path(tmp) / "w.duckdb", WORKBENCH_SERVER="local")), 2))
        rows["load_avg"].append(_load())
    # with a running service (started once; its Ray is up before the first run)
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        port = _free_port()
        db = Path(tmp) / "w.duckdb"
        serve = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--local"],
            env=_env(db),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline or serve.poll() is not None:
                    raise RuntimeError("the service did not come up")
                time.sleep(0.5)
            env = _env(db, WORKBENCH_SERVER=f"http://127.0.0.1:{port}")
            cli_run(env)  # the service's first run (its Ray workers warm up)
            for _ in range(REPEATS):
                rows["load_avg"].append(_load())
                rows["cli_service_s"].append(round(cli_run(env), 2))
        finally:
            serve.terminate()
            try:
                serve.wait(30)
            except subprocess.TimeoutExpired:
                serve.kill()
    keys = rows["first_state_ms"][0].keys()
    summary = {
        "first_state_ms": {k: statistics.median(r[k] for r in rows["first_state_ms"]) for k in keys},
        "cli_local_s": statistics.median(rows["cli_local_s"]),
        "cli_service_s": statistics.median(rows["cli_service_s"]),
    }
    out = HERE / "results" / "engine_startup.json"
    out.write_text(
        json.dumps({"samples": rows, "median": summary, "repeats": REPEATS, "template": TEMPLATE.name}, indent=2)
    )
    print(json.dumps(summary), "load", rows["load_avg"], flush=True)
    return {"ok": True, "summary": f"start-up: {summary}"}


if __name__ == "__main__":
    print(main())
