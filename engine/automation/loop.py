"""The service's automation thread: registers file schedules/triggers, fires due schedule slots and
starts runs for new file versions, all through the service's run queue.

Started in the service's lifespan (engine/service/app.py); ``WORKBENCH_AUTOMATION=0`` turns it off.
Every tick (0.5 s) it claims due slots (engine/automation/schedules.py); every second it scans the
watched folders of the file triggers.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from engine.automation import schedules, triggers

log = logging.getLogger("workbench.automation")

SYNC_EVERY_S = 2.0  # re-read the library's schedules and triggers
TICK_S = 0.5  # look for due slots
FILE_POLL_S = 1.0  # scan the watched folders
ORPHANS_EVERY_S = 5.0  # look for slots claimed by a service that died before starting their run


def enabled_from_env() -> bool:
    """``WORKBENCH_AUTOMATION`` (default on): whether a service fires schedules and file triggers."""
    return os.environ.get("WORKBENCH_AUTOMATION", "1").strip().lower() not in ("0", "false", "no", "off")


def start_run(
    svc,
    workflow_id: str,
    version: int | None,
    context: dict,
    *,
    execution_id: str,
    started_by: str,
    how: str,
    priority: int = 0,
) -> str:
    """Start a run of a saved workflow through the service's queue, recorded as started by ``started_by``.
    Returns the status (running | queued). Raises on a bad workflow or context."""
    from engine import auth, library
    from engine.service import routes

    spec, meta = library.get_workflow(svc.store, workflow_id, version)
    context = schedules.check_context(spec, context)
    auth.record_run_start(svc.store, execution_id, started_by, workflow_id=meta["workflow_id"], how=how)
    _, status = svc.queue.submit(
        spec,
        context,
        routes._run_options(None),
        workflow_id=meta["workflow_id"],
        version=int(meta["version"]),
        priority=priority,
        on_step=routes._listener(svc, meta["workflow_id"], spec.name),
        execution_id=execution_id,
    )
    svc.metrics.started(meta["workflow_id"], spec.name, how)
    return status


class AutomationLoop:
    """One daemon thread per service process; several processes on one store never double-fire
    (the claims are made under cross-process locks)."""

    def __init__(self, svc, tick_s: float | None = None, file_poll_s: float | None = None):
        self.svc = svc
        self.store = svc.store
        self.tick_s = tick_s or TICK_S
        self.file_poll_s = file_poll_s or FILE_POLL_S
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="workbench-automation", daemon=True)
        self.fired = 0  # runs this loop started (tests, metrics)
        self._last_orphans = 0.0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        last_sync = last_files = 0.0
        last_error = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                if now - last_sync >= SYNC_EVERY_S:
                    last_sync = now
                    self.sync()
                self.fire_schedules()
                if now - last_files >= self.file_poll_s:
                    last_files = now
                    self.poll_files()
            except Exception as exc:  # keep firing; say it at most every 30 s
                if now - last_error > 30:
                    log.error("automation tick failed: %s: %s", type(exc).__name__, exc)
                    last_error = now
            self._stop.wait(self.tick_s)

    def sync(self) -> None:
        """Register the schedules and triggers of the library's active versions."""
        specs = schedules.active_file_specs(self.store)
        schedules.sync_from_library(self.store, specs)
        triggers.sync_from_library(self.store, specs)

    def fire_schedules(self) -> int:
        """Claim the due slots and start their runs; returns how many started."""
        started = 0
        owner = self.svc.engine.owner
        due = schedules.claim_due(self.store, owner=owner)
        now = time.monotonic()
        if now - self._last_orphans >= ORPHANS_EVERY_S:
            self._last_orphans = now
            due += schedules.reclaim_orphans(self.store, owner)
        for claim in due:
            if self._stop.is_set():
                schedules.record_outcome(
                    self.store, claim, "failed", "the service stopped before the run started", owner
                )
                continue
            try:
                status = start_run(
                    self.svc,
                    claim.workflow_id,
                    claim.version,
                    claim.context,
                    execution_id=claim.execution_id,
                    started_by=f"schedule:{claim.schedule_id}",
                    how="schedule",
                    priority=claim.priority,
                )
            except Exception as exc:
                log.warning("schedule %s could not start its run: %s", claim.schedule_id, exc)
                schedules.record_outcome(self.store, claim, "failed", f"could not start: {exc}", owner)
                continue
            schedules.record_outcome(self.store, claim, "started", f"{claim.note}; run {status}", owner)
            log.info(
                "schedule fired",
                extra={"execution_id": claim.execution_id, "workflow": claim.workflow_id, "status": status},
            )
            started += 1
        self.fired += started
        return started

    def poll_files(self) -> int:
        """Start a run for every new file version of every enabled file trigger."""
        started = 0
        for trig in triggers.trigger_rows(self.store, kind="file"):
            if not trig["enabled"]:
                continue
            d = trig["definition"]
            for version, eid in triggers.claim_file_versions(self.store, trig, triggers.scan(trig)):
                ctx = dict(d.get("context") or {})
                ctx[d.get("into") or "file"] = version.as_context()
                try:
                    start_run(
                        self.svc,
                        trig["workflow_id"],
                        trig.get("version"),
                        ctx,
                        execution_id=eid,
                        started_by=f"trigger:{trig['trigger_id']}",
                        how="file",
                    )
                except Exception as exc:
                    log.warning("file trigger %s could not start its run: %s", trig["trigger_id"], exc)
                    triggers.record_event(self.store, trig, version.key, "failed", eid, {"error": str(exc)})
                    continue
                triggers.record_event(self.store, trig, version.key, "started", eid, version.as_context())
                started += 1
        return started
