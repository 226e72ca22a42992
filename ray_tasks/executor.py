"""The Ray implementation of the engine's small :class:`engine.executors.TaskExecutor` interface."""

from __future__ import annotations

import asyncio
import pickle
import threading
import time

import ray
from ray.exceptions import (
    NodeDiedError,
    OutOfMemoryError,
    RayError,
    RayTaskError,
    TaskCancelledError,
    WorkerCrashedError,
)

from engine.outcomes import DataError, TaskCancelled, TaskTimeout, WorkerLost
from engine.task_placement import ray_options
from ray_tasks import cluster
from ray_tasks.submission import DirectSubmitter
from ray_tasks.tasks import pack, run_state_task

_TASK_OPTIONS = {k: v for k, v in run_state_task._default_options.items() if k != "name"}
_TASK_OPTIONS.update(max_retries=0, retry_exceptions=False)
_NO_BINDING: dict = {}
_DEFAULT_PLACEMENT = DirectSubmitter(run_state_task, _TASK_OPTIONS)  # ~60 us less per task (ray_tasks/submission)


def _cause_text(exc: RayTaskError) -> str:
    cause = getattr(exc, "cause", None)
    if cause is not None and not isinstance(cause, RayTaskError):
        return f"{type(cause).__name__}: {str(cause)[:300]}"
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:300]


def _is_data_error(exc: RayTaskError) -> bool:
    """A task failed while serialising its return value (unpicklable, too deep): bad data, not a crash."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, (TypeError, ValueError, RecursionError, pickle.PicklingError, AttributeError)):
        return True
    text = str(exc).lower()
    return "serializ" in text or "pickl" in text or "recursion" in text


ROUND_S = 0.005  # the collector's longest wait before it hands over what is done (more when many wait)
ROUND_S_PER_REF = 0.000_01  # ray.wait costs ~1 us per pending ref: rounds stay under ~10% of a core
ROUND_MAX_S = 0.04  # a round lasts at most this long ...
ROUND_DRAIN_SHARE = 0.5  # ... and at most this share of the time the pending tasks need at the current pace


def round_seconds(pending: int, per_second: float) -> float:
    """How long one collection round may wait for the rest of ``pending`` tasks, finishing at
    ``per_second`` (0 while unknown).

    5 ms while the pending tasks would be done soon (a result handed over late could leave a CPU
    with nothing to do); half the time they still need, up to 40 ms, while they need longer (a
    fan-out of 200 on 2 CPUs): the CPUs have queued work either way, and fewer, larger hand-overs
    cost the driver less CPU (and take less of it from the workers' tasks). A round ends early when
    every pending task is done, so the last result of a fan-out is never held back."""
    longest = ROUND_DRAIN_SHARE * pending / per_second if per_second > 0 else ROUND_S
    return max(ROUND_S, min(ROUND_MAX_S, longest), pending * ROUND_S_PER_REF)


class _Collector:
    """Collects finished tasks in rounds on one thread of its own, for one asyncio loop.

    Each round is one ``ray.wait`` over every pending task (it returns when all are done, or after
    5-40 ms: :func:`round_seconds`) and one ``ray.get`` over the finished ones: results are deserialised together
    and handed to the loop in one wake-up, each to its waiter (a plain asyncio future). Ray's
    per-object completion callback (``ObjectRef._on_completed``, used before) deserialises each
    result on its own with the GIL held, which costs the driver ~30 ms of CPU per 200 results: on a
    small machine, CPU taken from the workers. A result waits at most one round longer.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self._lock = threading.Lock()
        self._ready: list = []  # (future, value or exception) waiting for the loop
        self._pending: dict = {}  # ref -> future (insertion order = submission order)
        self._more = threading.Condition(self._lock)
        self._per_second = 0.0  # how fast pending tasks finish (smoothed over rounds)
        self._thread = threading.Thread(target=self._collect, name="ray-results", daemon=True)
        self._thread.start()

    def wait(self, ref) -> asyncio.Future:
        """A future of the loop that gets the task's result (or the exception it ended with)."""
        fut = self.loop.create_future()
        with self._lock:
            self._pending[ref] = fut
            if len(self._pending) == 1:
                self._more.notify()
        return fut

    def _deliver(self) -> None:  # on the loop
        with self._lock:
            ready, self._ready = self._ready, []
        for fut, value in ready:
            if fut.done():  # the waiter gave up (timeout, cancel)
                continue
            if isinstance(value, BaseException):
                fut.set_exception(value)
            else:
                fut.set_result(value)

    def _collect(self) -> None:
        while not self.loop.is_closed():
            with self._lock:
                while not self._pending:
                    self._more.wait(1.0)
                    if self.loop.is_closed():
                        return
                gave_up = [r for r, f in self._pending.items() if f.done()]  # timed out, cancelled
                for r in gave_up:
                    del self._pending[r]
                refs = list(self._pending)
            if not refs:
                continue
            try:
                t0 = time.monotonic()
                done, _ = ray.wait(refs, num_returns=len(refs), timeout=round_seconds(len(refs), self._per_second))
                pace = len(done) / max(time.monotonic() - t0, 1e-4)  # a round with none done slows it
                self._per_second = pace if not self._per_second else (self._per_second + pace) / 2
                ready = list(zip(done, _values(done))) if done else []
            except Exception as exc:  # Ray itself is gone (shut down, lost): every waiter hears it
                lost = WorkerLost(f"Ray stopped answering while the task ran: {type(exc).__name__}: {str(exc)[:200]}")
                ready = [(r, lost) for r in refs]
            if not ready:
                continue
            with self._lock:
                items = [(self._pending.pop(r), v) for r, v in ready if r in self._pending]
                self._ready.extend(items)
                first = len(self._ready) == len(items)
            if first and items:
                try:
                    self.loop.call_soon_threadsafe(self._deliver)
                except RuntimeError:  # the loop is closed: nobody waits any more
                    return


def _values(refs: list) -> list:
    """The results of finished tasks, in one ``ray.get``; a task that ended with an error gives
    its exception in its place (the batch is then fetched one by one)."""
    try:
        return ray.get(refs)
    except Exception:
        out: list = []
        for r in refs:
            try:
                out.append(ray.get(r))
            except Exception as exc:
                out.append(exc)
        return out


class RayExecutor:
    """Runs each state as a named Ray task; waits with a timeout and force-cancels on expiry."""

    kind = "ray"

    def __init__(self, address: str | None = None):
        self._address = address
        self._completions: _Collector | None = None

    def _waiter(self, handle) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        c = self._completions
        if c is None or c.loop is not loop:
            c = self._completions = _Collector(loop)
        return c.wait(handle)

    def ensure_ready(self) -> None:
        cluster.connect(self._address)

    def dashboard_url(self) -> str | None:
        i = cluster.info()
        return i.dashboard_url if i else None

    def cluster_info(self) -> cluster.ClusterInfo | None:
        """Address, resources, nodes and mode of the connected cluster (``None`` when not connected)."""
        return cluster.info()

    def submit(self, payload: dict, name: str):
        # _remote() skips the decorator's defaults (max_retries=0 …), so pass them explicitly;
        # it is ~10x cheaper than .options(name=…).remote()
        placement = ray_options(payload.get("binding") or _NO_BINDING)  # num_cpus, resources, node …
        args = [pack(payload)]  # bytes: cheaper for Ray to send than a dict (ray_tasks/tasks.pack)
        if placement is not None:
            return run_state_task._remote(args=args, kwargs={}, **{**_TASK_OPTIONS, **placement}, name=name[:200])
        return _DEFAULT_PLACEMENT.submit(args[0], name[:200])

    async def result(self, handle, timeout: float | None) -> dict:
        fut = self._waiter(handle)
        try:
            if timeout is None:
                return await fut
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
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
        except RayTaskError as exc:  # the task body never raises: its result could not be sent back
            if _is_data_error(exc):
                raise DataError(
                    "the state's result could not be sent back from the worker (it is not plain "
                    f"data): {_cause_text(exc)}"
                ) from None
            raise WorkerLost(f"the task raised inside Ray: {_cause_text(exc)}") from None
        except RayError as exc:
            raise WorkerLost(
                f"Ray could not run the task: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            ) from None

    def cancel(self, handle) -> None:
        try:
            ray.cancel(handle, force=True)
        except Exception:
            pass
