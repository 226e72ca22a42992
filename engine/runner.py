"""Run workflows: one driver loop per process, every state a Ray task (or inline when cheap).

The driver is an asyncio loop on one long-lived thread ("workbench-driver"). Each execution is a
coroutine and each parallel branch a child coroutine (a *token*), so thousands of executions run
at once without a thread each. Ray is connected from that same thread, which never exits (Ray's
head processes die with the thread that started them).

Durability: every state completion is appended to the store (a write-ahead log, safe against
``kill -9``) together with the transition chosen next, *before* any successor starts. Resume and
re-run are deterministic replays: the driver walks the graph again and reuses each recorded
``(token, state, visit)`` result instead of running the state.

Fan-in merge rule: each branch starts from a copy of the context at the fork. At the join the
keys each branch wrote are merged in branch order; when two branches wrote the same key with
different values the first branch's value is kept and every value is listed under
``_conflicts[key][branch]`` (plus a warning in the audit log), so nothing is lost silently. The
merged context also gets ``all_ok``, ``any_failed`` and ``branch_status`` (branch -> status).
When any branch failed only *conditional* fan-in transitions are considered.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import copy
import datetime as dt
import hashlib
import json
import logging
import os
import socket
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.dsl.conditions import evaluate_condition
from engine.dsl.model import END, START, Condition, Transition
from engine.dsl.printer import condition_text
from engine.errors import ConditionError, DSLError, WorkbenchError
from engine.executors import DataError, InlineExecutor, TaskCancelled, TaskTimeout, WorkerLost, check_storable
from engine.recovery import Failure, RecoveryDecision, RecoveryEngine, classify
from engine.schema import FINISHED_STATUSES
from engine.workflow_file import StateBinding, WorkflowSpec, load_workflow

log = logging.getLogger("workbench.runner")

DRIVER_ACTIONS = ("approval", "workflow")
MAX_RETAINED_RUNS = 10_000  # runs kept in Engine.execs (finished ones as small summaries)
MAX_FINISHED_SUMMARIES = 1_000  # finished runs' summaries kept; older ones are read back from the store
RECENT_RESULTS = 64  # full results of the latest finished runs kept for wait() …
RECENT_RESULTS_BYTES = 8 << 20  # … within this many bytes of JSON (older ones are read from the store)
HUMAN_POLL_S = 0.4
CHEAP_STATE_MS = 5.0
REPO_ROOT = Path(__file__).resolve().parent.parent
_DATA_DIR = str(REPO_ROOT / "data")
_ARTIFACTS_DIR = str(REPO_ROOT / "data" / "artifacts")


class RunError(WorkbenchError):
    """A run could not be started, resumed or controlled (the message says why)."""


@dataclass
class RunOptions:
    """Per-run options (the workflow's [settings] supply defaults)."""

    timeout_s: float | None = None
    max_steps: int | None = None
    ai_decisions: bool | None = None
    auto_recovery: bool | None = None
    decision_threshold: int | None = None
    execution: str = "auto"  # auto | ray | inline
    detach_when_waiting: bool = False  # CLI: stop driving when only humans can move the run on
    max_subworkflow_depth: int | None = None  # nesting bound for sub-workflows (default: settings, 10)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class ExecutionResult:
    execution_id: str
    status: str
    states_visited: list[str]
    final_context: dict
    duration_ms: int
    error_count: int
    retry_count: int
    error: str | None = None
    waiting_for: list[dict] = field(default_factory=list)
    workflow_id: str | None = None
    version: int | None = None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


class _Detach(Exception):
    """Raised in waiting tokens when only a person can move the run on and we were asked to stop."""


class _Failed(Exception):
    def __init__(self, message: str, error_type: str = "Error", state: str | None = None, status: str = "failed"):
        super().__init__(message)
        self.message, self.error_type, self.state, self.status = message, error_type, state, status


@dataclass
class _Token:
    id: str
    state: str
    context: dict
    stop_at: frozenset
    visits: dict = field(default_factory=dict)
    forks: int = 0
    written: set = field(default_factory=set)
    status: str = "running"
    error: str | None = None


@dataclass
class _Outcome:
    status: str  # completed | skipped | fallback
    updates: dict = field(default_factory=dict)
    attempt: int = 1
    error: dict | None = None
    executed_on: str = "inline"  # where the successful attempt ran (ray | inline)
    out: dict | None = None  # the task's result record (timings, keys, node) for the transition row


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _ts(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).replace(tzinfo=None)


def _jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (other leaves become text).

    Never raises for a dict (a context): an entry that cannot be stored (a cycle, nesting too deep, a
    non-string key) is replaced by a note saying why, the rest is kept."""
    try:
        return json.loads(json.dumps(value, default=str))
    except (TypeError, ValueError, RecursionError) as exc:
        if not isinstance(value, dict):
            raise DataError(f"value cannot be stored as JSON: {type(exc).__name__}: {exc}") from None
        out = {}
        for k, v in value.items():
            try:
                out[str(k)] = json.loads(json.dumps(v, default=str))
            except (TypeError, ValueError, RecursionError) as item_exc:
                out[str(k)] = f"<not stored: {type(item_exc).__name__}: {str(item_exc)[:200]}>"
        return out


class _Exec:
    """In-memory state of one execution (lives on the driver thread)."""

    def __init__(
        self,
        engine: Engine,
        execution_id: str,
        spec: WorkflowSpec,
        context: dict,
        options: RunOptions,
        workflow_id: str | None,
        version: int | None,
    ):
        self.engine = engine
        self.id = execution_id
        self.spec = spec
        self.model = spec.model
        self.analysis = spec.analysis
        self.groups = {g.fan_out_index: g for g in self.analysis.groups}
        self.workflow_id = workflow_id or _slug(spec.name)
        self.version = version
        s = spec.settings
        self.options = options
        self.max_steps = options.max_steps or s.max_steps
        self.timeout_s = options.timeout_s or s.timeout_s
        self.ai_decisions = s.ai_decisions if options.ai_decisions is None else options.ai_decisions
        self.auto_recovery = s.auto_recovery if options.auto_recovery is None else options.auto_recovery
        self.threshold = options.decision_threshold if options.decision_threshold is not None else s.decision_threshold
        self.initial_context = _jsonable(context or {})
        self.replay: dict[tuple[str, str, int], dict] = {}
        self.answers: dict[str, str] = {}
        self.visited: list[str] = []
        self.error_count = 0
        self.retry_count = 0
        self.steps = 0
        self.ai_log: list[dict] = []
        self.recovery_log: list[dict] = []
        self.compensable: list[tuple[str, str, str, dict]] = []  # (token, state, compensate_state, context)
        self.status = "pending"
        self.start_time = _now()
        self.t0 = time.perf_counter()
        self.final_context: dict = {}
        self.error: str | None = None
        self.waiting: dict[str, dict] = {}
        self.waiters: dict[str, asyncio.Future] = {}
        self.busy = 0
        self.detach_event = asyncio.Event()
        self.cancel_requested = False
        self.task: asyncio.Task | None = None
        self.done: concurrent.futures.Future = concurrent.futures.Future()
        self.parent_id: str | None = None
        self.depth = 0  # sub-workflow nesting level (0: a top-level run)
        self.chain: tuple[tuple[str, str], ...] = ()  # (identity, name) per level from the top; set for children
        self.max_depth = options.max_subworkflow_depth or s.max_subworkflow_depth
        self.timed_out = False  # the run's own --timeout fired (or its parent's, for a sub-workflow)
        self.depth_exceeded: str | None = None  # the sub-workflow depth error, passed up unchanged
        self.rerun_of: str | None = None
        self.rerun_from: str | None = None
        self.handles: set = set()
        self.cheap: set[str] = set()
        self.binding_dumps: dict[int, tuple[StateBinding, dict]] = {}
        self._options_record: dict | None = None
        self._encoded: dict[str, Any] = {}
        self.python_path = _python_path(spec)
        self.workflow_dir = str(Path(spec.source_path).parent) if spec.source_path else None
        self.seq = 0

    def options_record(self) -> dict:
        """Run options plus the exact spec, so a resume works even without the library (dumped once)."""
        if self._options_record is None:
            self._options_record = {
                **self.options.to_dict(),
                "_spec": self.spec.model_dump(mode="json"),
                "_source_path": self.spec.source_path,
            }
        return self._options_record

    def encoded(self, name: str, value):
        """JSON text of a value every execution row repeats unchanged (encoded once per execution)."""
        hit = self._encoded.get(name)
        if hit is None:
            hit = self._encoded[name] = self.engine.store.encode_json(value)
        return hit

    def release(self) -> None:
        """Drop what only the drive needed (spec dumps, replay records): finished executions stay
        in ``Engine.execs`` for a while, and a big retained heap makes every full GC pass slower."""
        self._options_record = None
        self._encoded = {}
        self.binding_dumps = {}
        self.replay = {}
        self.compensable = []
        self.cheap = set()

    def result(self) -> ExecutionResult:
        return ExecutionResult(
            self.id,
            self.status,
            list(self.visited),
            self.final_context,
            int((time.perf_counter() - self.t0) * 1000),
            self.error_count,
            self.retry_count,
            self.error,
            list(self.waiting.values()),
            self.workflow_id,
            self.version,
        )


class _FinishedRun:
    """What the engine keeps in memory of a run whose drive ended: a summary, not its context.

    ``Engine.wait`` rebuilds the full :class:`ExecutionResult` from a small cache of the most
    recent results, else from the store (the run's final record)."""

    __slots__ = ("id", "status", "error", "parent_id", "done")
    task = None
    cancel_requested = True
    waiters: dict = {}  # never written: a finished run waits for nobody

    def __init__(self, result: ExecutionResult, parent_id: str | None):
        self.id, self.status, self.error, self.parent_id = (result.execution_id, result.status, result.error, parent_id)
        self.done = _Resolved(
            ExecutionResult(
                result.execution_id,
                result.status,
                None,
                None,
                result.duration_ms,
                result.error_count,
                result.retry_count,
                result.error,
                result.waiting_for,
                result.workflow_id,
                result.version,
            )
        )


class _Resolved:
    """A finished future's two read methods, without a lock and condition per retired run."""

    __slots__ = ("_value",)

    def __init__(self, value):
        self._value = value

    def done(self) -> bool:
        return True

    def result(self, timeout: float | None = None):
        return self._value


def _slug(name: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "workflow"


_CHILD_ID_MAX = 60


def _child_execution_id(parent_id: str, token_id: str, state: str, visit: int) -> str:
    """Deterministic id of the sub-workflow run a state starts (a resume finds the same child again).

    Readable ``<parent>-<state>-<visit>`` while it fits; deeper down a hash of the full name keeps it
    short *and* distinct (cutting it to length once made a child's id equal to its parent's)."""
    readable = f"{parent_id}-{state}-{visit}" + ("" if token_id == "0" else f"-t{token_id}")
    if len(readable) <= _CHILD_ID_MAX:
        return readable
    digest = hashlib.sha1(readable.encode()).hexdigest()[:12]
    return f"{parent_id[:16]}-{state[:20]}-{visit}-{digest}"


def _workflow_key(spec: WorkflowSpec) -> str:
    """What makes two sub-workflow levels 'the same workflow' (its file, else its name)."""
    if spec.source_path:
        try:
            return str(Path(spec.source_path).resolve())
        except OSError:
            return spec.source_path
    return f"name:{spec.name}"


def _depth_error(chain: list[tuple[str, str]], limit: int) -> str:
    """The message of a sub-workflow chain that went deeper than ``limit`` (names the chain and any cycle)."""
    names = [name for _, name in chain]
    shown = names if len(names) <= 16 else names[:6] + ["…"] + names[-6:]
    msg = f"sub-workflow depth limit of {limit} reached: " + " → ".join(shown)
    keys = [key for key, _ in chain]
    for i, key in enumerate(keys):
        if key in keys[i + 1 :]:
            j = keys.index(key, i + 1)
            via = names[i + 1 : j]
            msg += f" ('{names[i]}' calls itself" + (f" through {' → '.join(via)})" if via else ")")
            break
    return (
        msg + ". Raise settings.max_subworkflow_depth (or RunOptions.max_subworkflow_depth) if the nesting "
        "is intended, or add a condition that ends the recursion"
    )


def _stopped_by_parent(parent: _Exec) -> str:
    """Why a sub-workflow run stops with its parent: the parent, and the cause at the top of the chain."""
    cause = parent.error or "cancelled"
    cause = cause.split(" — ", 1)[1] if " — " in cause else cause
    if parent.timed_out:
        return f"timed out: its parent run {parent.id} timed out — {cause}"
    return f"cancelled: its parent run {parent.id} was cancelled — {cause}"


def _python_path(spec: WorkflowSpec) -> list[str]:
    paths = [str(REPO_ROOT / "data" / "functions")]
    if spec.source_path:
        base = Path(spec.source_path).parent
        paths.append(str(base))
        paths.append(str(base / "functions"))
    paths += [p for p in os.environ.get("WORKBENCH_PYTHONPATH", "").split(os.pathsep) if p]
    from engine.sandbox import function_dirs  # admin-listed function folders (docs/security.md)

    paths += [str(d) for d in function_dirs() if str(d) not in paths]
    return paths


class Engine:
    """Starts, drives, resumes and controls executions; one per process (see :func:`get_engine`)."""

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
        self.execs: dict[str, _Exec | _FinishedRun] = {}  # mutated under _execs_lock (callers' threads + loop)
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

    def _recovery_advice(self, failure, history: dict):
        """The LLM's recovery suggestion when a model is configured (None offline)."""
        if self._advisor is None:
            try:
                from engine.ai import get_ai
                from engine.recovery import llm_advisor

                self._advisor = llm_advisor(get_ai(store=self.store))
            except Exception as exc:  # the AI layer must never break recovery
                log.warning("recovery advisor unavailable: %s", exc)
                self._advisor = lambda f, h: None
        return self._advisor(failure, history)

    @property
    def decisions(self):
        if self._decisions is None:
            try:
                from engine.ai import get_ai

                self._decisions = get_ai(store=self.store).decisions
            except Exception as exc:  # the AI layer must never stop a run from starting
                log.warning("decision service unavailable: %s", exc)
                self._decisions = False
        return self._decisions or None

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
        report = spec.validate_all()
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
        ex = _Exec(
            self,
            execution_id or uuid.uuid4().hex[:16],
            spec,
            context or {},
            options or RunOptions(),
            workflow_id,
            version,
        )
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
            row = self.execution_row(execution_id)
            if row is None or row.get("status") not in FINISHED_STATUSES:
                raise RunError(f"execution {execution_id} is not running in this process")
            return self._result_from_row(row)
        res = ex.done.result(timeout)
        return res if res.final_context is not None else self._full_result(res)

    def _full_result(self, summary: ExecutionResult) -> ExecutionResult:
        """A retired run's result with its visited states and final context (recent cache, else the store)."""
        with self._execs_lock:
            hit = self._recent_results.get(summary.execution_id)
        if hit is not None:
            visited, context_text = hit
            visited, context = list(visited), json.loads(context_text)
        else:
            row = self.execution_row(summary.execution_id) or {}
            visited = json.loads(row["states_visited"]) if row.get("states_visited") else []
            context = json.loads(row["final_context"]) if row.get("final_context") else {}
        return ExecutionResult(**{**summary.__dict__, "states_visited": visited, "final_context": context})

    @staticmethod
    def _result_from_row(row: dict) -> ExecutionResult:
        """A finished run's result rebuilt from its execution record."""

        def decoded(name: str, default):
            value = row.get(name)
            return json.loads(value) if isinstance(value, str) else (default if value is None else value)

        return ExecutionResult(
            row["execution_id"],
            row["status"],
            decoded("states_visited", []),
            decoded("final_context", {}),
            int(row.get("duration_ms") or 0),
            int(row.get("error_count") or 0),
            int(row.get("retry_count") or 0),
            row.get("error_message"),
            decoded("waiting_for", []),
            row.get("workflow_id"),
            row.get("version"),
        )

    def _register(self, ex: _Exec) -> None:
        """Add a run to ``execs`` (any thread); past the cap, the oldest finished half is forgotten."""
        with self._execs_lock:
            if len(self.execs) >= MAX_RETAINED_RUNS:  # their records stay in the store
                finished = [k for k, e in self.execs.items() if e.done.done()]
                for k in finished[: max(1, len(self.execs) // 2)]:
                    del self.execs[k]
            self.execs[ex.id] = ex
            stale = self._recent_results.pop(ex.id, None)  # a resumed run's old result
            if stale is not None:
                self._recent_bytes -= len(stale[1])

    def _retire(self, ex: _Exec, result: ExecutionResult) -> None:
        """Replace a finished run by a summary; its full result stays in a small, byte-bounded cache."""
        try:
            text = json.dumps(result.final_context, default=str)
        except (TypeError, ValueError, RecursionError):
            text = None
        with self._execs_lock:
            if text is not None and len(text) <= RECENT_RESULTS_BYTES // 4:
                old = self._recent_results.pop(ex.id, None)
                if old is not None:
                    self._recent_bytes -= len(old[1])
                self._recent_results[ex.id] = (tuple(result.states_visited), text)
                self._recent_bytes += len(text)
                while len(self._recent_results) > RECENT_RESULTS or self._recent_bytes > RECENT_RESULTS_BYTES:
                    _, (_, dropped) = self._recent_results.popitem(last=False)
                    self._recent_bytes -= len(dropped)
            if self.execs.get(ex.id) is ex:
                self.execs[ex.id] = _FinishedRun(result, ex.parent_id)
                self._retired.append(ex.id)
                while len(self._retired) > MAX_FINISHED_SUMMARIES:  # wait() reads older ones from the store
                    old_id = self._retired.popleft()
                    if isinstance(self.execs.get(old_id), _FinishedRun):
                        del self.execs[old_id]

    def cancel(self, execution_id: str, reason: str = "cancelled by user") -> str:
        """Cancel a run driven here, or ask the process driving it (via the store)."""
        ex = self.execs.get(execution_id)
        if ex is not None and not ex.done.done():
            self._loop.call_soon_threadsafe(self._cancel_local, ex, reason)
            return "cancelling"
        row = self.execution_row(execution_id)
        if row is None:
            raise RunError(f"no execution {execution_id}")
        if row["status"] in FINISHED_STATUSES:
            return f"already {row['status']}"
        if row["status"] == "waiting" or not self._owner_alive(row.get("owner")):
            self._append_exec_row_raw(row, status="cancelled", error_message=reason, end_time=_now())
            self._audit(execution_id, "warning", None, "run_cancelled", reason)
            self._cancel_recorded_children(execution_id, reason)
            return "cancelled"
        self.store.append(
            "control_requests",
            {"id": uuid.uuid4().hex, "execution_id": execution_id, "command": "cancel", "created_at": _now()},
        )
        return "cancel requested"

    def _unfinished_top(self, row: dict) -> dict:
        """The outermost unfinished run above a sub-workflow run's record (the record itself if none)."""
        seen = {row["execution_id"]}
        while row.get("parent_execution_id") and row["parent_execution_id"] not in seen:
            parent = self.execution_row(row["parent_execution_id"])
            if parent is None or parent["status"] in FINISHED_STATUSES:
                break
            row = parent
            seen.add(row["execution_id"])
        return row

    def _open_requests_below(self, execution_id: str, state: str) -> list[dict]:
        """Open requests for ``state`` in the sub-workflow runs under an execution (nearest level first)."""
        frontier = [execution_id]
        for _ in range(1000):  # bounded: the depth limit keeps real chains far shorter
            kids = self.store.query(
                "SELECT execution_id FROM workflow_executions WHERE parent_execution_id IN "
                "(SELECT unnest(?::VARCHAR[]))",
                [frontier],
            )
            frontier = [k["execution_id"] for k in kids]
            if not frontier:
                return []
            reqs = self.store.query(
                "SELECT * FROM human_requests WHERE state = ? AND status = 'open' AND "
                "execution_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY created_at",
                [state, frontier],
            )
            if reqs:
                return reqs
        return []

    def _cancel_recorded_children(self, parent_id: str, reason: str) -> None:
        """A run cancelled in the store only (nobody drives it): its unfinished sub-workflow runs too."""
        frontier = [parent_id]
        while frontier:
            kids = self.store.query(
                "SELECT * FROM workflow_executions WHERE parent_execution_id IN (SELECT unnest(?::VARCHAR[]))",
                [frontier],
            )
            for kid in kids:
                if kid["status"] not in FINISHED_STATUSES:
                    why = f"cancelled: its parent run {kid['parent_execution_id']} was cancelled — {reason}"
                    self._append_exec_row_raw(kid, status="cancelled", error_message=why, end_time=_now())
                    self._audit(kid["execution_id"], "warning", None, "run_cancelled", why)
            frontier = [k["execution_id"] for k in kids]

    def answer(self, execution_id: str, state: str, answer: str, by: str = "user") -> dict:
        """Answer an open request (approval yes/no, decision true/false, escalation retry/skip/abort)."""
        reqs = self.store.query(
            "SELECT * FROM human_requests WHERE execution_id = ? AND state = ? AND status = 'open' ORDER BY created_at",
            [execution_id, state],
        )
        if not reqs:  # a person is asked inside a sub-workflow: answering through the parent run works too
            reqs = self._open_requests_below(execution_id, state)
        if not reqs:
            open_reqs = self.store.query(
                "SELECT state, kind FROM human_requests WHERE execution_id = ? AND status = 'open'", [execution_id]
            )
            hint = ", ".join(f"{r['state']} ({r['kind']})" for r in open_reqs) or "none"
            raise RunError(f"execution {execution_id} has no open request for state '{state}'; open: {hint}")
        req = reqs[0]
        options = json.loads(req["options"]) if req.get("options") else []
        if options and answer not in options:
            raise RunError(f"'{answer}' is not a valid answer for {req['kind']} of '{state}'; choose one of {options}")
        row = dict(req, status="answered", answer=answer, answered_by=by, updated_at=_now(), seq=None)
        row["options"] = options
        row["details"] = json.loads(req["details"]) if req.get("details") else None
        self.store.append("human_requests", row)
        self._audit(
            req["execution_id"],
            "info",
            state,
            "human_answer",
            f"{req['kind']} of '{state}' answered '{answer}' by {by}",
        )
        ex = self.execs.get(req["execution_id"])  # the run that asked (a sub-workflow run, or this one)
        if ex is not None and ex.task is not None and not ex.task.done():
            self._loop.call_soon_threadsafe(self._deliver_answer, ex, req["request_id"], answer)
            return {"request": req["request_id"], "delivered": "live"}
        exec_row = self.execution_row(execution_id)
        if (
            exec_row
            and exec_row["status"] == "waiting"
            and (exec_row.get("owner") == self.owner or not self._owner_alive(exec_row.get("owner")))
        ):
            return {"request": req["request_id"], "delivered": "resume"}
        return {"request": req["request_id"], "delivered": "store"}

    def resume(self, execution_id: str, options: RunOptions | None = None) -> str:
        """Continue an interrupted or waiting execution from its records (completed states are not re-run)."""
        local = self.execs.get(execution_id)
        if local is not None and local.task is not None and not local.task.done():
            return execution_id  # already driven here
        row = self.execution_row(execution_id)
        if row is None:
            raise RunError(f"no execution {execution_id}")
        if row["status"] in FINISHED_STATUSES:
            raise RunError(f"execution {execution_id} is already {row['status']}; use rerun to run it again")
        top = self._unfinished_top(row)
        if top["execution_id"] != execution_id:  # a sub-workflow run continues through the run that awaits it
            return self.resume(top["execution_id"], options)
        if row.get("owner") != self.owner and self._owner_alive(row.get("owner")):
            raise RunError(
                f"execution {execution_id} is still being driven by process {row['owner']}; "
                "it continues there (answers and cancels reach it through the store)"
            )
        spec, _ = self._spec_for(row)
        opts = options or RunOptions(
            **{
                k: v
                for k, v in (json.loads(row["options"]) if row.get("options") else {}).items()
                if k in RunOptions.__dataclass_fields__
            }
        )
        if options is None:
            opts.detach_when_waiting = False
        ex = _Exec(
            self,
            execution_id,
            spec,
            json.loads(row["initial_context"] or "{}"),
            opts,
            row["workflow_id"],
            row["version"],
        )
        ex.start_time = row["start_time"] or ex.start_time
        ex.parent_id, ex.rerun_of, ex.rerun_from = (
            row.get("parent_execution_id"),
            row.get("rerun_of"),
            row.get("rerun_from"),
        )
        self._load_replay(ex, execution_id)
        self._audit(
            execution_id,
            "info",
            None,
            "run_resumed",
            f"resumed by {self.owner}; {len(ex.replay)} recorded state results will be reused",
        )
        self._launch(ex)
        return execution_id

    def rerun(self, execution_id: str, from_state: str, options: RunOptions | None = None) -> str:
        """New execution reusing the recorded results of states that finished before ``from_state`` started."""
        row = self.execution_row(execution_id)
        if row is None:
            raise RunError(f"no execution {execution_id}")
        spec, _ = self._spec_for(row)
        if from_state not in spec.model.states:
            raise RunError(f"workflow has no state '{from_state}'; states: {', '.join(spec.model.states)}")
        rows = self.store.query(
            "SELECT * FROM state_transitions WHERE execution_id = ? ORDER BY timestamp", [execution_id]
        )
        firsts = [r for r in rows if r["from_state"] == from_state]
        if not firsts:
            raise RunError(
                f"'{from_state}' never ran in execution {execution_id}; choose a state it reached: "
                + ", ".join(dict.fromkeys(r["from_state"] for r in rows))
            )
        cut = min(r["started_at"] or r["timestamp"] for r in firsts)
        ex = _Exec(
            self,
            uuid.uuid4().hex[:16],
            spec,
            json.loads(row["initial_context"] or "{}"),
            options or RunOptions(),
            row["workflow_id"],
            row["version"],
        )
        ex.rerun_of, ex.rerun_from = execution_id, from_state
        self._load_replay(ex, execution_id, before=cut)
        self._launch(ex)
        return ex.id

    def execution_row(self, execution_id: str) -> dict | None:
        rows = self.store.query("SELECT * FROM workflow_executions WHERE execution_id = ?", [execution_id])
        return rows[0] if rows else None

    def live_executions(self) -> list[str]:
        """Ids of the runs this process is driving now."""
        return [e.id for e in self._exec_snapshot() if not e.done.done()]

    def _exec_snapshot(self) -> list:
        """The executions known here, copied under the lock (safe to iterate on any thread)."""
        with self._execs_lock:
            return list(self.execs.values())

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the driver loop (executions still running are left resumable)."""

        def stop():
            for t in asyncio.all_tasks(self._loop):
                t.cancel()
            self._loop.call_later(0.05, self._loop.stop)

        if self._loop.is_running():
            self._loop.call_soon_threadsafe(stop)
            self._thread.join(timeout)

    # ----------------------------------------------------------------- internals: lifecycle
    def _spec_for(self, row: dict) -> tuple[WorkflowSpec, dict]:
        opts = json.loads(row["options"]) if row.get("options") else {}
        try:
            from engine.library import get_workflow

            spec, meta = get_workflow(self.store, row["workflow_id"], row["version"])
            if spec.source_path is None and opts.get("_source_path"):
                # the run's file still anchors its relative paths (sub-workflow files, data, functions)
                spec = spec.model_copy()
                spec.source_path = opts["_source_path"]
            return spec, meta
        except (WorkbenchError, ImportError):
            if opts.get("_spec"):
                spec = WorkflowSpec.model_validate(opts["_spec"])
                spec.source_path = opts.get("_source_path")
                return spec, {}
            raise RunError(
                f"the workflow of execution {row['execution_id']} ({row['workflow_id']} "
                f"v{row['version']}) is no longer available"
            ) from None

    def _load_replay(self, ex: _Exec, source_id: str, before: Any = None) -> None:
        rows = self.store.query(
            "SELECT * FROM state_transitions WHERE execution_id = ? ORDER BY timestamp", [source_id]
        )
        for r in rows:
            if before is not None and (r["ended_at"] or r["timestamp"]) > before:
                continue
            if r["status"] not in ("completed", "skipped", "fallback", "decision", "join"):
                continue
            key = (r["token"], r["from_state"], int(r["visit"] or 0))
            rec = ex.replay.setdefault(key, {})
            if r["status"] == "decision":
                rec["to_state"] = r["to_state"]
                continue
            rec.update(
                status=r["status"],
                updates=json.loads(r["context_snapshot"]) if r["context_snapshot"] else {},
                to_state=r["to_state"] or rec.get("to_state"),
                transition_type=r["transition_type"],
                error=r["error_message"],
            )
        if before is None:
            for h in self.store.query(
                "SELECT request_id, answer FROM human_requests WHERE execution_id = ? AND status = 'answered'",
                [source_id],
            ):
                ex.answers[h["request_id"]] = h["answer"]
        if source_id == ex.id:  # driving the same execution again: its record numbers continue
            ex.seq = max(ex.seq, self._max_recorded_seq(ex.id, rows))

    def _max_recorded_seq(self, execution_id: str, transitions: list[dict]) -> int:
        """The highest record number an execution used so far (its transition ids end in it, its
        execution rows carry it as ``seq``), so that a resumed drive never repeats an id."""
        prefix = f"{execution_id}-"
        top = 0
        for r in transitions:
            tail = (r.get("id") or "")[len(prefix) :]
            if (r.get("id") or "").startswith(prefix) and tail.isdigit():
                top = max(top, int(tail))
        rows = self.store.query(
            "SELECT max(seq) AS s FROM workflow_executions_history WHERE execution_id = ?", [execution_id]
        )
        if rows and rows[0]["s"] is not None:
            top = max(top, int(rows[0]["s"]))
        return top

    def _launch(self, ex: _Exec) -> None:
        self._register(ex)

        def go():
            ex.task = self._loop.create_task(self._drive(ex))

        self._loop.call_soon_threadsafe(go)

    def _cancel_local(self, ex: _Exec, reason: str, timed_out: bool = False) -> None:
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

    def _time_out(self, ex: _Exec) -> None:
        """The run's ``timeout_s`` elapsed: stop it (and, through it, its sub-workflows)."""
        self._cancel_local(ex, f"the run timed out after {ex.timeout_s:g} s", timed_out=True)

    async def _with_run_timeout(self, ex: _Exec, walk) -> None:
        """Await the walk; when ``timeout_s`` elapses the run is cancelled as timed out."""
        if ex.task is None:
            ex.task = asyncio.current_task()
        timer = asyncio.get_running_loop().call_later(ex.timeout_s, self._time_out, ex)
        try:
            await walk
        finally:
            timer.cancel()

    def _deliver_answer(self, ex: _Exec, request_id: str, answer: str) -> None:
        ex.answers[request_id] = answer
        fut = ex.waiters.get(request_id)
        if fut is not None and not fut.done():
            fut.set_result(answer)

    def _owner_alive(self, owner: str | None) -> bool:
        """Whether the process that drove a run still does: its lease in the records (engine/leases.py)."""
        from engine import leases

        return leases.owner_alive(self.store, owner, self.owner)

    async def _poller(self) -> None:
        """Picks up cancel requests and answers written by other processes.

        It must outlive anything: an exception in one tick is logged and the next tick runs."""
        from engine.leases import LeaseKeeper

        lease = LeaseKeeper(self.store, self.owner)
        while True:
            try:
                await asyncio.sleep(HUMAN_POLL_S)
                lease.tick(driving=any(not e.done.done() for e in self._exec_snapshot()))
                await self._poll_once()
            except asyncio.CancelledError:
                raise  # shutdown()
            except RuntimeError as exc:
                if "shutdown" in str(exc):  # interpreter shutting down
                    return
                log.warning("poller: %s", exc, exc_info=True)
            except Exception as exc:
                log.warning("poller: %s", exc, exc_info=True)

    async def _poll_once(self) -> None:
        """One look at the store for cancels and answers addressed to runs driven here."""
        loop = asyncio.get_running_loop()
        live = [e for e in self._exec_snapshot() if not e.done.done()]
        if not live:
            return
        ids = [e.id for e in live]
        ctrl = await loop.run_in_executor(
            None,
            self.store.query,
            "SELECT DISTINCT execution_id FROM control_requests WHERE command = "
            "'cancel' AND execution_id IN (SELECT unnest(?::VARCHAR[]))",
            [ids],
        )
        for r in ctrl:
            ex = self.execs.get(r["execution_id"])
            if ex is not None and not ex.done.done() and not ex.cancel_requested:
                self._cancel_local(ex, "cancelled by request")
        waiting_ids = [e.id for e in live if e.waiters]
        if waiting_ids:
            ans = await loop.run_in_executor(
                None,
                self.store.query,
                "SELECT execution_id, request_id, answer FROM human_requests WHERE "
                "status = 'answered' AND execution_id IN "
                "(SELECT unnest(?::VARCHAR[]))",
                [waiting_ids],
            )
            for r in ans:
                ex = self.execs.get(r["execution_id"])
                if ex is not None and r["request_id"] in ex.waiters:
                    self._deliver_answer(ex, r["request_id"], r["answer"])

    # ----------------------------------------------------------------- records
    def _exec_row(self, ex: _Exec, **over) -> dict:
        ex.seq += 1
        row = {
            "execution_id": ex.id,
            "workflow_id": ex.workflow_id,
            "workflow_name": ex.spec.name,
            "version": ex.version,
            "status": ex.status,
            "current_state": over.pop("current_state", None),
            "initial_context": ex.encoded("initial_context", ex.initial_context),
            "final_context": ex.final_context or None,
            "states_visited": ex.visited,
            "error_count": ex.error_count,
            "retry_count": ex.retry_count,
            "recovery_actions": ex.recovery_log or None,
            "ai_decisions": ex.ai_log or None,
            "anomaly_detected": False,
            "error_message": ex.error,
            "waiting_for": list(ex.waiting.values()) or None,
            "options": ex.encoded("options", ex.options_record()),
            "parent_execution_id": ex.parent_id,
            "rerun_of": ex.rerun_of,
            "rerun_from": ex.rerun_from,
            "owner": self.owner,
            "start_time": ex.start_time,
            "end_time": None,
            "duration_ms": None,
            "updated_at": _now(),
            "seq": ex.seq,
        }
        row.update(over)
        return row

    def _record_exec(self, ex: _Exec, **over) -> None:
        row = self._exec_row(ex, **over)
        # a full row (newest wins), but NULLs need not be sent: the store fills missing columns with NULL
        self.store.append("workflow_executions", {k: v for k, v in row.items() if v is not None})

    def _append_exec_row_raw(self, row: dict, **over) -> None:
        new = dict(row)
        for k in (
            "initial_context",
            "final_context",
            "states_visited",
            "recovery_actions",
            "ai_decisions",
            "waiting_for",
            "options",
        ):
            if isinstance(new.get(k), str):
                new[k] = json.loads(new[k])
        new.update(over, updated_at=_now(), seq=(row.get("seq") or 0) + 1)
        self.store.append("workflow_executions", new)

    def _audit(
        self,
        execution_id: str,
        level: str,
        state: str | None,
        event: str,
        message: str,
        metadata: dict | None = None,
        stack: str | None = None,
    ) -> None:
        self.store.append(
            "audit_logs",
            {
                "id": uuid.uuid4().hex,
                "execution_id": execution_id,
                "timestamp": _now(),
                "level": level,
                "state": state,
                "event_type": event,
                "message": message[:2000],
                "metadata": metadata,
                "stack_trace": stack,
            },
        )

    def _record_step(
        self,
        ex: _Exec,
        token: _Token,
        state: str,
        visit: int,
        *,
        status: str,
        to_state: str | None,
        ttype: str,
        out: dict | None = None,
        attempt: int = 1,
        cond: str | None = None,
        cond_result: bool | None = None,
        ai: dict | None = None,
        action: str = "noop",
        executed_on: str = "inline",
        updates: dict | None = None,
    ) -> None:
        out = out or {}
        now = time.time()
        started = out.get("started_at") or now
        ended = out.get("ended_at") or now
        ex.seq += 1
        row = {
            "id": f"{ex.id}-{ex.seq}",
            "execution_id": ex.id,
            "workflow_id": ex.workflow_id,
            "version": ex.version,
            "from_state": state,
            "to_state": to_state,
            "transition_type": ttype,
            "token": token.id,
            "visit": visit,
            "attempt": attempt,
            "status": status,
            "context_snapshot": updates if updates is not None else out.get("updates"),
            "condition_evaluated": cond,
            "condition_result": cond_result,
            "ai_decision_used": bool(ai),
            "ai_decision_reasoning": (ai or {}).get("reasoning"),
            "ai_confidence_score": (ai or {}).get("confidence"),
            "keys_read": out.get("keys_read"),
            "keys_written": out.get("keys_written"),
            "action": action,
            "executed_on": executed_on,
            "node_id": out.get("node_id"),
            "worker_pid": out.get("worker_pid"),
            "error_type": out.get("error_type"),
            "error_message": out.get("error_message"),
            "started_at": _ts(started),
            "ended_at": _ts(ended),
            "timestamp": _now(),
            "duration_ms": out.get("duration_ms", (ended - started) * 1000),
        }
        self.store.append("state_transitions", row)  # NULL values are left out by the store
        for cb in self._listeners.get(ex.id, ()):
            try:
                cb(
                    {
                        "execution_id": ex.id,
                        "state": state,
                        "status": status,
                        "to_state": to_state,
                        "token": token.id,
                        "attempt": attempt,
                        "duration_ms": out.get("duration_ms", (ended - started) * 1000),
                        "error": out.get("error_message"),
                        "executed_on": executed_on,
                    }
                )
            except BaseException as exc:
                log.warning("on_step listener of %s raised %s: %s", ex.id, type(exc).__name__, exc)

    def _recovery_history(self, state: str, error_class: str) -> dict:
        key = (state, error_class)
        hit = self._history_cache.get(key)
        if hit and time.monotonic() - hit[0] < 30:
            return hit[1]
        try:
            rows = self.store.query(
                "SELECT recovery_strategy AS s, count(*) FILTER (WHERE success) AS ok, count(*) AS n "
                "FROM recovery_actions WHERE error_state = ? AND error_class = ? GROUP BY 1",
                [state, error_class],
            )
            hist = {r["s"]: (int(r["ok"]), int(r["n"])) for r in rows}
        except Exception:
            hist = {}
        self._history_cache[key] = (time.monotonic(), hist)
        return hist

    # ----------------------------------------------------------------- the drive
    async def _drive(self, ex: _Exec) -> None:
        """Drive one run to its end. Whatever fails on the way (a state's ``SystemExit``, a handler of
        :meth:`_drive_run` raising, a context that cannot be stored), the run gets a final status and
        record, its listeners hear the end, and its done-signal is set: nobody waits forever."""
        try:
            await self._drive_run(ex)
        except BaseException as exc:
            self._record_drive_failure(ex, exc)
        finally:
            self._signal_done(ex)

    def _record_drive_failure(self, ex: _Exec, exc: BaseException) -> None:
        """The drive itself failed: record the run as failed (or cancelled) with what can be stored."""
        if isinstance(exc, asyncio.CancelledError):
            ex.status, ex.error = ("failed" if ex.timed_out else "cancelled"), ex.error or "cancelled"
        else:
            ex.status, ex.error = "failed", f"internal error: {type(exc).__name__}: {str(exc)[:1000]}"
            log.error("run %s: %s", ex.id, ex.error, exc_info=(type(exc), exc, exc.__traceback__))
        self._cancel_handles(ex)
        fields = {"end_time": _now(), "duration_ms": int((time.perf_counter() - ex.t0) * 1000)}
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

    def _signal_done(self, ex: _Exec) -> None:
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

    async def _drive_run(self, ex: _Exec) -> None:
        ex.status = "running"
        self._record_exec(ex)
        self._audit(
            ex.id,
            "info",
            None,
            "run_started",
            f"run of '{ex.spec.name}' started by {self.owner}",
            {"options": ex.options.to_dict()},
        )
        root = _Token("0", START, dict(ex.initial_context), frozenset())
        try:
            # sub-workflows count: Ray starting inside a child would block the loop after the run's
            # timeout started (the timer could not fire) and count start-up as run time
            if ex.options.execution != "inline" and not self._executor_ready and self._needs_ray(ex.spec):
                self._ensure_executor()  # first run of the process: Ray start-up is not run time
                ex.t0, ex.start_time = time.perf_counter(), _now()
            ex.cheap = await self._cheap_states(ex)
            walk = self._walk(ex, root)
            if ex.timeout_s:
                await self._with_run_timeout(ex, walk)
            else:
                await walk
            ex.status = "completed"
            ex.final_context = _jsonable(root.context)
            ex.visited.append(END)
        except _Detach:
            ex.status = "waiting"
            ex.final_context = _jsonable(root.context)
        except TimeoutError:
            ex.status, ex.error = "failed", f"the run timed out after {ex.timeout_s:g} s"
            ex.final_context = _jsonable(root.context)
            self._cancel_handles(ex)
        except asyncio.CancelledError:  # cancelled, or stopped by its (or its parent's) run timeout
            ex.status = "failed" if ex.timed_out else "cancelled"
            ex.error = ex.error or "cancelled"
            ex.final_context = _jsonable(root.context)
            self._cancel_handles(ex)
        except _Failed as f:
            ex.status, ex.error = f.status, f.message
            ex.final_context = _jsonable(root.context)
        except WorkbenchError as exc:
            ex.status, ex.error = "failed", str(exc)
            ex.final_context = _jsonable(root.context)
        except Exception as exc:  # a bug: record it rather than lose the run
            ex.status, ex.error = "failed", f"internal error: {type(exc).__name__}: {exc}"
            self._audit(ex.id, "critical", None, "internal_error", ex.error, stack=traceback.format_exc()[-4000:])
        end = _now()
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

    def _cancel_handles(self, ex: _Exec) -> None:
        for h in list(ex.handles):
            try:
                self.executor.cancel(h)
            except Exception:
                pass

    async def _cheap_states(self, ex: _Exec) -> set[str]:
        """States whose recorded p95 is a few ms: run inline instead of paying Ray's ~2 ms overhead."""
        # a timeout must stay enforceable (a worker can be killed, a driver thread cannot)
        candidates = [
            s
            for s in ex.model.states
            if ex.spec.binding(s).action == "python"
            and ex.spec.binding(s).execution == "auto"
            and ex.spec.binding(s).timeout_s is None
        ]
        if not candidates or ex.options.execution != "auto":
            return set()
        key = (ex.workflow_id, ex.version)
        hit = self._cheap_cache.get(key)
        if hit and time.monotonic() - hit[0] < 60:
            return hit[1]
        try:
            rows = await asyncio.get_running_loop().run_in_executor(
                None,
                self.store.query,
                (
                    "SELECT from_state, count(*) AS n, quantile_cont(duration_ms, 0.95) AS p95, "
                    "bool_and(status = 'completed') AS ok FROM state_transitions WHERE workflow_id = ? "
                    "AND executed_on = 'ray' GROUP BY 1"
                ),
                [ex.workflow_id],
            )
            cheap = {
                r["from_state"]
                for r in rows
                if r["n"] >= 5
                and r["ok"]
                and r["p95"] is not None
                and r["p95"] < CHEAP_STATE_MS
                and r["from_state"] in candidates
            }
        except Exception:
            cheap = set()
        self._cheap_cache[key] = (time.monotonic(), cheap)
        return cheap

    async def _walk(self, ex: _Exec, token: _Token) -> None:
        """Advance one token until it reaches end or its branch end; raises _Failed on failure."""
        ex.busy += 1
        try:
            while True:
                state = token.state
                if state == END:
                    token.status = "completed"
                    return
                if ex.cancel_requested:
                    raise asyncio.CancelledError()
                ex.steps += 1
                if ex.steps > ex.max_steps:
                    raise _Failed(
                        f"stopped after {ex.max_steps} steps: the workflow may loop forever "
                        f"(last state '{state}'); raise settings.max_steps if the loop is intended",
                        "MaxStepsExceeded",
                        state,
                    )
                visit = token.visits.get(state, 0)
                token.visits[state] = visit + 1
                rec = ex.replay.get((token.id, state, visit))
                binding = ex.spec.binding(state)
                if rec is not None and rec.get("status"):
                    outcome = _Outcome(rec["status"], rec.get("updates") or {})
                    if rec["status"] == "fallback":
                        outcome.error = {"state": state, "message": rec.get("error")}
                else:
                    outcome = await self._execute_with_recovery(ex, token, state, visit, binding)
                if outcome.updates:
                    token.context.update(outcome.updates)
                    token.written.update(outcome.updates)
                if outcome.status == "fallback":
                    token.context["error"] = outcome.error
                    token.written.add("error")
                if binding.compensate and outcome.status == "completed":
                    ex.compensable.append((token.id, state, binding.compensate, dict(token.context)))
                ex.visited.append(state)
                replayed = rec is not None and rec.get("status")
                if state in token.stop_at:
                    if not replayed:
                        self._record_step(
                            ex,
                            token,
                            state,
                            visit,
                            status=outcome.status,
                            to_state=None,
                            ttype="parallel",
                            updates=outcome.updates,
                            action=binding.action,
                            out=outcome.out,
                            attempt=outcome.attempt,
                            executed_on=outcome.executed_on,
                        )
                    token.status = "completed"
                    return
                chosen, info = await self._choose(ex, token, state, visit, outcome, rec, replayed, binding)
                if chosen.is_fan_out:
                    token.forks += 1
                    await self._fan_out(ex, token, chosen)
                    continue
                token.state = chosen.target
        finally:
            ex.busy -= 1

    def _target_text(self, t: Transition) -> str:
        return "[" + ",".join(t.targets) + "]" if t.target_is_group else t.target

    async def _choose(
        self,
        ex: _Exec,
        token: _Token,
        state: str,
        visit: int,
        outcome: _Outcome,
        rec: dict | None,
        replayed: bool,
        binding: StateBinding,
    ) -> tuple[Transition, dict]:
        """Pick the next transition, record the completion with it, and return it."""
        outs = [t for t in ex.model.outgoing(state)]
        if outcome.status == "fallback":
            chosen = next(t for t in outs if t.is_error)
            if not replayed:
                self._record_step(
                    ex,
                    token,
                    state,
                    visit,
                    status="fallback",
                    to_state=self._target_text(chosen),
                    ttype="error",
                    updates={},
                    action=binding.action,
                    out={
                        "error_type": (outcome.error or {}).get("type"),
                        "error_message": (outcome.error or {}).get("message"),
                    },
                )
            return chosen, {}
        normal = [t for t in outs if not t.is_error]
        if rec is not None and rec.get("to_state"):
            for t in normal:
                if self._target_text(t) == rec["to_state"]:
                    if not replayed:  # decision recorded, state result not (cannot happen) - keep consistent
                        self._record_step(
                            ex,
                            token,
                            state,
                            visit,
                            status=outcome.status,
                            to_state=rec["to_state"],
                            ttype="conditional" if t.condition else "normal",
                            updates=outcome.updates,
                        )
                    return t, {}
        tried: list[str] = []
        ai_info: dict | None = None
        chosen: Transition | None = None
        pending_record = not replayed
        for t in normal:
            if not t.is_conditional:
                continue
            cond = t.condition
            if cond.kind == "expr":
                try:
                    ok = evaluate_condition(cond.expr, token.context)
                except ConditionError as exc:
                    if pending_record:
                        self._record_step(
                            ex,
                            token,
                            state,
                            visit,
                            status=outcome.status,
                            to_state=None,
                            ttype="conditional",
                            updates=outcome.updates,
                            cond=cond.text,
                            action=binding.action,
                        )
                    ex.error_count += 1
                    raise _Failed(
                        f"condition '{cond.text}' on '{state}' could not be evaluated: {exc}", "ConditionError", state
                    ) from None
            else:
                if pending_record:  # the state is done; record it before a possibly long decision
                    self._record_step(
                        ex,
                        token,
                        state,
                        visit,
                        status=outcome.status,
                        to_state=None,
                        ttype="conditional",
                        updates=outcome.updates,
                        action=binding.action,
                    )
                    pending_record = False
                ok, ai_info = await self._decide_natural(ex, token, state, visit, cond.text)
            tried.append(f"{condition_text(cond)} → {ok}")
            if ok:
                chosen = t
                break
        if chosen is None:
            defaults = [t for t in normal if t.condition is None]
            if defaults:
                chosen = defaults[0]
        if chosen is None:
            if pending_record:
                self._record_step(
                    ex,
                    token,
                    state,
                    visit,
                    status=outcome.status,
                    to_state=None,
                    ttype="conditional",
                    updates=outcome.updates,
                    cond="; ".join(tried),
                    cond_result=False,
                    action=binding.action,
                )
            ex.error_count += 1
            raise _Failed(
                f"no transition from '{state}' matched and there is no default: tried "
                + "; ".join(tried)
                + f". Add a default such as '{state}->end;' or fix the context",
                "NoTransition",
                state,
            )
        ttype = "parallel" if chosen.is_fan_out else "conditional" if chosen.condition else "normal"
        cond_text = "; ".join(tried) if tried else None
        if pending_record:
            self._record_step(
                ex,
                token,
                state,
                visit,
                status=outcome.status,
                to_state=self._target_text(chosen),
                ttype=ttype,
                updates=outcome.updates,
                cond=cond_text,
                cond_result=True if chosen.condition else None,
                ai=ai_info,
                action=binding.action,
                executed_on=outcome.executed_on,
                out=outcome.out,
                attempt=outcome.attempt,
            )
        else:
            # the completion was recorded before the decision (or replayed without one): record the decision
            self._record_step(
                ex,
                token,
                state,
                visit,
                status="decision",
                to_state=self._target_text(chosen),
                ttype=ttype,
                updates={},
                cond=cond_text,
                cond_result=True if chosen.condition else None,
                ai=ai_info,
                action=binding.action,
            )
        return chosen, ai_info or {}

    async def _fan_out(self, ex: _Exec, token: _Token, t: Transition) -> None:
        idx = ex.model.transitions.index(t)
        group = ex.groups.get(idx)
        ends = frozenset(group.branch_ends) if group and group.branch_ends else frozenset()
        base = dict(token.context)
        children = [
            _Token(f"{token.id}.{token.forks}-{i + 1}", b, copy.deepcopy(base), ends) for i, b in enumerate(t.targets)
        ]
        ex.busy -= 1
        try:
            results = await asyncio.gather(*(self._walk(ex, c) for c in children), return_exceptions=True)
        finally:
            ex.busy += 1
        detached = False
        for c, r in zip(children, results):
            if isinstance(r, _Detach):
                detached = True
            elif isinstance(r, asyncio.CancelledError):
                raise r
            elif isinstance(r, _Failed):
                if r.status == "compensated" or r.error_type in ("Aborted", "SubWorkflowDepthExceeded"):
                    raise r
                c.status, c.error = "failed", r.message
            elif isinstance(r, BaseException):
                raise r
        if detached:
            raise _Detach()
        merged, conflicts = self._merge(base, t.targets, children)
        token.context = merged
        token.written.update(k for c in children for k in c.written)
        if conflicts:
            self._audit(
                ex.id,
                "warning",
                None,
                "merge_conflict",
                "branches wrote different values for "
                + ", ".join(sorted(conflicts))
                + "; the first branch's value is kept and all values are in _conflicts",
                {"conflicts": _jsonable(conflicts)},
            )
        join_key = "[" + ",".join(group.branch_ends) + "]" if group and group.branch_ends else None
        if join_key is None:  # fan-out without fan-in: branches ran to end
            if any(c.status == "failed" for c in children):
                failed = [c for c in children if c.status == "failed"]
                raise _Failed("; ".join(f"branch '{c.id}' failed: {c.error}" for c in failed), "BranchFailed")
            token.state = END
            return
        visit = token.forks
        rec = ex.replay.get((token.id, join_key, visit))
        fan_ins = ex.model.fan_ins_from(group.branch_ends)
        any_failed = merged["any_failed"]
        chosen = None
        tried = []
        if rec is not None and rec.get("to_state"):
            chosen = next((f for f in fan_ins if f.target == rec["to_state"]), None)
        if chosen is None:
            for f in fan_ins:
                if f.condition is None or f.is_error:
                    continue
                if f.condition.kind == "expr":
                    try:
                        ok = evaluate_condition(f.condition.expr, merged)
                    except ConditionError as exc:
                        raise _Failed(
                            f"fan-in condition '{f.condition.text}' could not be evaluated: {exc}",
                            "ConditionError",
                            join_key,
                        ) from None
                else:
                    ok, _ = await self._decide_natural(ex, token, join_key, visit, f.condition.text)
                tried.append(f"{condition_text(f.condition)} → {ok}")
                if ok:
                    chosen = f
                    break
            if chosen is None and not any_failed:
                chosen = next((f for f in fan_ins if f.condition is None), None)
            if chosen is None:
                errs = [f"{c.id} ({c.error})" for c in children if c.status == "failed"]
                why = ("branches failed: " + "; ".join(errs)) if errs else "no fan-in condition matched"
                raise _Failed(
                    f"join {join_key}: {why}"
                    + (f"; tried {'; '.join(tried)}" if tried else "")
                    + (
                        ". Add a conditional fan-in such as '" + join_key + "->handle_failure:any_failed==True;'"
                        if errs
                        else ""
                    ),
                    "BranchFailed" if errs else "NoTransition",
                    join_key,
                )
            self._record_step(
                ex,
                token,
                join_key,
                visit,
                status="join",
                to_state=chosen.target,
                ttype="parallel",
                updates={k: merged[k] for k in ("all_ok", "any_failed", "branch_status")},
                cond="; ".join(tried) or None,
                cond_result=True if chosen.condition else None,
            )
        token.state = chosen.target

    @staticmethod
    def _merge(base: dict, starts: tuple[str, ...], children: list[_Token]) -> tuple[dict, dict]:
        """The fan-in merge rule lives in engine.merge (shared with the History replay and the optimizer)."""
        from engine.merge import Branch, merge_branches

        res = merge_branches(base, [Branch(s, c.context, c.written, c.status) for s, c in zip(starts, children)])
        return res.context, res.conflicts

    # ----------------------------------------------------------------- running one state
    def _payload(self, ex: _Exec, token: _Token, state: str, binding: StateBinding, attempt: int) -> dict:
        hit = ex.binding_dumps.get(id(binding))  # states sharing one binding share its dump
        if hit is None:  # (the cache holds the binding, so its id cannot be reused meanwhile)
            hit = ex.binding_dumps[id(binding)] = (binding, binding.model_dump(mode="json"))
        dumped = hit[1]
        return {
            "action": binding.action,
            "binding": dumped,
            "context": token.context,
            "state": state,
            "execution_id": ex.id,
            "workflow_id": ex.workflow_id,
            "attempt": attempt,
            "python_path": ex.python_path,
            "workflow_dir": ex.workflow_dir,
            "data_dir": _DATA_DIR,
            "artifacts_dir": _ARTIFACTS_DIR,
            "timeout_s": binding.timeout_s,
        }

    def _where(self, ex: _Exec, state: str, binding: StateBinding) -> str:
        if state == START or binding.action == "noop" or binding.action in DRIVER_ACTIONS:
            return "inline"
        if binding.action in ("llm", "http") and ex.options.execution != "inline" and binding.execution != "inline":
            return "ray"  # network calls never block the driver loop
        if ex.options.execution in ("ray", "inline"):
            return ex.options.execution
        if binding.execution != "auto":
            return binding.execution
        return "inline" if state in ex.cheap else "ray"

    async def _run_once(
        self, ex: _Exec, token: _Token, state: str, visit: int, binding: StateBinding, attempt: int
    ) -> tuple[dict, str]:
        """One attempt; returns (outcome dict, where). Never raises for task failures."""
        if binding.action == "approval":
            return await self._approval(ex, token, state, visit, binding), "inline"
        if binding.action == "workflow":
            return await self._sub_workflow(ex, token, state, visit, binding), "inline"
        where = self._where(ex, state, binding)
        payload = self._payload(ex, token, state, binding, attempt)
        if binding.action == "llm":
            payload["db_path"] = self._db_path
        if where == "inline":
            if binding.action == "noop":
                return InlineExecutor.run_now(payload), "inline"
            # user code never runs on the loop itself: a slow outlier must not stall every other run
            inline = InlineExecutor()
            t0 = time.time()
            try:
                return await inline.result(inline.submit(payload, state), binding.timeout_s), "inline"
            except TaskTimeout as exc:
                return {
                    "status": "failed",
                    "updates": {},
                    "error_type": "TaskTimeout",
                    "error_message": str(exc),
                    "started_at": t0,
                    "ended_at": time.time(),
                }, "inline"
        if not self._executor_ready:
            self._ensure_executor()
        name = f"{ex.spec.name[:40]} · {state} · {ex.id[:8]}"
        t0 = time.time()
        # the worker enforces timeout_s on its own clock (queue time is not execution time); the
        # driver's backstop force-cancels a task that ignores it (e.g. stuck in C code)
        payload["enforce_timeout_here"] = True
        backstop = binding.timeout_s + max(30.0, binding.timeout_s) if binding.timeout_s else None
        handle = self.executor.submit(payload, name)
        ex.handles.add(handle)
        try:
            return await self.executor.result(handle, backstop), "ray"
        except (TaskTimeout, WorkerLost, TaskCancelled, DataError) as exc:
            return {
                "status": "failed",
                "updates": {},
                "error_type": type(exc).__name__,
                "error_message": str(exc),
                "started_at": t0,
                "ended_at": time.time(),
                "duration_ms": (time.time() - t0) * 1000,
            }, "ray"
        finally:
            ex.handles.discard(handle)

    async def _execute_with_recovery(
        self, ex: _Exec, token: _Token, state: str, visit: int, binding: StateBinding
    ) -> _Outcome:
        attempt = 1
        # on replay: escalations a person already answered are applied, not asked again
        while ex.answers:
            key = f"{ex.id}:{token.id}:{state}:{visit}:escalation" + ("" if attempt <= 1 else f"#{attempt}")
            answer = ex.answers.get(key)
            if answer is None:
                break
            self.store.append(
                "recovery_actions",
                {
                    "id": uuid.uuid4().hex,
                    "execution_id": ex.id,
                    "workflow_id": ex.workflow_id,
                    "timestamp": _now(),
                    "error_state": state,
                    "recovery_strategy": answer,
                    "chosen_by": "human",
                    "attempt": attempt,
                    "reasoning": f"a person chose {answer} for the escalated failure",
                    "success": answer != "abort",
                    "ai_suggested": False,
                },
            )
            ex.recovery_log.append(
                {"state": state, "strategy": answer, "chosen_by": "human", "reasoning": f"a person chose {answer}"}
            )
            if answer == "retry":
                ex.retry_count += 1
                attempt += 1
                continue
            if answer == "skip":
                self._record_step(
                    ex,
                    token,
                    state,
                    visit,
                    status="skipped",
                    to_state=None,
                    ttype="recovery",
                    updates={},
                    attempt=attempt,
                    action=binding.action,
                )
                return _Outcome("skipped", {}, attempt)
            raise _Failed(f"'{state}' failed and a person chose to abort the run", "Aborted", state)
        while True:
            out, where = await self._run_once(ex, token, state, visit, binding, attempt)
            if out.get("status") == "completed":
                if attempt > 1:
                    self._finish_recovery(ex, success=True)
                o = _Outcome("completed", out.get("updates") or {}, attempt)
                o.executed_on, o.out = where, out
                if state in (START,) or binding.action == "noop":
                    o.out = {**out, "keys_read": [], "keys_written": list(o.updates)}
                return o
            if ex.cancel_requested:  # the attempt died of the run's cancel/timeout: never recovered
                raise asyncio.CancelledError()
            # a failed attempt: record it, then ask recovery what to do
            ex.error_count += 1
            if attempt > 1:
                self._finish_recovery(ex, success=False)
            self._record_step(
                ex,
                token,
                state,
                visit,
                status="failed",
                to_state=None,
                ttype="error",
                out=out,
                attempt=attempt,
                action=binding.action,
                executed_on=where,
            )
            err_type, msg = out.get("error_type") or "Error", out.get("error_message") or "failed"
            self._audit(
                ex.id,
                "error",
                state,
                "state_failed",
                f"'{state}' failed (attempt {attempt}): {err_type}: {msg}",
                {"token": token.id, "attempt": attempt, "error_class": classify(err_type, msg)},
                out.get("traceback"),
            )
            has_fallback = any(t.is_error for t in ex.model.outgoing(state))
            failure = Failure(
                state,
                err_type,
                msg,
                attempt,
                binding,
                has_fallback,
                [c[1] for c in ex.compensable],
                ex.workflow_id,
                sorted(token.context),
            )
            if self.recovery.advisor is not None and ex.auto_recovery:  # may call a model: off the loop
                decision = await asyncio.get_running_loop().run_in_executor(
                    None, self.recovery.decide, failure, ex.auto_recovery
                )
            else:
                decision = self.recovery.decide(failure, auto=ex.auto_recovery)
            t_start = time.perf_counter()
            self._start_recovery(ex, failure, decision, token)
            if decision.strategy == "retry":
                ex.retry_count += 1
                ex.status = "recovering"
                await asyncio.sleep(decision.delay_s)
                ex.status = "running"
                attempt += 1
                continue
            if decision.strategy == "escalate":
                self._finish_recovery(ex, success=None)  # recorded now: a person is asked (success unknown yet)
                choice = await self._escalate(ex, token, state, visit, failure, decision)
                if choice == "retry":
                    ex.retry_count += 1
                    attempt += 1
                    continue
                decision = RecoveryDecision(choice, f"a person chose {choice}", "human")
                self._start_recovery(ex, failure, decision, token)
            if decision.strategy == "skip":
                self._finish_recovery(ex, success=True)
                self._record_step(
                    ex,
                    token,
                    state,
                    visit,
                    status="skipped",
                    to_state=None,
                    ttype="recovery",
                    updates={},
                    attempt=attempt,
                    action=binding.action,
                )
                return _Outcome("skipped", {}, attempt)
            if decision.strategy == "fallback":
                self._finish_recovery(ex, success=True)
                return _Outcome(
                    "fallback",
                    {},
                    attempt,
                    {"state": state, "type": err_type, "message": msg, "class": failure.error_class},
                )
            if decision.strategy == "compensate":
                done = await self._compensate(ex, token)
                self._finish_recovery(ex, success=True, duration_ms=(time.perf_counter() - t_start) * 1000)
                raise _Failed(
                    f"'{state}' failed ({err_type}: {msg}); compensated by running "
                    f"{', '.join(done) or 'nothing'} in reverse order",
                    err_type,
                    state,
                    status="failed",
                )
            self._finish_recovery(ex, success=False)
            raise _Failed(f"'{state}' failed after {attempt} attempt(s): {err_type}: {msg}", err_type, state)

    def _start_recovery(self, ex: _Exec, f: Failure, d: RecoveryDecision, token: _Token) -> None:
        row = {
            "id": uuid.uuid4().hex,
            "execution_id": ex.id,
            "workflow_id": ex.workflow_id,
            "timestamp": _now(),
            "error_type": f.error_type,
            "error_class": f.error_class,
            "error_message": f.message[:1000],
            "error_state": f.state,
            "error_context": {"keys": f.context_keys[:50], "token": token.id},
            "recovery_strategy": d.strategy,
            "chosen_by": d.chosen_by,
            "ai_suggested": d.ai_suggested,
            "ai_reasoning": d.ai_reasoning or None,
            "reasoning": d.reasoning,
            "parameters": {**d.parameters, "delay_s": round(d.delay_s, 3)},
            "attempt": f.attempt,
            "success": None,
            "recovery_duration_ms": None,
            "_t0": time.perf_counter(),
        }
        ex.recovery_log.append(
            {
                "state": f.state,
                "strategy": d.strategy,
                "reasoning": d.reasoning,
                "error": f"{f.error_type}: {f.message[:200]}",
                "chosen_by": d.chosen_by,
            }
        )
        ex.__dict__.setdefault("_open_recovery", []).append(row)
        self._audit(
            ex.id,
            "warning",
            f.state,
            "recovery_chosen",
            f"{d.strategy}: {d.reasoning}",
            {"strategy": d.strategy, "chosen_by": d.chosen_by, "error_class": f.error_class},
        )

    def _finish_recovery(self, ex: _Exec, success: bool | None, duration_ms: float | None = None) -> None:
        pending = ex.__dict__.get("_open_recovery") or []
        if not pending:
            return
        row = pending.pop()
        t0 = row.pop("_t0")
        row["success"] = success
        row["recovery_duration_ms"] = duration_ms if duration_ms is not None else (time.perf_counter() - t0) * 1000
        self.store.append("recovery_actions", row)

    async def _compensate(self, ex: _Exec, token: _Token) -> list[str]:
        """Saga: run the compensation state of each completed step, most recent first."""
        done = []
        for tok_id, state, comp, ctx in reversed(list(ex.compensable)):
            binding = ex.spec.binding(comp)
            ctoken = _Token(f"{tok_id}~comp", comp, dict(token.context, **{"compensating": state}), frozenset())
            visit = ctoken.visits.get(comp, 0)
            rec = ex.replay.get((ctoken.id, comp, visit))
            if rec is None:
                out, where = await self._run_once(ex, ctoken, comp, visit, binding, 1)
                self._record_step(
                    ex,
                    ctoken,
                    comp,
                    visit,
                    status=out.get("status", "failed"),
                    to_state=None,
                    ttype="recovery",
                    out=out,
                    action=binding.action,
                    executed_on=where,
                )
                if out.get("status") != "completed":
                    self._audit(
                        ex.id,
                        "error",
                        comp,
                        "compensation_failed",
                        f"compensation '{comp}' for '{state}' failed: {out.get('error_message')}",
                    )
                    continue
            done.append(comp)
            self._audit(ex.id, "info", comp, "compensated", f"ran '{comp}' to undo '{state}'")
        ex.compensable.clear()
        ex.final_context = {**token.context, "compensated": done}
        token.context["compensated"] = done
        return done

    # ----------------------------------------------------------------- people and AI
    async def _wait_human(
        self,
        ex: _Exec,
        token: _Token,
        kind: str,
        state: str,
        visit: int,
        prompt: str,
        options: list[str],
        details: dict | None = None,
        key_suffix: str = "",
    ) -> str:
        request_id = f"{ex.id}:{token.id}:{state}:{visit}:{kind}{key_suffix}"
        if request_id in ex.answers:
            return ex.answers[request_id]
        loop = asyncio.get_running_loop()
        existing = await loop.run_in_executor(
            None, self.store.query, "SELECT status, answer FROM human_requests WHERE request_id = ?", [request_id]
        )
        if existing and existing[0]["status"] == "answered":
            return existing[0]["answer"]
        if not existing or existing[0]["status"] != "open":
            self.store.append(
                "human_requests",
                {
                    "request_id": request_id,
                    "execution_id": ex.id,
                    "state": state,
                    "kind": kind,
                    "prompt": prompt,
                    "options": options,
                    "details": _jsonable(details or {}),
                    "status": "open",
                    "answer": None,
                    "answered_by": None,
                    "created_at": _now(),
                    "updated_at": _now(),
                },
            )
        ex.waiting[request_id] = {
            "request_id": request_id,
            "state": state,
            "kind": kind,
            "prompt": prompt,
            "options": options,
        }
        fut = loop.create_future()
        ex.waiters[request_id] = fut
        ex.status = "waiting"
        self._record_exec(ex, current_state=state)
        self._audit(ex.id, "info", state, "waiting", f"waiting for a person: {prompt}", {"kind": kind})
        ex.busy -= 1
        try:
            while True:
                if ex.options.detach_when_waiting and ex.busy <= 0:
                    raise _Detach()
                try:
                    answer = await asyncio.wait_for(asyncio.shield(fut), 0.25)
                    break
                except TimeoutError:
                    continue
        finally:
            ex.busy += 1
            ex.waiters.pop(request_id, None)
        ex.waiting.pop(request_id, None)
        ex.status = "running" if not ex.waiting else "waiting"
        self._record_exec(ex, current_state=state)
        return answer

    async def _approval(self, ex: _Exec, token: _Token, state: str, visit: int, binding: StateBinding) -> dict:
        from engine.actions.templating import fill

        t0 = time.time()
        try:
            prompt = fill(binding.message, token.context) if binding.message else f"Approve '{state}'?"
        except KeyError:
            prompt = binding.message or f"Approve '{state}'?"
        answer = await self._wait_human(ex, token, "approval", state, visit, prompt, ["yes", "no"])
        approved = answer == "yes"
        return {
            "status": "completed",
            "updates": {"approved": approved, f"{state}_approved": approved},
            "started_at": t0,
            "ended_at": time.time(),
            "keys_read": [],
            "keys_written": ["approved"],
        }

    async def _escalate(self, ex: _Exec, token: _Token, state: str, visit: int, f: Failure, d: RecoveryDecision) -> str:
        # one request per failed attempt, so a replay after a crash finds the same answers again
        suffix = "" if f.attempt <= 1 else f"#{f.attempt}"
        return await self._wait_human(
            ex,
            token,
            "escalation",
            state,
            visit,
            f"'{state}' failed: {f.error_type}: {f.message[:300]}. {d.reasoning}. "
            "Retry, skip the state, or abort the run?",
            ["retry", "skip", "abort"],
            {"error_type": f.error_type, "error_class": f.error_class},
            suffix,
        )

    async def _decide_natural(
        self, ex: _Exec, token: _Token, state: str, visit: int, sentence: str
    ) -> tuple[bool, dict]:
        """Natural-language condition: the decision service decides, or a person when unsure."""
        service = self.decisions if ex.ai_decisions else None
        info: dict = {}
        if service is not None:
            loop = asyncio.get_running_loop()
            try:
                d = await loop.run_in_executor(
                    None,
                    lambda: service.evaluate_condition(
                        sentence,
                        token.context,
                        workflow_id=ex.workflow_id,
                        execution_id=ex.id,
                        state=state,
                        workflow_budget_usd=ex.spec.settings.budget_usd,
                    ),
                )
                info = {
                    "result": bool(d.result),
                    "reasoning": d.reasoning,
                    "confidence": int(d.confidence),
                    "provider": getattr(d, "provider", None),
                    "decided_by": getattr(d, "decided_by", "ai"),
                }
            except Exception as exc:
                info = {"result": None, "reasoning": f"decision service failed: {exc}", "confidence": 0}
        else:
            info = {
                "result": None,
                "confidence": 0,
                "reasoning": "AI decisions are off for this run"
                if not ex.ai_decisions
                else "no decision service is available",
            }
        entry = {"state": state, "condition": sentence, **info}
        if info.get("result") is not None and info["confidence"] >= ex.threshold:
            ex.ai_log.append({**entry, "decided_by": info.get("decided_by", "ai")})
            self._audit(
                ex.id,
                "info",
                state,
                "ai_decision",
                f'"{sentence}" → {info["result"]} ({info["confidence"]}%): {info["reasoning"]}',
                info,
            )
            return bool(info["result"]), info
        # below the threshold: a person decides, and sees the reasoning
        answer = await self._wait_human(
            ex,
            token,
            "decision",
            state,
            visit,
            f'Is this true: "{sentence}"? '
            + (
                f"AI: {info.get('result')} at {info.get('confidence')}% "
                f"(threshold {ex.threshold}%): {info.get('reasoning')}"
                if info.get("result") is not None
                else info.get("reasoning", "")
            ),
            ["true", "false"],
            info,
        )
        result = answer == "true"
        if service is not None and hasattr(service, "record_human"):
            ctx = dict(token.context)
            try:  # later decisions on this condition see the person's answer as history and cache
                await asyncio.get_running_loop().run_in_executor(
                    None,
                    lambda: service.record_human(
                        condition_text(Condition("natural", sentence)),
                        ctx,
                        result,
                        by="person",
                        workflow_id=ex.workflow_id,
                        execution_id=ex.id,
                        state=state,
                    ),
                )
            except Exception as exc:
                log.warning("could not record the human decision: %s", exc)
        human = {
            "result": result,
            "confidence": 100,
            "reasoning": f"decided by a person (AI said: {info.get('reasoning', 'n/a')})",
            "decided_by": "human",
        }
        ex.ai_log.append({**entry, **human, "ai_confidence": info.get("confidence")})
        return result, human

    def _load_sub_workflow(self, workflow_dir: str | None, ref: str) -> WorkflowSpec:
        """The spec a ``workflow`` state names: a file (relative to the calling workflow's directory,
        as given, or under data/templates), else a library workflow; raises WorkbenchError."""
        from engine.sandbox import resolve_allowed_file  # only inside allowed folders (docs/security.md)
        from engine.workflow_file import WorkflowFileError

        try:
            path = resolve_allowed_file(
                ref, workflow_dir, what="sub-workflow", extra_bases=[REPO_ROOT / "data" / "templates", REPO_ROOT]
            )
        except FileNotFoundError:
            path = None
        except PermissionError as exc:
            raise WorkflowFileError(str(exc)) from None
        if path is not None:
            return load_workflow(path)
        from engine.library import get_workflow

        return get_workflow(self.store, ref)[0]

    def _needs_ray(self, spec: WorkflowSpec, seen: set | None = None) -> bool:
        """Whether a run of ``spec`` may submit Ray tasks, its sub-workflows included (each file once)."""
        seen = set() if seen is None else seen
        key = _workflow_key(spec)
        if key in seen:
            return False
        seen.add(key)
        workflow_dir = str(Path(spec.source_path).parent) if spec.source_path else None
        for state in spec.model.states:
            b = spec.binding(state)
            if b.action == "workflow":
                try:
                    if self._needs_ray(self._load_sub_workflow(workflow_dir, b.workflow or ""), seen):
                        return True
                except WorkbenchError:
                    continue  # missing or invalid: the state will fail with its own clear error
            elif b.action not in ("noop", *DRIVER_ACTIONS) and b.execution != "inline":
                return True
        return False

    async def _sub_workflow(self, ex: _Exec, token: _Token, state: str, visit: int, binding: StateBinding) -> dict:
        t0 = time.time()
        ref = binding.workflow
        try:
            child_spec = self._load_sub_workflow(ex.workflow_dir, ref)
        except WorkbenchError as exc:
            return {
                "status": "failed",
                "updates": {},
                "error_type": "FileNotFoundError",
                "error_message": f"sub-workflow '{ref}' not found: {exc}",
                "started_at": t0,
                "ended_at": time.time(),
            }
        above = ex.chain or ((_workflow_key(ex.spec), ex.spec.name),)
        chain = [*above, (_workflow_key(child_spec), child_spec.name)]
        if ex.depth + 1 > ex.max_depth:  # e.g. a workflow that calls itself: refuse, never retry
            raise self._sub_workflow_fatal(ex, token, state, visit, _depth_error(chain, ex.max_depth), t0)
        child_id = _child_execution_id(ex.id, token.id, state, visit)
        rows = await asyncio.get_running_loop().run_in_executor(None, self.execution_row, child_id)
        params = binding.params or {}
        child_ctx = {**token.context, **params}
        child = _Exec(
            self,
            child_id,
            child_spec,
            child_ctx,
            RunOptions(
                execution=ex.options.execution,
                ai_decisions=ex.ai_decisions,
                auto_recovery=ex.auto_recovery,
                max_subworkflow_depth=ex.max_depth,
                detach_when_waiting=ex.options.detach_when_waiting,
            ),
            None,
            None,
        )
        child.parent_id = ex.id
        child.depth, child.chain = ex.depth + 1, tuple(chain)
        if rows and rows["status"] == "completed":
            final = json.loads(rows["final_context"] or "{}")
            return {"status": "completed", "updates": final, "started_at": t0, "ended_at": time.time()}
        if rows:
            self._load_replay(child, child_id)
        self._register(child)
        # the child is a task of its own (so it can be cancelled by id); the parent awaits it shielded,
        # so that a cancel or timeout of the parent stops the child with a reason and waits for its record
        child.task = asyncio.get_running_loop().create_task(self._drive(child))
        try:
            await asyncio.shield(child.task)
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if ex.cancel_requested or not child.task.done() or (me is not None and me.cancelling()):
                self._cancel_local(child, _stopped_by_parent(ex), timed_out=ex.timed_out)
                await asyncio.wait({child.task}, timeout=30)
                raise
            # else only the child's task ended cancelled: handled below as a cancelled child
        res = child.result()
        if res.status == "completed":
            return {
                "status": "completed",
                "updates": res.final_context,
                "started_at": t0,
                "ended_at": time.time(),
                "keys_read": sorted(child_ctx),
                "keys_written": sorted(res.final_context),
            }
        if res.status == "waiting":  # the child stopped driving until a person answers: so does this run
            for request_id, waiting in child.waiting.items():  # listed here too (answer through either run)
                ex.waiting[request_id] = waiting
            raise _Detach()
        if child.depth_exceeded and res.status == "failed":  # the same clear message, one level up
            raise self._sub_workflow_fatal(ex, token, state, visit, child.depth_exceeded, t0)
        if res.status == "cancelled" and not child.timed_out:
            # the child alone was cancelled (by its id): a cancellation is never retried, so the
            # whole run stops as cancelled too
            self._cancel_local(
                ex, f"cancelled: its sub-workflow run {child_id} ('{child_spec.name}') was cancelled ({res.error})"
            )
            raise asyncio.CancelledError()
        return {
            "status": "failed",
            "updates": {},
            "error_type": "SubWorkflowFailed",
            "error_message": f"sub-workflow '{child_spec.name}' ({child_id}) {res.status}: {res.error}",
            "started_at": t0,
            "ended_at": time.time(),
        }

    def _sub_workflow_fatal(self, ex: _Exec, token: _Token, state: str, visit: int, message: str, t0: float) -> _Failed:
        """Record the sub-workflow state as failed and return the error that ends the whole run."""
        ex.error_count += 1
        ex.depth_exceeded = message
        self._record_step(
            ex,
            token,
            state,
            visit,
            status="failed",
            to_state=None,
            ttype="error",
            action="workflow",
            out={
                "error_type": "SubWorkflowDepthExceeded",
                "error_message": message,
                "started_at": t0,
                "ended_at": time.time(),
            },
        )
        self._audit(ex.id, "error", state, "state_failed", message, {"token": token.id})
        return _Failed(message, "SubWorkflowDepthExceeded", state)


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
