"""State functions of the placement tests (imported on Ray workers through the repo root)."""

from __future__ import annotations

import time


def quick(context: dict) -> dict:
    """Returns at once: cheap everywhere."""
    return {"quick": True}


def sleepy(context: dict, seconds: float = 0.0) -> dict:
    """Sleeps ``seconds`` (a state that blocks whoever runs it)."""
    time.sleep(seconds)
    return {"slept": seconds}
