"""The small executor interface the runner uses, and the in-process implementation.

``submit(payload, name) -> handle``; ``await result(handle, timeout) -> outcome dict``;
``cancel(handle)``. The Ray implementation lives in :mod:`ray_tasks.executor` (the only place that
imports ``ray``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
from typing import Protocol

from engine.outcomes import (
    MAX_RESULT_DEPTH,
    DataError,
    StateExited,
    TaskCancelled,
    TaskTimeout,
    WorkerLost,
    check_storable,
    guarded,
)

__all__ = [
    "MAX_RESULT_DEPTH",
    "DataError",
    "StateExited",
    "TaskCancelled",
    "TaskTimeout",
    "WorkerLost",
    "check_storable",
    "guarded",
    "TaskExecutor",
    "InlineExecutor",
    "ray_executor",
]


class TaskExecutor(Protocol):
    kind: str

    def ensure_ready(self) -> None: ...

    def submit(self, payload: dict, name: str): ...

    async def result(self, handle, timeout: float | None) -> dict: ...

    def cancel(self, handle) -> None: ...


class _DaemonPool:
    """A fixed set of daemon threads running submitted calls.

    Not ``ThreadPoolExecutor``: its threads are joined when the interpreter exits, so a state
    abandoned after its timeout or a cancel (a thread cannot be killed) kept a finished CLI process
    alive until the state's code returned - forever for a state stuck in a loop."""

    def __init__(self, workers: int, name: str):
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._work, name=f"{name}_{i}", daemon=True) for i in range(workers)]
        for t in self._threads:
            t.start()

    def submit(self, fn, *args) -> concurrent.futures.Future:
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self._queue.put((fut, fn, args))
        return fut

    def shutdown(self) -> None:
        """Let each thread end once the calls queued so far are done (stuck ones end with their call)."""
        for _ in self._threads:
            self._queue.put(None)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            fut, fn, args = item
            if not fut.set_running_or_notify_cancel():
                continue  # cancelled while queued
            try:
                fut.set_result(fn(*args))
            except BaseException as exc:
                fut.set_exception(exc)


_POOL: _DaemonPool | None = None
_POOL_WORKERS = 8
_POOL_LOCK = threading.Lock()
_ABANDONED: list[concurrent.futures.Future] = []  # states of the current pool still running after a timeout/cancel


def _pool() -> _DaemonPool:
    """The inline pool. Once half its threads are held by abandoned states (timed out or cancelled
    but still running: a thread cannot be killed), later states get a fresh pool, so a few stuck
    states can never stall every inline state of the process."""
    global _POOL
    with _POOL_LOCK:
        _ABANDONED[:] = [f for f in _ABANDONED if not f.done()]
        if _POOL is not None and len(_ABANDONED) >= _POOL_WORKERS // 2:
            _POOL.shutdown()  # its stuck threads end with their states
            _POOL = None
            _ABANDONED.clear()
        if _POOL is None:
            _POOL = _DaemonPool(_POOL_WORKERS, "workbench-inline")
        return _POOL


def _abandon(handle: concurrent.futures.Future) -> None:
    """Stop waiting for an inline state; if it is already running, count its thread as held."""
    if not handle.cancel():
        with _POOL_LOCK:
            _ABANDONED.append(handle)


class InlineExecutor:
    """Runs states in the driver process on a small thread pool (cheap states, tests without Ray).

    ``run_now`` executes on the calling thread (only for ``noop`` states, which run no user code).
    A timed-out state's thread cannot be killed: its result is abandoned.
    """

    kind = "inline"

    def ensure_ready(self) -> None:
        return None

    def dashboard_url(self) -> str | None:
        return None

    @staticmethod
    def run_now(payload: dict) -> dict:
        """Execute the state here; anything it raises (even ``SystemExit``) comes back as a failure, and
        what it prints on this thread as the result's ``logs`` (engine/step_logs.py)."""
        from engine.actions import execute_state
        from engine.step_logs import run_captured

        return run_captured(lambda p: guarded(execute_state, p), payload)

    def submit(self, payload: dict, name: str) -> concurrent.futures.Future:
        return _pool().submit(self.run_now, payload)

    async def result(self, handle: concurrent.futures.Future, timeout: float | None) -> dict:
        try:
            return await asyncio.wait_for(asyncio.wrap_future(handle), timeout)
        except TimeoutError:
            _abandon(handle)
            raise TaskTimeout(f"timed out after {timeout:g} s (in-process; the thread is abandoned)") from None
        except asyncio.CancelledError:  # the run was cancelled or timed out while the state ran
            _abandon(handle)
            raise

    def cancel(self, handle) -> None:
        _abandon(handle)


def ray_executor(address: str | None = None) -> TaskExecutor:
    """The Ray executor (imports ``ray`` lazily through ``ray_tasks``)."""
    from ray_tasks.executor import RayExecutor

    return RayExecutor(address)
