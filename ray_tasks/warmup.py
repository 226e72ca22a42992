"""Start Ray's worker processes before the first run needs them.

A run submitted while the workers are still starting runs its "parallel" branches one after another
(each new worker takes a second or more to boot on a small machine). :func:`warm_workers` asks for one
short task per CPU at once, so that many workers are started and kept; :func:`status` says how far
it got (the app shows "Ray workers starting…" until it is done).
"""

from __future__ import annotations

import os
import threading
import time

import ray

_lock = threading.Lock()
_status: dict = {"state": "idle", "workers": 0, "wanted": 0, "seconds": None, "error": None}


@ray.remote(max_retries=0)
def _worker_ready(pause_s: float) -> int:
    """Hold a worker briefly (so the others must start too) and say which process it was."""
    time.sleep(pause_s)
    return os.getpid()


def status() -> dict:
    """{state: idle | warming | warm | failed, workers, wanted, seconds, error} of the last warm-up."""
    with _lock:
        return dict(_status)


def _hold_workers(wanted: int, deadline: float, pause_s: float) -> int:
    """Rounds of ``wanted`` tasks at once until they ran in ``wanted`` distinct workers (or the deadline):
    on a loaded machine a new worker can take longer to boot than a task's pause, and its task then runs
    after another one in a worker already up, so each round holds its workers twice as long (at most 8 s).
    Returns the most distinct workers one round held at once."""
    held = 0
    while True:
        refs = [_worker_ready.remote(pause_s) for _ in range(wanted)]
        done, _ = ray.wait(refs, num_returns=len(refs), timeout=max(0.0, deadline - time.monotonic()))
        held = max(held, len(set(ray.get(done))))
        if held >= wanted or time.monotonic() >= deadline or pause_s >= 8.0:
            return held
        pause_s *= 2


def warm_workers(n: int | None = None, timeout_s: float = 120.0, pause_s: float = 0.5) -> dict:
    """Start ``n`` workers (default: the cluster's CPUs) with one short task each, all at once; returns
    :func:`status`. Needs a connected Ray (``ray_tasks.cluster.connect``); never raises."""
    with _lock:
        if _status["state"] in ("warming", "warm"):
            return dict(_status)
        _status.update(state="warming", error=None)
    t0 = time.monotonic()
    try:
        if not ray.is_initialized():
            raise RuntimeError("Ray is not connected")
        wanted = int(n or max(1, int(ray.cluster_resources().get("CPU", 1))))
        with _lock:
            _status["wanted"] = wanted
        held = _hold_workers(wanted, t0 + timeout_s, pause_s)
        with _lock:
            _status.update(state="warm", workers=held, seconds=round(time.monotonic() - t0, 2))
    except Exception as exc:  # a warm-up is an optimisation: it must never break the app or the service
        with _lock:
            _status.update(state="failed", error=f"{type(exc).__name__}: {exc}"[:300])
    return status()
