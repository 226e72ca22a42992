"""Admission of the service's runs: a global limit, per-workflow limits and a priority queue.

A run that would exceed ``--max-runs`` (``WORKBENCH_MAX_RUNS``) or its workflow's
``[settings] max_concurrent_runs`` is recorded with status ``queued`` and started later: higher
``priority`` first, then in submission order. A workflow whose limit is reached does not hold back
queued runs of other workflows. Runs waiting for a person hold no slot (they use no worker).

The queued record carries everything needed to start the run (its spec, context and options), so
a service that restarts queues again the runs a dead service had queued (see :mod:`engine.service.adopt`).
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import json
import logging
import os
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from engine import records

log = logging.getLogger("workbench.service")

MAX_RUNS_ENV = "WORKBENCH_MAX_RUNS"
DISPATCH_TICK_S = 0.5  # a safety net: ends of runs wake the dispatcher at once


def max_runs_from_env() -> int | None:
    """``WORKBENCH_MAX_RUNS`` as a positive integer (None: no global limit)."""
    raw = os.environ.get(MAX_RUNS_ENV, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{MAX_RUNS_ENV}={raw!r}: expected a whole number of runs") from None
    return value if value > 0 else None


def _now() -> dt.datetime:
    return records.store_time(records.utc_now())


@dataclass(order=True)
class QueuedRun:
    """A run waiting for a slot; ordered by priority (higher first), then submission order."""

    sort_key: tuple[int, int]
    execution_id: str = field(compare=False)
    spec: Any = field(compare=False)
    context: dict = field(compare=False)
    options: Any = field(compare=False)
    workflow_id: str | None = field(compare=False)
    version: int | None = field(compare=False)
    priority: int = field(compare=False, default=0)
    on_step: Any = field(compare=False, default=None)
    queued_at: dt.datetime | None = field(compare=False, default=None)

    @property
    def limit(self) -> int | None:
        return getattr(self.spec.settings, "max_concurrent_runs", None)


class RunQueue:
    """Starts runs on the engine within the limits; queues (and records) the others."""

    def __init__(self, engine, max_runs: int | None = None):
        self.engine = engine
        self.store = engine.store
        self.max_runs = max_runs if max_runs and max_runs > 0 else None
        self._queued: list[QueuedRun] = []  # sorted
        self._by_id: dict[str, QueuedRun] = {}
        self._active: dict[str, str | None] = {}  # execution id -> workflow id (started through here)
        self._counter = itertools.count()
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self.max_observed = 0  # most runs holding a slot at once (benchmarks, tests)
        self._thread = threading.Thread(target=self._dispatch_loop, name="workbench-run-queue", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ public
    def submit(
        self,
        spec,
        context: dict,
        options,
        *,
        workflow_id: str | None,
        version: int | None,
        priority: int = 0,
        on_step=None,
        execution_id: str | None = None,
        record: bool = True,
    ) -> tuple[str, str]:
        """Start the run now if the limits allow, else queue it. Returns (execution id, status)."""
        from engine.context_input import check_context_value
        from engine.errors import DSLError

        report = spec.validate_all()
        if report.errors:
            raise DSLError(report.errors)
        check_context_value(context or {}, what="the initial context")
        from engine.inputs import check_start

        context = check_start(spec, context)  # [inputs] (defaults applied) and secrets, before it is queued
        job = QueuedRun(
            (-int(priority), next(self._counter)),
            execution_id or uuid.uuid4().hex[:16],
            spec,
            context or {},
            options,
            workflow_id,
            version,
            int(priority),
            on_step,
        )
        with self._lock:
            if not self._queued and self._has_room(job):
                self._start(job)
                return job.execution_id, "running"
            bisect.insort(self._queued, job)
            self._by_id[job.execution_id] = job
        if record:
            self._record_queued(job)
        self._wake.set()  # a slot may have freed since the last look
        return job.execution_id, "queued"

    def adopt(self, execution_id: str, workflow_id: str | None) -> None:
        """Count a run started on the engine outside the queue (a resumed run) against the limits."""
        with self._lock:
            self._active[execution_id] = workflow_id

    def cancel(self, execution_id: str, reason: str) -> bool:
        """Take a queued run off the queue and record it cancelled (False: it is not queued here)."""
        with self._lock:
            job = self._by_id.pop(execution_id, None)
            if job is None:
                return False
            self._queued.remove(job)
        self._record(job, status="cancelled", error_message=reason, end_time=_now())
        self._audit(job.execution_id, "warning", "run_cancelled", f"{reason} (it was queued and never started)")
        return True

    def is_queued(self, execution_id: str) -> bool:
        return execution_id in self._by_id

    def stats(self) -> dict:
        """{queued, running, max_runs, max_observed}."""
        with self._lock:
            self._prune()
            return {
                "queued": len(self._queued),
                "running": len(self._active),
                "max_runs": self.max_runs,
                "max_observed": self.max_observed,
            }

    def wake(self) -> None:
        """Look at the queue now (a run ended, or went waiting for a person)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()

    # ------------------------------------------------------------------ internals
    def _holds_slot(self, execution_id: str) -> bool:
        ex = self.engine.execs.get(execution_id)
        if ex is None or ex.done.done():
            return False
        return getattr(ex, "status", None) != "waiting"  # a person's answer takes no worker

    def _prune(self) -> None:
        for eid in [e for e in self._active if not self._holds_slot(e)]:
            del self._active[eid]

    def _has_room(self, job: QueuedRun) -> bool:
        self._prune()
        if self.max_runs is not None and len(self._active) >= self.max_runs:
            return False
        limit = job.limit
        if limit is not None:
            same = sum(1 for wid in self._active.values() if wid == job.workflow_id)
            if same >= limit:
                return False
        return True

    def _start(self, job: QueuedRun) -> None:
        """Start on the engine (under the lock, so the counts stay right)."""
        listeners = self._listener() if job.on_step is None else _chain(job.on_step, self._listener())
        self.engine.start(
            job.spec,
            job.context,
            job.options,
            workflow_id=job.workflow_id,
            version=job.version,
            execution_id=job.execution_id,
            on_step=listeners,
        )
        self._active[job.execution_id] = job.workflow_id
        self.max_observed = max(self.max_observed, len(self._active))

    def _listener(self):
        def on_step(event: dict) -> None:
            status = str(event.get("status") or "")
            if status.startswith("run_") or status == "waiting":
                self._wake.set()

        return on_step

    def dispatch(self) -> int:
        """Start every queued run that fits now, best first; returns how many started."""
        started = 0
        with self._lock:
            if not self._queued:
                return 0
            self._prune()
            kept: list[QueuedRun] = []
            for i, job in enumerate(self._queued):
                if self.max_runs is not None and len(self._active) >= self.max_runs:
                    kept.extend(self._queued[i:])
                    break
                if not self._has_room(job):  # its workflow is full: later runs of others may go
                    kept.append(job)
                    continue
                try:
                    self._start(job)
                    started += 1
                except Exception as exc:  # one bad run must not stall the queue
                    log.error("queued run %s could not start: %s", job.execution_id, exc)
                    self._record(job, status="failed", error_message=f"could not start: {exc}", end_time=_now())
                self._by_id.pop(job.execution_id, None)
            self._queued = kept
        return started

    def _cancel_requested(self) -> None:
        """Cancels asked for by other processes (the app, a CLI) through the records, for runs queued here."""
        with self._lock:
            ids = list(self._by_id)
        if not ids:
            return
        rows = self.store.query(
            "SELECT DISTINCT execution_id FROM control_requests WHERE command = 'cancel' "
            "AND execution_id IN (SELECT unnest(?::VARCHAR[]))",
            [ids],
        )
        for r in rows:
            self.cancel(r["execution_id"], "cancelled by request")

    def _dispatch_loop(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait(DISPATCH_TICK_S)
            self._wake.clear()
            if self._stopped.is_set():
                return
            try:
                self._cancel_requested()
                self.dispatch()
            except Exception as exc:  # the dispatcher must survive
                log.error("run queue: %s", exc, exc_info=True)

    # ------------------------------------------------------------------ records
    def _record_queued(self, job: QueuedRun) -> None:
        job.queued_at = job.queued_at or _now()
        self._record(job, status="queued")
        self._audit(
            job.execution_id, "info", "run_queued", f"queued (priority {job.priority}): " + self._why_queued(job)
        )

    def _why_queued(self, job: QueuedRun) -> str:
        with self._lock:
            n = len(self._active)
            same = sum(1 for wid in self._active.values() if wid == job.workflow_id)
        if job.limit is not None and same >= job.limit:
            return f"{same} runs of this workflow in flight (max_concurrent_runs = {job.limit})"
        if self.max_runs is not None and n >= self.max_runs:
            return f"{n} runs in flight (the service's limit is {self.max_runs})"
        return "earlier runs are queued"

    def _record(self, job: QueuedRun, **fields) -> None:
        spec = job.spec
        options = {
            **job.options.to_dict(),
            "priority": job.priority,
            "_spec": spec.model_dump(mode="json"),
            "_source_path": spec.source_path,
        }
        row = {
            "execution_id": job.execution_id,
            "workflow_id": job.workflow_id,
            "workflow_name": spec.name,
            "version": job.version,
            "initial_context": job.context,
            "options": options,
            "owner": self.engine.owner,
            "start_time": job.queued_at,
            "updated_at": _now(),
            "seq": 0,
            **fields,
        }
        self.store.append("workflow_executions", row)

    def _audit(self, execution_id: str, level: str, event: str, message: str) -> None:
        self.store.append(
            "audit_logs",
            {
                "id": uuid.uuid4().hex,
                "execution_id": execution_id,
                "timestamp": _now(),
                "level": level,
                "state": None,
                "event_type": event,
                "message": message,
            },
        )


def _chain(*callbacks):
    def on_step(event: dict) -> None:
        for cb in callbacks:
            try:
                cb(event)
            except Exception:  # a listener never breaks a run
                pass

    return on_step


def queued_job_from_record(row: dict):
    """(spec, context, RunOptions, priority) of a recorded queued run (to queue it again after a restart)."""
    from engine.runner import RunOptions
    from engine.workflow_file import WorkflowSpec

    opts = row.get("options")
    opts = json.loads(opts) if isinstance(opts, str) else (opts or {})
    spec = WorkflowSpec.model_validate(opts["_spec"])
    spec.source_path = opts.get("_source_path")
    ctx = row.get("initial_context")
    ctx = json.loads(ctx) if isinstance(ctx, str) else (ctx or {})
    run_opts = RunOptions(**{k: v for k, v in opts.items() if k in RunOptions.__dataclass_fields__})
    return spec, ctx, run_opts, int(opts.get("priority") or 0)
