"""State actions. :func:`execute_state` runs on a Ray worker (or inline) and never raises:
the outcome is a dict ``{status, updates, keys_read, keys_written, error_type, error_message,
traceback, started_at, ended_at, duration_ms, node_id, worker_pid}``.

Driver-side actions (``approval``, ``workflow``) are handled by the runner, not here.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
import traceback
from typing import Any

from engine.actions.tracking import TrackingDict

WORKER_ACTIONS = ("python", "sql", "llm", "http", "files", "notify", "email", "noop")


def _run_action(action: str, binding: dict, ctx: TrackingDict, meta: dict) -> Any:
    if action == "noop":
        return None
    if action == "python":
        from engine.actions.python_action import run_python

        return run_python(binding, ctx, meta)
    if action == "sql":
        from engine.actions.sql_action import run_sql

        return run_sql(binding, ctx, meta)
    if action == "http":
        from engine.actions.http_action import run_http

        return run_http(binding, ctx, meta)
    if action == "llm":
        from engine.actions.llm_action import run_llm

        return run_llm(binding, ctx, meta)
    if action == "files":
        from engine.actions.files_action import run_files

        return run_files(binding, ctx, meta)
    if action == "notify":  # slack, webhook or e-mail (engine/actions/notify_action.py)
        from engine.actions.notify_action import run_notify

        return run_notify(binding, ctx, meta)
    if action == "email":
        from engine.actions.email_action import run_email

        return run_email(binding, ctx, meta)
    raise ValueError(f"action '{action}' cannot run on a worker")


class StateTimeout(Exception):
    """Raised inside the state's own code when its ``timeout_s`` runs out (on a worker's main thread)."""


def _alarm(seconds: float | None):
    """Arm a SIGALRM timer on the main thread; returns a disarm function (no-op elsewhere).

    The timer runs on the worker, so the time a task waits in Ray's queue is not counted.
    """
    if not seconds or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        return lambda: None

    def on_alarm(signum, frame):
        raise StateTimeout(f"timed out after {seconds:g} s of execution")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)

    def disarm():
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

    return disarm


def _redact_secrets(out: dict) -> None:
    """Replace every resolved secret value in the outcome's texts and results (engine.secrets)."""
    from engine.secrets import redact

    try:
        for key in ("updates", "error_message", "traceback"):  # (texts again: cheap, and covers both paths)
            if out.get(key):
                out[key] = redact(out[key])
    except Exception as exc:  # never return an unredacted outcome
        out.update(
            status="failed",
            updates={},
            error_type="SecretRedactionError",
            error_message=f"the outcome could not be checked for secrets ({type(exc).__name__})",
            traceback="",
        )


def execute_state(payload: dict) -> dict:
    """Run one state. ``payload``: action, binding (dict), context, state, execution_id, python_path…"""
    started = time.time()
    t0 = time.perf_counter()
    for p in payload.get("python_path") or ():
        if p and p not in sys.path:
            sys.path.insert(0, p)
    ctx = TrackingDict(payload.get("context") or {})
    out: dict[str, Any] = {"worker_pid": os.getpid(), "node_id": payload.get("node_hint") or socket.gethostname()}
    disarm = _alarm(payload.get("timeout_s") if payload.get("enforce_timeout_here") else None)
    try:
        try:
            result = _run_action(payload.get("action", "noop"), payload.get("binding") or {}, ctx, payload)
        finally:
            disarm()
        if result is None:
            result = {}
        if not isinstance(result, dict):
            raise TypeError(f"the state must return a dict or None, got {type(result).__name__}")
        out.update(status="completed", updates=result)
    except Exception as exc:  # failures are data; the driver decides what to do
        from engine.secrets import redact

        tb = redact(traceback.format_exc(limit=8))  # before cutting: never leave half a secret
        name = "TaskTimeout" if isinstance(exc, StateTimeout) else type(exc).__name__
        out.update(
            status="failed",
            updates={},
            error_type=name,
            error_message=redact(str(exc))[:2000] or type(exc).__name__,
            traceback=tb[-4000:],
            error_module=type(exc).__module__,
        )
    _redact_secrets(out)
    out["keys_read"] = sorted(ctx.keys_read)
    out["keys_written"] = sorted(out.get("updates", {}).keys())
    out["started_at"] = started
    out["ended_at"] = time.time()
    out["duration_ms"] = (time.perf_counter() - t0) * 1000
    return out
