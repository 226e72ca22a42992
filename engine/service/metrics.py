"""Prometheus metrics of the service, on their own registry (``GET /metrics``).

Runs started/finished by workflow and status, state durations, retries and recovery actions by
strategy, runs in flight and runs waiting for a person. Fed by the engine's step events
(``Engine.start(on_step=…)``) of the runs this service drives.
"""

from __future__ import annotations

import logging
import queue
import threading

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from engine import records
from engine.schema import FINISHED_STATUSES

disable_created_metrics()  # no *_created series: one line per counter

log = logging.getLogger("workbench.service")

STATE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class ServiceMetrics:
    """The service's collectors and the step listener that updates them."""

    def __init__(self, engine, store):
        self.engine, self.store = engine, store
        self.registry = CollectorRegistry()
        r = self.registry
        self.runs_started = Counter(
            "workbench_runs_started", "Runs started by this service", ["workflow", "kind"], registry=r
        )
        self.runs_finished = Counter(
            "workbench_runs_finished", "Runs that ended, by final status", ["workflow", "status"], registry=r
        )
        self.state_duration = Histogram(
            "workbench_state_duration_seconds",
            "Duration of recorded state attempts",
            ["workflow", "state", "status"],
            buckets=STATE_BUCKETS,
            registry=r,
        )
        self.state_retries = Counter(
            "workbench_state_retries", "State attempts after the first one", ["workflow", "state"], registry=r
        )
        self.recovery_actions = Counter(
            "workbench_recovery_actions", "Recovery actions taken, by strategy", ["workflow", "strategy"], registry=r
        )
        self.http_requests = Counter(
            "workbench_http_requests", "HTTP requests served", ["method", "route", "status_code"], registry=r
        )
        self.in_flight = Gauge("workbench_runs_in_flight", "Runs this service is driving now", registry=r)
        self.in_flight.set_function(lambda: self._count(lambda e: getattr(e, "status", None) not in FINISHED_STATUSES))
        self.waiting = Gauge("workbench_runs_waiting", "Runs driven here that wait for a person", registry=r)
        self.waiting.set_function(self._waiting_count)
        self._failed_runs: set[str] = set()
        self._todo: queue.Queue = queue.Queue()
        threading.Thread(target=self._count_recovery, name="service-metrics", daemon=True).start()

    def _waiting_count(self) -> int:
        return self._count(lambda e: getattr(e, "status", None) == "waiting")

    def _count(self, wanted) -> int:
        """Executions of this engine matching ``wanted`` (the driver thread may add some meanwhile)."""
        for _ in range(5):
            try:
                return sum(1 for e in list(self.engine.execs.values()) if wanted(e))
            except RuntimeError:  # the dict changed size while being copied: try again
                continue
        return 0

    def started(self, workflow: str, kind: str = "execute") -> None:
        self.runs_started.labels(workflow, kind).inc()

    def listener(self, workflow: str):
        """An ``on_step`` callback for one run (runs on the driver thread: cheap work only)."""

        def on_step(event: dict) -> None:
            eid = event.get("execution_id")
            state = event.get("state")
            status = event.get("status") or ""
            if state is None:
                if status.startswith("run_"):
                    self.runs_finished.labels(workflow, status[4:]).inc()
                    if eid in self._failed_runs:
                        self._failed_runs.discard(eid)
                        self._todo.put((eid, workflow))
                return
            dur = event.get("duration_ms")
            if isinstance(dur, (int, float)):
                self.state_duration.labels(workflow, state, status).observe(max(0.0, dur) / 1000.0)
            if (event.get("attempt") or 1) > 1:
                self.state_retries.labels(workflow, state).inc()
            if status == "failed" or (event.get("attempt") or 1) > 1:
                self._failed_runs.add(eid)

        return on_step

    def _count_recovery(self) -> None:
        """Off the driver thread: count the recovery actions of finished runs that saw a failure."""
        while True:
            eid, workflow = self._todo.get()
            try:
                for strategy, n in records.recovery_strategy_counts(self.store, eid).items():
                    self.recovery_actions.labels(workflow, strategy).inc(n)
            except Exception as exc:  # metrics never break the service
                log.warning("could not count recovery actions of %s: %s", eid, exc, extra={"execution_id": eid})

    def exposition(self) -> tuple[bytes, str]:
        """The text exposition format and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
