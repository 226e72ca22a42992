"""The small executor interface the runner uses, and the in-process implementation.

``submit(payload, name) -> handle``; ``await result(handle, timeout) -> outcome dict``;
``cancel(handle)``. The Ray implementation lives in :mod:`ray_tasks.executor` (the only place that
imports ``ray``).
"""
from __future__ import annotations

import asyncio
from typing import Protocol

from engine.errors import WorkbenchError


class TaskTimeout(WorkbenchError):
    """The state ran longer than its timeout and was cancelled."""


class WorkerLost(WorkbenchError):
    """The worker process died (crash, os._exit, OOM kill) while running the state."""


class TaskCancelled(WorkbenchError):
    """The task was cancelled."""


class TaskExecutor(Protocol):
    kind: str

    def ensure_ready(self) -> None: ...

    def submit(self, payload: dict, name: str): ...

    async def result(self, handle, timeout: float | None) -> dict: ...

    def cancel(self, handle) -> None: ...


class InlineExecutor:
    """Runs states in the driver process (cheap states, tests without Ray)."""

    kind = "inline"

    def ensure_ready(self) -> None:
        return None

    def dashboard_url(self) -> str | None:
        return None

    def submit(self, payload: dict, name: str):
        from engine.actions import execute_state

        return execute_state(payload)

    async def result(self, handle, timeout: float | None) -> dict:
        return handle

    def cancel(self, handle) -> None:
        return None


def ray_executor(address: str | None = None) -> TaskExecutor:
    """The Ray executor (imports ``ray`` lazily through ``ray_tasks``)."""
    from ray_tasks.executor import RayExecutor

    return RayExecutor(address)


async def sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)
