"""Ray remote functions, defined once at module level (re-wrapping per call is ~5x slower)."""

from __future__ import annotations

import ray


@ray.remote(max_retries=0, retry_exceptions=False)
def run_state_task(payload: dict) -> dict:
    """Execute one workflow state on a worker; failures come back as data, never as exceptions.

    Even ``SystemExit`` from the state's code is a failure here: Ray would otherwise take it as a
    request to exit the worker, and the driver would see a lost worker and retry."""
    from engine.actions import execute_state
    from engine.outcomes import guarded

    return guarded(execute_state, payload)
