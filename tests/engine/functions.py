"""State functions used by the engine tests (imported on Ray workers via the repo root on PYTHONPATH)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def sleep_and_mark(context: dict, seconds: float = 0.5, key: str = "done") -> dict:
    """Sleep, then report when it ran (to prove overlap)."""
    start = time.time()
    time.sleep(seconds)
    return {key: True, f"{key}_window": [start, time.time()], f"{key}_pid": os.getpid()}


def add(context: dict, amount: int = 1, key: str = "total") -> dict:
    return {key: context.get(key, 0) + amount}


def fail_with(context: dict, error: str = "ValueError", message: str = "bad data") -> dict:
    raise {
        "ValueError": ValueError,
        "KeyError": KeyError,
        "ConnectionError": ConnectionError,
        "TimeoutError": TimeoutError,
        "RuntimeError": RuntimeError,
    }[error](message)


def flaky(context: dict, marker_dir: str, fail_times: int = 2, error: str = "ConnectionError") -> dict:
    """Fails the first ``fail_times`` calls (counted with files), then succeeds."""
    d = Path(marker_dir)
    d.mkdir(parents=True, exist_ok=True)
    n = len(list(d.iterdir()))
    (d / f"call-{n}").write_text("x")
    if n < fail_times:
        raise ConnectionError(f"temporary failure {n + 1}")
    return {"flaky_calls": n + 1}


def crash_worker(context: dict, marker_dir: str | None = None, times: int = 1) -> dict:
    """Kills its own worker process (like an OOM kill) the first ``times`` calls."""
    if marker_dir:
        d = Path(marker_dir)
        d.mkdir(parents=True, exist_ok=True)
        n = len(list(d.iterdir()))
        (d / f"crash-{n}").write_text("x")
        if n >= times:
            return {"survived": True}
    os._exit(1)


def record_call(context: dict, log_file: str, name: str) -> dict:
    """Appends its name to a file (to count real executions and their order)."""
    with open(log_file, "a") as fh:
        fh.write(name + "\n")
    return {f"{name}_ran": True}


def slow_then_record(context: dict, log_file: str, name: str, seconds: float = 0.2) -> dict:
    time.sleep(seconds)
    return record_call(context, log_file, name)
