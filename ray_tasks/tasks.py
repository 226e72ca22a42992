"""Ray remote functions, defined once at module level (re-wrapping per call is ~5x slower)."""

from __future__ import annotations

import socket

import ray

from ray_tasks.runtime_env import use_shipped_code

_NODE_LABEL: str | None = None


def node_label() -> str:
    """This worker's node as recorded with each step: ``host/<first 8 of Ray's node id>`` (two Ray nodes
    on one machine share the host name, never the id)."""
    global _NODE_LABEL
    if _NODE_LABEL is None:
        try:
            node_id = ray.get_runtime_context().get_node_id()
        except Exception:
            node_id = ""
        _NODE_LABEL = f"{socket.gethostname()}/{node_id[:8]}" if node_id else socket.gethostname()
    return _NODE_LABEL


@ray.remote(max_retries=0, retry_exceptions=False)
def run_state_task(payload: dict) -> dict:
    """Execute one workflow state on a worker; failures come back as data, never as exceptions.

    Even ``SystemExit`` from the state's code is a failure here: Ray would otherwise take it as a
    request to exit the worker, and the driver would see a lost worker and retry. What the state
    prints is returned as ``logs`` (engine/step_logs.py)."""
    from engine.actions import execute_state
    from engine.outcomes import guarded
    from engine.step_logs import run_captured

    use_shipped_code()  # functions shipped by the driver through the runtime env (other nodes)
    payload["node_hint"] = node_label()  # the node recorded as the step's node_id (time per node)
    # what the state prints comes back as the result's "logs" (bounded, secrets redacted)
    return run_captured(lambda p: guarded(execute_state, p), payload)
