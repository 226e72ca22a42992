"""Runs survive restarts: the service takes over every run whose driver's lease expired.

At start-up, then every :data:`ADOPT_EVERY_S` seconds, the service looks for unfinished top-level
runs (queued, pending, running, recovering) whose owner no longer holds its lease (a crashed
service, a killed ``workbench run``; see :mod:`engine.leases`). A running one is resumed here: the
engine replays its recorded state results and runs only what never finished. A queued one is queued
here again with its priority. Each take-over is recorded in the run's audit log (``run_adopted``).
Runs waiting for a person are left alone: an answer resumes them wherever it is given, except once
a request they wait for has expired (an approval's ``timeout_s``), their own or one of a sub-workflow
run at any depth: nobody will answer it, so the service resumes the top-level run, which records the
request as expired and goes on (its ``@error`` path).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid

from engine import leases, records

log = logging.getLogger("workbench.service")

ADOPT_EVERY_S = 5.0
ADOPTABLE = ("queued", "pending", "running", "recovering")


def _now() -> dt.datetime:
    return records.store_time(records.utc_now())


def orphaned_runs(store, me: str) -> list[dict]:
    """Unfinished top-level runs whose driver's lease expired (oldest first)."""
    marks = ", ".join("?" for _ in ADOPTABLE)
    rows = store.query(
        f"SELECT * FROM workflow_executions WHERE status IN ({marks}) AND parent_execution_id IS NULL "
        "AND owner IS DISTINCT FROM ? ORDER BY start_time",
        [*ADOPTABLE, me],
    )
    return _driverless(store, rows, me)


def waiting_runs_past_expiry(store, me: str) -> list[dict]:
    """Runs waiting on a request that has expired whose driver is gone (a detached ``workbench run``, a
    stopped service): nobody else would ever move them on."""
    rows = records.waiting_runs_with_expired_requests(store, _now())
    return _driverless(store, [r for r in rows if r.get("owner") != me], me)


def _driverless(store, rows: list[dict], me: str) -> list[dict]:
    """The runs of ``rows`` whose owner no longer holds its lease (each owner looked up once)."""
    alive: dict[str | None, bool] = {}
    out = []
    for r in rows:
        owner = r.get("owner")
        if owner not in alive:
            alive[owner] = leases.owner_alive(store, owner, me)
        if not alive[owner]:
            out.append(r)
    return out


def adopt_orphans(svc) -> list[str]:
    """Take over every orphaned run now (and every waiting run whose request expired with nobody
    driving it); returns their execution ids."""
    engine, store = svc.engine, svc.store
    leases.renew(store, engine.owner)  # our own lease first: nobody takes these runs back from us
    taken: list[str] = []
    with store.exclusive("adopt-runs"):  # two services starting at once: one takes each run
        for row in orphaned_runs(store, engine.owner) + waiting_runs_past_expiry(store, engine.owner):
            eid = row["execution_id"]
            try:
                _adopt(svc, row)
                taken.append(eid)
            except Exception as exc:  # one run that cannot continue must not stop the rest
                log.error("could not take over run %s: %s", eid, exc, extra={"execution_id": eid})
                _audit(
                    store,
                    eid,
                    "error",
                    "run_adoption_failed",
                    f"the service {engine.owner} could not take over this run: {exc}",
                )
    if taken:
        log.info("took over %d runs whose driver's lease expired", len(taken))
    return taken


def _adopt(svc, row: dict) -> None:
    from engine.service.routes import _listener
    from engine.service.runqueue import queued_job_from_record

    engine, store = svc.engine, svc.store
    eid, old_owner, status = row["execution_id"], row.get("owner"), row["status"]
    expires = leases.lease_expires_at(store, old_owner) if old_owner else None
    why = (
        f"its driver {old_owner} stopped renewing its lease (expired {expires:%Y-%m-%d %H:%M:%S} UTC)"
        if expires is not None
        else f"its driver {old_owner or '(unknown)'} is gone"
    )
    listener = _listener(svc, row.get("workflow_id"), row.get("workflow_name") or "")
    if status == "queued":
        spec, ctx, opts, priority = queued_job_from_record(row)
        _audit(
            store,
            eid,
            "warning",
            "run_adopted",
            f"queued again by the service {engine.owner} (priority {priority}): {why}",
        )
        svc.queue.submit(
            spec,
            ctx,
            opts,
            workflow_id=row.get("workflow_id"),
            version=row.get("version"),
            priority=priority,
            on_step=listener,
            execution_id=eid,
        )
        return
    # claim it in the records before resuming, so another service sees a live owner
    engine._append_exec_row_raw(row, owner=engine.owner)
    _audit(
        store,
        eid,
        "warning",
        "run_adopted",
        f"taken over by the service {engine.owner} (it was {status}"
        + (", and a request it waits for has expired or its wait step is over" if status == "waiting" else "")
        + f"): {why}; completed states are replayed from the records, not run again",
    )
    engine.subscribe(eid, listener)
    engine.resume(eid)
    svc.queue.adopt(eid, row.get("workflow_id"))
    svc.metrics.started(row.get("workflow_id"), row.get("workflow_name") or "", "resume")


def _audit(store, execution_id: str, level: str, event: str, message: str) -> None:
    store.append(
        "audit_logs",
        {
            "id": uuid.uuid4().hex,
            "execution_id": execution_id,
            "timestamp": _now(),
            "level": level,
            "state": None,
            "event_type": event,
            "message": message[:2000],
        },
    )


class Adopter:
    """A daemon thread: adopts at once, then every ADOPT_EVERY_S seconds until stopped."""

    def __init__(self, svc, every_s: float = ADOPT_EVERY_S):
        self.svc, self.every_s = svc, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="workbench-adopter", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                adopt_orphans(self.svc)
            except Exception as exc:  # keep looking next time
                log.warning("adopting orphaned runs: %s", exc, exc_info=True)
            self._stop.wait(self.every_s)
