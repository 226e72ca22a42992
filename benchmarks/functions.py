"""Functions the engine benchmarks run as states (importable on Ray workers via the repo root)."""

from __future__ import annotations


def noop(context: dict) -> None:
    return None


def flaky_transient(context: dict, p: float = 0.3) -> dict:
    """Fails with a transient error with probability p per attempt."""
    import random

    if random.random() < p:
        raise ConnectionError("injected transient fault: connection reset by peer")
    return {"fetched": True}


def always_bad_data(context: dict) -> dict:
    raise ValueError("injected data error: required field 'amount' is missing")


def record_step(context: dict, name: str) -> dict:
    done = list(context.get("saga_log", []))
    done.append(name)
    return {"saga_log": done, f"{name}_done": True}


def crash_sometimes(context: dict, p: float = 0.3) -> dict:
    """Kills its own worker process with probability p (like an OOM kill)."""
    import os
    import random

    if random.random() < p:
        os._exit(137)
    return {"crunched": True}


def slow_sometimes(context: dict, p: float = 0.3, slow_s: float = 5.0) -> dict:
    """Hangs past the state's timeout with probability p."""
    import random
    import time

    if random.random() < p:
        time.sleep(slow_s)
    return {"answered": True}


def small_dict(context: dict) -> dict:
    """Returns a small dict (the engine benchmark's state; ray_tasks/baseline.py has its bare-Ray twin)."""
    return {"done": True}


def stamp(context: dict) -> dict:
    """The wall-clock time the state began (bench_engine_startup: start of a run -> first state running)."""
    import time

    return {"first_state_at": time.time()}
