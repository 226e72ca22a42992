"""Ray remote functions, defined once at module level (re-wrapping per call is ~5x slower)."""
from __future__ import annotations

import ray


@ray.remote(max_retries=0, retry_exceptions=False)
def run_state_task(payload: dict) -> dict:
    """Execute one workflow state on a worker; failures come back as data, never as exceptions."""
    from engine.actions import execute_state

    return execute_state(payload)
