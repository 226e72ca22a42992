"""The Ray implementation of the engine's small :class:`engine.executors.TaskExecutor` interface."""
from __future__ import annotations

import asyncio

import ray
from ray.exceptions import (NodeDiedError, OutOfMemoryError, RayError, RayTaskError, TaskCancelledError,
                            WorkerCrashedError)

from engine.executors import TaskCancelled, TaskTimeout, WorkerLost
from ray_tasks import cluster
from ray_tasks.tasks import run_state_task


_TASK_OPTIONS = {k: v for k, v in run_state_task._default_options.items() if k != "name"}
_TASK_OPTIONS.update(max_retries=0, retry_exceptions=False)


class RayExecutor:
    """Runs each state as a named Ray task; waits with a timeout and force-cancels on expiry."""

    kind = "ray"

    def __init__(self, address: str | None = None):
        self._address = address

    def ensure_ready(self) -> None:
        cluster.connect(self._address)

    def dashboard_url(self) -> str | None:
        i = cluster.info()
        return i.dashboard_url if i else None

    def submit(self, payload: dict, name: str):
        # _remote() skips the decorator's defaults (max_retries=0 …), so pass them explicitly;
        # it is ~10x cheaper than .options(name=…).remote()
        return run_state_task._remote(args=[payload], kwargs={}, **_TASK_OPTIONS, name=name[:200])

    async def result(self, handle, timeout: float | None) -> dict:
        fut = asyncio.wrap_future(handle.future())
        try:
            if timeout is None:
                return await fut
            return await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            self.cancel(handle)
            raise TaskTimeout(f"timed out after {timeout:g} s; the task was cancelled") from None
        except asyncio.CancelledError:
            self.cancel(handle)
            raise
        except TaskCancelledError:
            raise TaskCancelled("the task was cancelled") from None
        except OutOfMemoryError as exc:
            raise WorkerLost(f"the worker ran out of memory and was killed: {str(exc).splitlines()[0][:200]}") from None
        except (WorkerCrashedError, NodeDiedError) as exc:
            raise WorkerLost(f"the worker process died while running the state ({type(exc).__name__})") from None
        except RayTaskError as exc:  # the task body itself raised (should not happen: failures are data)
            raise WorkerLost(f"the task raised inside Ray: {str(exc).splitlines()[0][:200]}") from None
        except RayError as exc:
            raise WorkerLost(f"Ray could not run the task: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None

    def cancel(self, handle) -> None:
        try:
            ray.cancel(handle, force=True)
        except Exception:
            pass
