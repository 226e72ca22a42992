"""Prometheus metrics of the service, on their own registry (``GET /metrics``).

Runs started/finished by workflow and status, state durations, retries and recovery actions by
strategy, runs in flight and runs waiting for a person. Per-workflow series carry two labels: ``workflow_id``
(the stable id: what the read-scope filter selects by, as names are not unique across owners) and
``workflow`` (the name, for dashboards). Fed by the engine's step events
(``Engine.start(on_step=…)``) of the runs this service drives. Queue depth comes from the service's
run queue; AI decisions and LLM tokens/cost are the store's totals (every process's records), read at
scrape time and cached for a few seconds.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from engine import records
from engine.schema import FINISHED_STATUSES, TIMER_REQUEST

disable_created_metrics()  # no *_created series: one line per counter

log = logging.getLogger("workbench.service")

STATE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


def _waiting_kinds(ex) -> set[str]:
    """What a run driven here waits for now: the kinds of its open requests (none unless it is waiting)."""
    if getattr(ex, "status", None) != "waiting":
        return set()
    try:
        return {str(w.get("kind") or "") for w in list(getattr(ex, "waiting", {}).values())}
    except RuntimeError:  # changed while read (the driver thread): counted at the next scrape
        return set()


class ServiceMetrics:
    """The service's collectors and the step listener that updates them."""

    def __init__(self, engine, store, queue_stats=None):
        self.engine, self.store = engine, store
        self.registry = CollectorRegistry()
        r = self.registry
        r.register(_RecordsCollector(store, queue_stats))
        self.runs_started = Counter(
            "workbench_runs_started", "Runs started by this service", ["workflow_id", "workflow", "kind"], registry=r
        )
        self.runs_finished = Counter(
            "workbench_runs_finished",
            "Runs that ended, by final status",
            ["workflow_id", "workflow", "status"],
            registry=r,
        )
        self.state_duration = Histogram(
            "workbench_state_duration_seconds",
            "Duration of recorded state attempts",
            ["workflow_id", "workflow", "state", "status"],
            buckets=STATE_BUCKETS,
            registry=r,
        )
        self.state_retries = Counter(
            "workbench_state_retries",
            "State attempts after the first one",
            ["workflow_id", "workflow", "state"],
            registry=r,
        )
        self.recovery_actions = Counter(
            "workbench_recovery_actions",
            "Recovery actions taken, by strategy",
            ["workflow_id", "workflow", "strategy"],
            registry=r,
        )
        self.http_requests = Counter(
            "workbench_http_requests", "HTTP requests served", ["method", "route", "status_code"], registry=r
        )
        self.in_flight = Gauge("workbench_runs_in_flight", "Runs this service is driving now", registry=r)
        self.in_flight.set_function(lambda: self._count(lambda e: getattr(e, "status", None) not in FINISHED_STATUSES))
        self.waiting = Gauge("workbench_runs_waiting", "Runs driven here that wait for a person", registry=r)
        self.waiting.set_function(self._waiting_count)
        self.on_timer = Gauge(
            "workbench_runs_on_timer", "Runs driven here that only wait for a wait step's timer", registry=r
        )
        self.on_timer.set_function(lambda: self._count(lambda e: _waiting_kinds(e) == {TIMER_REQUEST}))
        self._failed_runs: set[str] = set()
        self._todo: queue.Queue = queue.Queue()
        threading.Thread(target=self._count_recovery, name="service-metrics", daemon=True).start()

    def _waiting_count(self) -> int:
        return self._count(lambda e: bool(_waiting_kinds(e) - {TIMER_REQUEST}))

    def _count(self, wanted) -> int:
        """Executions of this engine matching ``wanted`` (the driver thread may add some meanwhile)."""
        for _ in range(5):
            try:
                return sum(1 for e in list(self.engine.execs.values()) if wanted(e))
            except RuntimeError:  # the dict changed size while being copied: try again
                continue
        return 0

    def started(self, workflow_id: str | None, workflow: str, kind: str = "execute") -> None:
        """Count a run of ``workflow_id`` (named ``workflow``) started here as ``kind``."""
        self.runs_started.labels(workflow_id or "", workflow, kind).inc()

    def listener(self, workflow_id: str | None, workflow: str):
        """An ``on_step`` callback for one run of ``workflow_id`` (named ``workflow``; runs on the driver
        thread: cheap work only)."""
        wid = workflow_id or ""

        def on_step(event: dict) -> None:
            eid = event.get("execution_id")
            state = event.get("state")
            status = event.get("status") or ""
            if state is None:
                if status.startswith("run_"):
                    self.runs_finished.labels(wid, workflow, status[4:]).inc()
                    if eid in self._failed_runs:
                        self._failed_runs.discard(eid)
                        self._todo.put((eid, wid, workflow))
                return
            dur = event.get("duration_ms")
            if isinstance(dur, (int, float)):
                self.state_duration.labels(wid, workflow, state, status).observe(max(0.0, dur) / 1000.0)
            if (event.get("attempt") or 1) > 1:
                self.state_retries.labels(wid, workflow, state).inc()
            if status == "failed" or (event.get("attempt") or 1) > 1:
                self._failed_runs.add(eid)

        return on_step

    def _count_recovery(self) -> None:
        """Off the driver thread: count the recovery actions of finished runs that saw a failure."""
        while True:
            eid, wid, workflow = self._todo.get()
            try:
                for strategy, n in records.recovery_strategy_counts(self.store, eid).items():
                    self.recovery_actions.labels(wid, workflow, strategy).inc(n)
            except Exception as exc:  # metrics never break the service
                log.warning("could not count recovery actions of %s: %s", eid, exc, extra={"execution_id": eid})

    def exposition(self, workflow_ids: set[str] | None = None) -> tuple[bytes, str]:
        """The text exposition format and its content type. ``workflow_ids``: only the per-workflow series of
        these workflow ids, and no store-wide AI/LLM totals (what a viewer or analyst may read); None:
        everything."""
        registry = self.registry if workflow_ids is None else _ReadableSeries(self.registry, workflow_ids)
        return generate_latest(registry), CONTENT_TYPE_LATEST


# the store-wide totals of every workflow's records: only for callers who read every workflow
STORE_WIDE_FAMILIES = frozenset(
    {"workbench_ai_decisions", "workbench_llm_calls", "workbench_llm_tokens", "workbench_llm_cost_usd"}
)


class _ReadableSeries:
    """A view of a registry keeping the service-level series (HTTP requests, queue, runs in flight) and the
    per-workflow series of the workflow ids given (selected by ``workflow_id``, never by name: two owners'
    workflows may share a name); store-wide totals are left out. A per-workflow sample without a known id
    is left out too (fail closed)."""

    def __init__(self, registry: CollectorRegistry, workflow_ids: set[str]):
        self.registry, self.workflow_ids = registry, workflow_ids

    def _readable(self, labels: dict) -> bool:
        if "workflow_id" not in labels and "workflow" not in labels:
            return True  # a service-level series
        return bool(labels.get("workflow_id")) and labels["workflow_id"] in self.workflow_ids

    def collect(self):
        for family in self.registry.collect():
            if family.name in STORE_WIDE_FAMILIES:
                continue
            kept = [s for s in family.samples if self._readable(s.labels)]
            out = Metric(family.name, family.documentation, family.type, family.unit)
            out.samples = kept
            yield out


class _RecordsCollector:
    """Queue depth (the service's queue) and the store's AI decision and LLM usage totals."""

    CACHE_S = 5.0

    def __init__(self, store, queue_stats=None):
        self.store, self.queue_stats = store, queue_stats
        self._cached: tuple[float, dict, list] | None = None

    def _totals(self) -> tuple[dict, list]:
        now = time.monotonic()
        if self._cached is None or now - self._cached[0] > self.CACHE_S:
            try:
                self._cached = (now, records.ai_decision_totals(self.store), records.llm_usage_totals(self.store))
            except Exception as exc:  # metrics never break the service
                log.warning("could not read AI/LLM totals for /metrics: %s", exc)
                return ({}, []) if self._cached is None else self._cached[1:]
        return self._cached[1], self._cached[2]

    def describe(self):
        return []  # collected at scrape time only

    def collect(self):
        if self.queue_stats is not None:
            queued = GaugeMetricFamily("workbench_runs_queued", "Runs waiting in this service's queue for a slot")
            try:
                queued.add_metric([], float(self.queue_stats().get("queued", 0)))
            except Exception:  # the queue is being torn down
                queued.add_metric([], 0.0)
            yield queued
        decisions, usage = self._totals()
        ai = CounterMetricFamily("workbench_ai_decisions", "Recorded decisions by who decided", labels=["decided_by"])
        for by, n in sorted(decisions.items()):
            ai.add_metric([by], n)
        yield ai
        calls = CounterMetricFamily("workbench_llm_calls", "Recorded model calls", labels=["model"])
        tokens = CounterMetricFamily("workbench_llm_tokens", "Recorded model tokens", labels=["model", "kind"])
        cost = CounterMetricFamily("workbench_llm_cost_usd", "Recorded model cost in USD", labels=["model"])
        for row in usage:
            calls.add_metric([row["model"]], int(row["calls"]))
            tokens.add_metric([row["model"], "prompt"], int(row["prompt_tokens"]))
            tokens.add_metric([row["model"], "completion"], int(row["completion_tokens"]))
            cost.add_metric([row["model"]], float(row["cost_usd"]))
        yield from (calls, tokens, cost)
