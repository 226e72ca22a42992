"""State functions for the runner fault tests (imported on Ray workers through the repo root)."""

from __future__ import annotations

import time


def system_exit(context: dict) -> dict:
    """What sys.exit does (sys:exit itself is refused: standard-library functions never run in a state)."""
    raise SystemExit(3)


def keyboard_interrupt(context: dict) -> dict:
    raise KeyboardInterrupt("pressed Ctrl-C inside a state")


def cyclic(context: dict) -> dict:
    node: dict = {"name": "loop"}
    node["self"] = node
    return {"graph": node}


def tuple_key(context: dict) -> dict:
    return {"table": {(1, 2): "cell"}}


def int_key(context: dict) -> dict:
    return {"counts": {1: "one"}}


def deep(context: dict, levels: int = 100_000) -> dict:
    value: list = []
    for _ in range(levels):
        value = [value]
    return {"deep": value}


def big_context(context: dict, size: int = 200_000, tag: str = "") -> dict:
    """A result of about ``size`` bytes (one string per run, different each time)."""
    return {"blob": (tag + "x" * size)[:size], "n": context.get("n", 0)}


def sleep_for(context: dict, seconds: float = 1.0) -> dict:
    time.sleep(seconds)
    return {"slept": seconds}
