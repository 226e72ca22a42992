"""The run engine's in-memory shapes: options and results (public), the record of one execution
being driven (:class:`Exec`), a parallel branch (:class:`Token`), what stays of a finished run
(:class:`FinishedRun`), the two control-flow exceptions, and the small naming rules they share.

Nothing here talks to the store or to Ray; the mixins of :mod:`engine.run` do.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import datetime as dt
import hashlib
import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import records
from engine.errors import WorkbenchError
from engine.executors import DataError
from engine.workflow_file import StateBinding, WorkflowSpec

if TYPE_CHECKING:
    from engine.errors import ValidationReport
    from engine.run.parts import EngineParts

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DATA_DIR = str(REPO_ROOT / "data")
ARTIFACTS_DIR = str(REPO_ROOT / "data" / "artifacts")
DRIVER_ACTIONS = ("approval", "workflow", "wait")  # actions the driver itself carries out (never a task)
WORKFLOW_ID_MAX = 60  # length of the workflow id an ad-hoc run (no library id) gets from its name


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
    """What a run ended with (or where it stopped to wait for a person)."""

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


class Detach(Exception):
    """Raised in waiting tokens when only a person can move the run on and we were asked to stop."""


class Failed(Exception):
    """A state (or join) failed in a way that ends the token's walk; ``status`` is the run's status."""

    def __init__(self, message: str, error_type: str = "Error", state: str | None = None, status: str = "failed"):
        super().__init__(message)
        self.message, self.error_type, self.state, self.status = message, error_type, state, status


@dataclass
class Token:
    """One path through the graph: the main path (``"0"``) or a parallel branch (see engine.merge)."""

    id: str
    state: str
    context: dict
    stop_at: frozenset
    visits: dict = field(default_factory=dict)
    forks: int = 0
    written: set = field(default_factory=set)
    status: str = "running"
    error: str | None = None


# ------------------------------------------------------------------------------------ small rules
def now() -> dt.datetime:
    """The current time as the store keeps it (naive UTC): records.utc_now through records.store_time."""
    return records.store_time(records.utc_now())


def ts(epoch: float) -> dt.datetime:
    """An epoch time (a task's start/end) as the store keeps it (naive UTC)."""
    return records.store_time(dt.datetime.fromtimestamp(epoch, dt.UTC))


def workflow_slug(name: str) -> str:
    """The workflow id of a run started without one: :func:`records.slugify` of its name, cut at 60.

    Not ``slugify(name, 60)``: that also drops a '-' left at the cut, and ids already stored were
    made by cutting *after* the trim (kept byte-identical so reruns and analytics still group them)."""
    return records.slugify(name, sys.maxsize)[:WORKFLOW_ID_MAX]


def jsonable(value: Any) -> Any:
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


_PYTHON_PATHS: dict[tuple, tuple[str, ...]] = {}
_PYTHON_PATHS_MAX = 512


def python_path(spec: WorkflowSpec) -> list[str]:
    """Folders a run's ``python`` states import from: data/functions, the workflow's folder (and its
    functions/), WORKBENCH_PYTHONPATH, and the administrator's function folders (docs/security.md).

    Cached per (workflow file, environment, settings): resolving the admin folders on every run start
    cost ~0.4 ms. A change of the variables or of the settings file gives a new key."""
    from engine.sandbox import function_dirs, setting  # admin-listed function folders

    admin = setting("function_dirs", []) or []
    key = (
        spec.source_path,
        os.environ.get("WORKBENCH_PYTHONPATH", ""),
        os.environ.get("WORKBENCH_FUNCTION_DIRS", ""),
        tuple(str(d) for d in admin),
    )
    hit = _PYTHON_PATHS.get(key)
    if hit is None:
        paths = [str(REPO_ROOT / "data" / "functions")]
        if spec.source_path:
            base = Path(spec.source_path).parent
            paths.append(str(base))
            paths.append(str(base / "functions"))
        paths += [p for p in key[1].split(os.pathsep) if p]
        paths += [str(d) for d in function_dirs() if str(d) not in paths]
        if len(_PYTHON_PATHS) >= _PYTHON_PATHS_MAX:
            _PYTHON_PATHS.clear()
        hit = _PYTHON_PATHS[key] = tuple(paths)
    return list(hit)


# ------------------------------------------------------------------------------------ what a spec's runs share
SPEC_FACTS_TTL_S = 5.0  # a validation is re-used this long (function folders can change meanwhile)
SPEC_FACTS_MAX = 64  # specs remembered (least recently used dropped)
OPTIONS_TEXTS_MAX = 256


@dataclass(frozen=True)
class SpecFacts:
    """What every run of one spec content repeats: its validation report and its JSON dump (recorded
    in each execution row's options as ``_spec``, for resume). ``dump`` is shared: never mutate it."""

    digest: str
    report: ValidationReport
    dump: dict
    at: float


_SPEC_FACTS: collections.OrderedDict[tuple, SpecFacts] = collections.OrderedDict()
_OPTIONS_TEXTS: collections.OrderedDict[tuple, str] = collections.OrderedDict()
_FACTS_LOCK = threading.Lock()


def spec_facts(spec: WorkflowSpec) -> SpecFacts:
    """The spec's validation and dump, computed once per spec *content* (not per run).

    Keyed by a digest of the spec's JSON (so an edited spec, even the same object changed in place,
    is validated again), its file, and the function-folder variables; re-validated after
    ``SPEC_FACTS_TTL_S``. A 200-state spec cost ~14 ms per run start to validate and dump, a
    10-state one ~2 ms (200 concurrent runs: 0.4 s)."""
    text = spec.model_dump_json()
    digest = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
    key = (
        digest,
        spec.source_path,
        os.environ.get("WORKBENCH_FUNCTION_DIRS", ""),
        os.environ.get("WORKBENCH_PYTHONPATH", ""),
    )
    t = time.monotonic()
    with _FACTS_LOCK:
        hit = _SPEC_FACTS.get(key)
        if hit is not None and t - hit.at < SPEC_FACTS_TTL_S:
            _SPEC_FACTS.move_to_end(key)
            return hit
    facts = SpecFacts(digest, spec.validate_all(), json.loads(text), t)
    with _FACTS_LOCK:
        _SPEC_FACTS[key] = facts
        while len(_SPEC_FACTS) > SPEC_FACTS_MAX:
            _SPEC_FACTS.popitem(last=False)
    return facts


# ------------------------------------------------------------------------------------ one execution
class Exec:
    """In-memory state of one execution (lives on the driver thread)."""

    def __init__(
        self,
        engine: EngineParts,
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
        self.workflow_id = workflow_id or workflow_slug(spec.name)
        self.version = version
        s = spec.settings
        self.options = options
        self.max_steps = options.max_steps or s.max_steps
        self.timeout_s = options.timeout_s or s.timeout_s
        self.ai_decisions = s.ai_decisions if options.ai_decisions is None else options.ai_decisions
        self.auto_recovery = s.auto_recovery if options.auto_recovery is None else options.auto_recovery
        self.threshold = options.decision_threshold if options.decision_threshold is not None else s.decision_threshold
        self.initial_context = jsonable(context or {})
        self.replay: dict[tuple[str, str, int], dict] = {}
        self.answers: dict[str, str] = {}
        self.visited: list[str] = []
        self.error_count = 0
        self.retry_count = 0
        self.steps = 0
        self.ai_log: list[dict] = []
        self.recovery_log: list[dict] = []
        self.open_recovery: list[dict] = []  # recovery rows chosen but not finished (recorded when they end)
        self.compensable: list[tuple[str, str, str, dict]] = []  # (token, state, compensate_state, context)
        self.status = "pending"
        self.start_time = now()
        self.t0 = time.perf_counter()
        self.resumed = False  # continued from its records: its start (and clock) are the recorded ones
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
        self.facts: SpecFacts | None = None  # set by Engine.start: the spec's shared dump and validation
        self.python_path = python_path(spec)
        self.workflow_dir = str(Path(spec.source_path).parent) if spec.source_path else None
        self.seq = 0

    def options_record(self) -> dict:
        """Run options plus the exact spec, so a resume works even without the library (dumped once)."""
        if self._options_record is None:
            self._options_record = {
                **self.options.to_dict(),
                "_spec": self.facts.dump if self.facts is not None else self.spec.model_dump(mode="json"),
                "_source_path": self.spec.source_path,
            }
        return self._options_record

    def options_text(self) -> str:
        """The options record as JSON text; runs of the same spec content and options share one text."""
        hit = self._encoded.get("options")
        if hit is not None:
            return hit
        key = None
        if self.facts is not None:
            options = json.dumps(self.options.to_dict(), sort_keys=True, default=str)
            key = (self.facts.digest, options, self.spec.source_path)
            with _FACTS_LOCK:
                hit = _OPTIONS_TEXTS.get(key)
        if hit is None:
            hit = self.engine.store.encode_json(self.options_record())
            if key is not None:
                with _FACTS_LOCK:
                    _OPTIONS_TEXTS[key] = hit
                    while len(_OPTIONS_TEXTS) > OPTIONS_TEXTS_MAX:
                        _OPTIONS_TEXTS.popitem(last=False)
        self._encoded["options"] = hit
        return hit

    def encoded(self, name: str, value):
        """JSON text of a value every execution row repeats unchanged (encoded once per execution)."""
        hit = self._encoded.get(name)
        if hit is None:
            hit = self._encoded[name] = self.engine.store.encode_json(value)
        return hit

    def next_seq(self) -> int:
        """The next record number of this execution (transition ids end in it; exec rows carry it)."""
        self.seq += 1
        return self.seq

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


class Resolved:
    """A finished future's two read methods, without a lock and condition per retired run."""

    __slots__ = ("_value",)

    def __init__(self, value):
        self._value = value

    def done(self) -> bool:
        return True

    def result(self, timeout: float | None = None):
        return self._value


class FinishedRun:
    """What the engine keeps in memory of a run whose drive ended: a summary, not its context.

    ``Engine.wait`` rebuilds the full :class:`ExecutionResult` from a small cache of the most
    recent results, else from the store (the run's final record)."""

    __slots__ = ("id", "status", "error", "parent_id", "done")
    task = None
    cancel_requested = True
    waiters: dict = {}  # never written: a finished run waits for nobody

    def __init__(self, result: ExecutionResult, parent_id: str | None):
        self.id, self.status, self.error, self.parent_id = (result.execution_id, result.status, result.error, parent_id)
        self.done = Resolved(
            ExecutionResult(
                result.execution_id,
                result.status,
                None,  # type: ignore[arg-type]  # a summary: wait() rebuilds the full result
                None,  # type: ignore[arg-type]
                result.duration_ms,
                result.error_count,
                result.retry_count,
                result.error,
                result.waiting_for,
                result.workflow_id,
                result.version,
            )
        )
