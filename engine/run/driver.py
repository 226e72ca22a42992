"""The engine's lifecycle: the driver loop thread, starting runs and waiting for them, the registry
of runs known in this process (live ones and summaries of finished ones), and a run's drive from
its first record to its last (:meth:`Engine._drive` → :meth:`Engine._signal_done`).

:class:`Engine` is composed of one mixin per concern; each lives in its own module of
:mod:`engine.run` (see its docstring for the map).
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import socket
import threading
import time
import traceback
import uuid

from engine import records
from engine.dsl.model import END, START
from engine.errors import DSLError, WorkbenchError
from engine.executors import DataError, check_storable
from engine.placement import PlacementLearner
from engine.recovery import RecoveryEngine
from engine.run.attempts import AttemptsMixin
from engine.run.control import ControlMixin
from engine.run.people import PeopleMixin
from engine.run.recorder import RecorderMixin
from engine.run.state import (
    Detach,
    Exec,
    ExecutionResult,
    Failed,
    FinishedRun,
    RunError,
    RunOptions,
    Token,
    jsonable,
    now,
    spec_facts,
)
from engine.run.subworkflows import SubWorkflowMixin
from engine.run.walk import WalkMixin
from engine.schema import FINISHED_STATUSES
from engine.workflow_file import WorkflowSpec

log = logging.getLogger("workbench.runner")

MAX_RETAINED_RUNS = 10_000  # runs kept in Engine.execs (finished ones as small summaries)
MAX_FINISHED_SUMMARIES = 1_000  # finished runs' summaries kept; older ones are read back from the store
RECENT_RESULTS = 1_000  # full results of the latest finished runs kept for wait() (as many as summaries) …
RECENT_RESULTS_BYTES = 8 << 20  # … within this many bytes (older ones are read from the store, ~7 ms each)


def _cached_size(visited: tuple, context_text: str) -> int:
    """Roughly the bytes a cached result holds: its final context's JSON and its visited states."""
    return len(context_text) + sum(len(s) + 56 for s in visited)  # 56: a short str object, its slot


class Engine(WalkMixin, AttemptsMixin, SubWorkflowMixin, PeopleMixin, ControlMixin, RecorderMixin):
    """Starts, drives, resumes and controls executions; one per process (see :func:`get_engine`)."""

    max_finished_summaries = MAX_FINISHED_SUMMARIES  # per engine (tests lower it)

    def __init__(
        self,
        store=None,
        executor=None,
        decisions=None,
        recovery: RecoveryEngine | None = None,
        owner_tag: str | None = None,
    ):
        if store is None:
            from engine.store import get_store

            store = get_store()
        self.store = store
        self._executor = executor
        self._decisions = decisions
        self.recovery = recovery or RecoveryEngine(history=self._recovery_history, advisor=self._recovery_advice)
        self.owner = owner_tag or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.execs: dict[str, Exec | FinishedRun] = {}  # mutated under _execs_lock (callers' threads + loop)
        self._retired: collections.deque[str] = collections.deque()  # finished ids, oldest first
        self._execs_lock = threading.Lock()
        self._recent_results: collections.OrderedDict[str, tuple] = collections.OrderedDict()
        self._recent_bytes = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="workbench-driver", daemon=True)
        self._ready = threading.Event()
        self._executor_error: str | None = None
        self._executor_ready = False
        self._cheap_cache: dict[tuple, tuple[float, set]] = {}
        self._placement = PlacementLearner()  # where `auto` states run (engine/placement.py)
        self._listeners: dict[str, list] = {}
        self._advisor = None
        self._db_path = str(getattr(self.store, "path", ""))
        self._history_cache: dict[tuple, tuple[float, dict]] = {}
        self._thread.start()
        self._ready.wait()

    # ----------------------------------------------------------------- loop & executor
    def _run_loop(self) -> None:
        """The driver thread: runs the loop until :meth:`shutdown` stops it, whatever escapes a task.

        A ``BaseException`` escaping a task or callback (asyncio re-raises ``SystemExit`` and
        ``KeyboardInterrupt`` out of ``run_forever``) is logged and the loop goes on: one state or
        bug must never freeze every run of the process."""
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(self._ready.set)
        self._loop.create_task(self._poller())
        while True:
            try:
                self._loop.run_forever()
                return  # stopped by shutdown()
            except BaseException as exc:
                log.error(
                    "driver loop: %s escaped a task (%s); the loop continues", type(exc).__name__, exc, exc_info=True
                )

    def _call(self, coro, timeout: float | None = None):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    @property
    def executor(self):
        if self._executor is None:
            from engine.executors import ray_executor

            self._executor = ray_executor()
        return self._executor

    def _ensure_executor(self) -> None:
        """Connect the executor on the driver thread (Ray lives as long as this thread)."""
        if self._executor_ready:
            return
        try:
            self.executor.ensure_ready()
            self._executor_ready = True
            self._executor_error = None
        except WorkbenchError as exc:
            self._executor_error = str(exc)
            raise

    def start_cluster(self) -> None:
        """Connect/start Ray in the background (returns at once); see :meth:`cluster_status`."""

        def go():
            try:
                self._ensure_executor()
            except WorkbenchError:
                pass

        self._loop.call_soon_threadsafe(go)

    def cluster_status(self) -> dict:
        """{ready, error, dashboard_url, kind}."""
        url = None
        if self._executor_ready and hasattr(self.executor, "dashboard_url"):
            try:
                url = self.executor.dashboard_url()
            except Exception:
                url = None
        return {
            "ready": self._executor_ready,
            "error": self._executor_error,
            "dashboard_url": url,
            "kind": getattr(self._executor, "kind", "ray"),
        }

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the driver loop (executions still running are left resumable)."""

        def stop():
            for t in asyncio.all_tasks(self._loop):
                t.cancel()
            self._loop.call_later(0.05, self._loop.stop)

        if self._loop.is_running():
            self._loop.call_soon_threadsafe(stop)
            self._thread.join(timeout)

    # ----------------------------------------------------------------- public API
    def start(
        self,
        spec: WorkflowSpec,
        context: dict | None = None,
        options: RunOptions | None = None,
        *,
        workflow_id: str | None = None,
        version: int | None = None,
        execution_id: str | None = None,
        on_step=None,
    ) -> str:
        """Validate and start a run; returns its execution id at once.

        ``on_step(event: dict)`` is called on the driver thread after each recorded step.
        """
        facts = spec_facts(spec)  # validated and dumped once per spec content, not per run
        report = facts.report
        if report.errors:
            raise DSLError(report.errors)
        if context is not None and not isinstance(context, dict):
            raise RunError(f"the initial context must be a JSON object, got {type(context).__name__}")
        try:
            check_storable(context or {}, "the initial context")
        except DataError as exc:
            raise RunError(str(exc)) from None
        from engine.context_input import check_context_value

        check_context_value(context or {}, what="the initial context")  # too deep, cyclic, huge ints: a clear error
        from engine.inputs import check_start

        context = check_start(spec, context)  # [inputs] (defaults applied) and every {secret:NAME} defined
        ex = Exec(
            self,
            execution_id or uuid.uuid4().hex[:16],
            spec,
            context or {},
            options or RunOptions(),
            workflow_id,
            version,
        )
        ex.facts = facts
        if on_step is not None:
            self._listeners.setdefault(ex.id, []).append(on_step)
        self._launch(ex)
        return ex.id

    def subscribe(self, execution_id: str, on_step) -> None:
        """Call ``on_step(event)`` for each step recorded by this process for the execution."""
        self._listeners.setdefault(execution_id, []).append(on_step)

    def run(
        self, spec: WorkflowSpec, context: dict | None = None, options: RunOptions | None = None, **kwargs
    ) -> ExecutionResult:
        """Start a run and wait for it to finish (or to wait for a person when detaching)."""
        return self.wait(self.start(spec, context, options, **kwargs))

    def wait(self, execution_id: str, timeout: float | None = None) -> ExecutionResult:
        """The full result of a run started here, once its drive ends (final context included)."""
        ex = self.execs.get(execution_id)
        if ex is None:
            row = records.execution(self.store, execution_id)
            if row is None or row.get("status") not in FINISHED_STATUSES:
                raise RunError(f"execution {execution_id} is not running in this process")
            return self._result_from_row(row)
        res = ex.done.result(timeout)
        return res if res.final_context is not None else self._full_result(res)

    def execution_row(self, execution_id: str) -> dict | None:
        """A run's execution record as stored (JSON columns as text); ``None`` when there is none."""
        return records.execution_as_stored(self.store, execution_id)

    def live_executions(self) -> list[str]:
        """Ids of the runs this process is driving now."""
        return [e.id for e in self._exec_snapshot() if not e.done.done()]

    # ----------------------------------------------------------------- the registry
    def _full_result(self, summary: ExecutionResult) -> ExecutionResult:
        """A retired run's result with its visited states and final context (recent cache, else the store)."""
        with self._execs_lock:
            hit = self._recent_results.get(summary.execution_id)
        if hit is not None:
            visited, context_text = hit
            visited, context = list(visited), json.loads(context_text)
        else:
            row = records.execution(self.store, summary.execution_id) or {}
            visited, context = row.get("states_visited") or [], row.get("final_context") or {}
        return ExecutionResult(**{**summary.__dict__, "states_visited": visited, "final_context": context})

    @staticmethod
    def _result_from_row(row: dict) -> ExecutionResult:
        """A finished run's result rebuilt from its execution record (decoded or as stored)."""
        row = records.decode(
            "workflow_executions", row, defaults={"states_visited": [], "final_context": {}, "waiting_for": []}
        )
        return ExecutionResult(
            row["execution_id"],
            row["status"],
            row.get("states_visited", []),
            row.get("final_context", {}),
            int(row.get("duration_ms") or 0),
            int(row.get("error_count") or 0),
            int(row.get("retry_count") or 0),
            row.get("error_message"),
            row.get("waiting_for", []),
            row.get("workflow_id"),
            row.get("version"),
        )

    def _exec_snapshot(self) -> list:
        """The executions known here, copied under the lock (safe to iterate on any thread)."""
        with self._execs_lock:
            return list(self.execs.values())

    def _register(self, ex: Exec) -> None:
        """Add a run to ``execs`` (any thread); past the cap, the oldest finished half is forgotten."""
        with self._execs_lock:
            if len(self.execs) >= MAX_RETAINED_RUNS:  # their records stay in the store
                finished = [k for k, e in self.execs.items() if e.done.done()]
                for k in finished[: max(1, len(self.execs) // 2)]:
                    del self.execs[k]
            self.execs[ex.id] = ex
            stale = self._recent_results.pop(ex.id, None)  # a resumed run's old result
            if stale is not None:
                self._recent_bytes -= _cached_size(*stale)

    def _retire(self, ex: Exec, result: ExecutionResult) -> None:
        """Replace a finished run by a summary; its full result stays in a small, byte-bounded cache."""
        try:
            text = json.dumps(result.final_context, default=str)
        except (TypeError, ValueError, RecursionError):
            text = None
        visited = tuple(result.states_visited)
        with self._execs_lock:
            size = None if text is None else _cached_size(visited, text)
            if size is not None and size <= RECENT_RESULTS_BYTES // 4:
                old = self._recent_results.pop(ex.id, None)
                if old is not None:
                    self._recent_bytes -= _cached_size(*old)
                self._recent_results[ex.id] = (visited, text)
                self._recent_bytes += size
                while len(self._recent_results) > RECENT_RESULTS or self._recent_bytes > RECENT_RESULTS_BYTES:
                    _, dropped = self._recent_results.popitem(last=False)
                    self._recent_bytes -= _cached_size(*dropped)
            if self.execs.get(ex.id) is ex:
                self.execs[ex.id] = FinishedRun(result, ex.parent_id)
                self._retired.append(ex.id)
                while len(self._retired) > self.max_finished_summaries:  # wait() reads older ones from the store
                    old_id = self._retired.popleft()
                    if isinstance(self.execs.get(old_id), FinishedRun):
                        del self.execs[old_id]

    # ----------------------------------------------------------------- driving a run
    def _launch(self, ex: Exec) -> None:
        """Register a run and start its drive on the loop."""
        self._register(ex)

        def go():
            ex.task = self._loop.create_task(self._drive(ex))

        self._loop.call_soon_threadsafe(go)

    def _cancel_local(self, ex: Exec, reason: str, timed_out: bool = False) -> None:
        """Stop a run driven here (on the loop). Its sub-workflow runs are stopped the same way by
        :meth:`_sub_workflow` when the cancellation reaches the state that awaits them."""
        if ex.status in FINISHED_STATUSES or ex.cancel_requested:
            return
        ex.cancel_requested = True
        ex.timed_out = timed_out
        ex.error = reason
        self._cancel_handles(ex)  # never raises: the task below must be cancelled whatever happens
        # a run stopping itself (from its own task) raises CancelledError instead: cancelling the
        # running task would also mark the task object cancelled after _drive has recorded the run
        if ex.task is not None and ex.task is not asyncio.current_task():
            ex.task.cancel()

    def _time_out(self, ex: Exec) -> None:
        """The run's ``timeout_s`` elapsed: stop it (and, through it, its sub-workflows)."""
        self._cancel_local(ex, f"the run timed out after {ex.timeout_s:g} s", timed_out=True)

    async def _with_run_timeout(self, ex: Exec, walk) -> None:
        """Await the walk; when ``timeout_s`` elapses the run is cancelled as timed out."""
        if ex.task is None:
            ex.task = asyncio.current_task()
        timer = asyncio.get_running_loop().call_later(float(ex.timeout_s or 0), self._time_out, ex)
        try:
            await walk
        finally:
            timer.cancel()

    async def _drive(self, ex: Exec) -> None:
        """Drive one run to its end. Whatever fails on the way (a state's ``SystemExit``, a handler of
        :meth:`_drive_run` raising, a context that cannot be stored), the run gets a final status and
        record, its listeners hear the end, and its done-signal is set: nobody waits forever."""
        try:
            await self._drive_run(ex)
        except BaseException as exc:
            self._record_drive_failure(ex, exc)
        finally:
            self._signal_done(ex)

    async def _drive_run(self, ex: Exec) -> None:
        """Record the start, walk the main token from ``start``, and record how the run ended."""
        if ex.options.execution != "inline" and not self._executor_ready and self._needs_ray(ex.spec):
            try:
                self._ensure_executor()  # first run of the process: Ray start-up is not run time
            except WorkbenchError as exc:  # Ray unreachable: the run never started, so nothing is recorded
                ex.status, ex.error = "failed", f"the run was not started (nothing recorded): {exc}"
                return
            if not ex.resumed:  # a resumed run keeps its recorded start: Ray's start-up is part of its wait
                ex.t0, ex.start_time = time.perf_counter(), now()
        ex.status = "running"
        self._record_exec(ex)
        if not ex.resumed:  # a resumed run has its 'run_resumed' row (engine/run/control.py)
            self._audit(
                ex.id,
                "info",
                None,
                "run_started",
                f"run of '{ex.spec.name}' started by {self.owner}",
                {"options": ex.options.to_dict()},
            )
        root = Token("0", START, dict(ex.initial_context), frozenset())
        try:
            # sub-workflows count (_needs_ray): Ray starting inside a child would block the loop after
            # the run's timeout started; Ray was made ready above, before the run was recorded
            ex.cheap = await self._cheap_states(ex)
            walk = self._walk(ex, root)
            if ex.timeout_s:
                await self._with_run_timeout(ex, walk)
            else:
                await walk
            ex.status = "completed"
            ex.final_context = jsonable(root.context)
            ex.visited.append(END)
        except Detach:
            ex.status = "waiting"
            ex.final_context = jsonable(root.context)
        except TimeoutError:
            ex.status, ex.error = "failed", f"the run timed out after {ex.timeout_s:g} s"
            ex.final_context = jsonable(root.context)
            self._cancel_handles(ex)
        except asyncio.CancelledError:  # cancelled, or stopped by its (or its parent's) run timeout
            ex.status = "failed" if ex.timed_out else "cancelled"
            ex.error = ex.error or "cancelled"
            ex.final_context = jsonable(root.context)
            self._cancel_handles(ex)
        except Failed as f:
            ex.status, ex.error = f.status, f.message
            ex.final_context = jsonable(root.context)
        except WorkbenchError as exc:
            ex.status, ex.error = "failed", str(exc)
            ex.final_context = jsonable(root.context)
        except Exception as exc:  # a bug: record it rather than lose the run
            ex.status, ex.error = "failed", f"internal error: {type(exc).__name__}: {exc}"
            self._audit(ex.id, "critical", None, "internal_error", ex.error, stack=traceback.format_exc()[-4000:])
        end = now()
        fields = (
            {"end_time": end, "duration_ms": int((time.perf_counter() - ex.t0) * 1000)}
            if ex.status in FINISHED_STATUSES
            else {}
        )
        self._record_exec(ex, **fields)  # if this raises, _drive records what it can (and signals the end)
        self._audit(
            ex.id,
            "info" if ex.status == "completed" else "warning",
            None,
            f"run_{ex.status}",
            f"run {ex.status}" + (f": {ex.error}" if ex.error else ""),
        )

    def _record_drive_failure(self, ex: Exec, exc: BaseException) -> None:
        """The drive itself failed: record the run as failed (or cancelled) with what can be stored."""
        if isinstance(exc, asyncio.CancelledError):
            ex.status, ex.error = ("failed" if ex.timed_out else "cancelled"), ex.error or "cancelled"
        else:
            ex.status, ex.error = "failed", f"internal error: {type(exc).__name__}: {str(exc)[:1000]}"
            log.error("run %s: %s", ex.id, ex.error, exc_info=(type(exc), exc, exc.__traceback__))
        self._cancel_handles(ex)
        fields = {"end_time": now(), "duration_ms": int((time.perf_counter() - ex.t0) * 1000)}
        for final_context in (ex.final_context, None):  # without the context if that cannot be stored
            try:
                self._record_exec(ex, **fields, final_context=final_context or None)
                self._audit(
                    ex.id,
                    "critical",
                    None,
                    "internal_error",
                    ex.error,
                    stack="".join(traceback.format_exception(exc))[-4000:],
                )
                return
            except Exception as record_exc:
                log.error("run %s: could not record its end: %s", ex.id, record_exc)

    def _signal_done(self, ex: Exec) -> None:
        """Tell listeners and waiters that the run's drive ended, then keep only a summary in memory."""
        for cb in self._listeners.pop(ex.id, ()):
            try:
                cb({"execution_id": ex.id, "state": None, "status": f"run_{ex.status}", "error": ex.error})
            except BaseException as exc:
                log.warning("on_step listener of %s raised %s: %s", ex.id, type(exc).__name__, exc)
        result = ex.result()
        if not ex.done.done():
            ex.done.set_result(result)
        ex.release()
        self._retire(ex, result)


_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def get_engine(store=None, executor=None) -> Engine:
    """The process-wide engine for a store (created on first use)."""
    from engine.store import get_store

    store = store or get_store()
    key = str(store.path)
    with _ENGINES_LOCK:
        eng = _ENGINES.get(key)
        if eng is None:
            eng = Engine(store=store, executor=executor)
            _ENGINES[key] = eng
        return eng
