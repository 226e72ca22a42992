"""Schedules of workflow versions: the registry (file, API, CLI, app) and the once-only fire claims.

A schedule's row in ``schedules`` is "newest row wins" per ``schedule_id``. Schedules written in a
workflow file (``[[schedules]]``) are registered by :func:`sync_from_library` for the newest *active*
version of each workflow, under the id ``<workflow_id>:<id>``; pausing one keeps until the file's
definition changes. Schedules added through the API/CLI/app get ``<workflow_id>:<id>`` as well.

Firing: :func:`claim_due` runs under the cross-process lock ``automation-schedules``
(:meth:`Store.exclusive`): it reads the newest recorded slot of every schedule, works out the due slot
and records it (``schedule_fires``, status ``claimed``, with the execution id its run will get) before
any run starts. Leaving the lock flushes the rows, so the next holder — another thread, another service
process, or this one after a restart — sees the slot as taken. A slot is therefore fired at most once.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.automation.registry import REGISTRY_LOCK, current_rows, parse_row
from engine.automation.specs import (
    ScheduleSpec,
    fire_times,
    last_fire_at_or_before,
    upcoming,
)
from engine.errors import WorkbenchError
from engine.records import store_time, utc_now

FIRE_LOCK = "automation-schedules"
DEFAULT_GRACE_S = 60.0


class ScheduleError(WorkbenchError):
    """A schedule cannot be added or changed (unknown workflow or schedule, bad definition)."""


def grace_s() -> float:
    """How late a slot may still fire under ``catchup = "skip"`` (``WORKBENCH_SCHEDULE_GRACE_S``, default 60)."""
    try:
        return max(0.0, float(os.environ.get("WORKBENCH_SCHEDULE_GRACE_S", DEFAULT_GRACE_S)))
    except ValueError:
        return DEFAULT_GRACE_S


def _now() -> datetime:
    return utc_now()


def _aware(t: datetime | None) -> datetime | None:
    if t is None:
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _iso(t: datetime) -> str:
    return _aware(t).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # type: ignore[union-attr]


def fire_key(schedule_id: str, when: datetime) -> str:
    """The unique key of one slot of one schedule."""
    return f"{schedule_id}@{_iso(when)}"


def _who() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# --------------------------------------------------------------------------------------- registry
def _current_rows(store, workflow_id: str | None = None, include_removed: bool = False) -> list[dict]:
    return current_rows(store, "schedules", workflow_id=workflow_id, include_removed=include_removed)


def active_file_specs(store) -> list[dict]:
    """``{workflow_id, version, spec: {schedules, triggers}}`` of the newest active version of every
    workflow that has any (only those two parts of the spec are read)."""
    rows = store.query(
        """
        WITH cur AS (SELECT workflow_id, max(version) AS version FROM workflows WHERE status = 'active'
                     GROUP BY workflow_id)
        SELECT w.workflow_id, w.version, w.spec->'$.schedules' AS schedules, w.spec->'$.triggers' AS triggers
        FROM workflows w JOIN cur USING (workflow_id, version)
        WHERE w.status = 'active'
          AND (coalesce(json_array_length(w.spec->'$.schedules'), 0) > 0
               OR coalesce(json_array_length(w.spec->'$.triggers'), 0) > 0)
        """
    )
    out = []
    for r in rows:
        part = {}
        for key in ("schedules", "triggers"):
            try:
                part[key] = json.loads(r[key]) if isinstance(r[key], str) else (r[key] or [])
            except ValueError:
                part[key] = []
        out.append({"workflow_id": r["workflow_id"], "version": int(r["version"]), "spec": part})
    return out


def sync_from_library(store, specs: list[dict] | None = None) -> int:
    """Register the ``[[schedules]]`` of the newest active version of every workflow; retire file
    schedules no such version holds any more. Returns how many rows were written."""
    specs = active_file_specs(store) if specs is None else specs
    wanted: dict[str, tuple[str, int, dict]] = {}
    for item in specs:
        for raw in item["spec"].get("schedules") or []:
            try:
                s = ScheduleSpec.model_validate(raw)
            except ValueError:
                continue
            sid = f"{item['workflow_id']}:{s.id}"
            wanted[sid] = (item["workflow_id"], item["version"], s.model_dump(mode="json"))

    def plan() -> list[dict]:
        existing = {r["schedule_id"]: r for r in _current_rows(store, include_removed=True)}
        now = store_time(_now())
        rows = []
        for sid, (wid, version, definition) in wanted.items():
            old = existing.get(sid)
            base = {
                "schedule_id": sid,
                "workflow_id": wid,
                "version": version,
                "source": "file",
                "definition": definition,
                "status": "active",
                "changed_by": f"workflow {wid} v{version}",
            }
            if old is None or old["status"] != "active" or old["source"] != "file" or old["definition"] != definition:
                if old is not None and old["source"] != "file" and old["status"] == "active":
                    continue  # an API schedule already owns this id
                rows.append(
                    {
                        **base,
                        "enabled": bool(definition.get("enabled", True)),
                        "active_since": now,
                        "created_at": (old or {}).get("created_at") or now,
                    }
                )
            elif old["version"] != version:
                rows.append(
                    {
                        **base,
                        "enabled": old["enabled"],
                        "active_since": old["active_since"],
                        "created_at": old["created_at"],
                    }
                )
        for sid, old in existing.items():
            if old["source"] == "file" and old["status"] == "active" and sid not in wanted:
                rows.append(
                    {
                        **{
                            k: old[k]
                            for k in ("schedule_id", "workflow_id", "version", "source", "definition", "enabled")
                        },
                        "status": "removed",
                        "active_since": old["active_since"],
                        "created_at": old["created_at"],
                        "changed_by": "no active version defines it",
                    }
                )
        return rows

    if not plan():  # nothing to change: no lock taken
        return 0
    with store.exclusive(REGISTRY_LOCK):
        rows = plan()
        if rows:
            store.append_many("schedules", rows)
    return len(rows)


def add_schedule(
    store,
    workflow: str,
    definition: dict | ScheduleSpec,
    *,
    version: int | None = None,
    by: str = "api",
    source: str = "api",
) -> dict:
    """Add a schedule to a saved workflow (its current version unless ``version``); returns the schedule."""
    from engine import library

    try:
        spec = definition if isinstance(definition, ScheduleSpec) else ScheduleSpec.model_validate(definition)
    except ValueError as exc:
        raise ScheduleError(f"invalid schedule: {exc}") from None
    try:
        wf, meta = library.get_workflow(store, workflow, version)
    except library.WorkflowNotFoundError as exc:
        raise ScheduleError(str(exc)) from None
    check_context(wf, spec.context)
    wid = meta["workflow_id"]
    spec.id = spec.id or f"{source}-{uuid.uuid4().hex[:6]}"
    sid = f"{wid}:{spec.id}"
    with store.exclusive(REGISTRY_LOCK):
        old = {r["schedule_id"]: r for r in _current_rows(store, wid)}.get(sid)
        if old is not None:
            raise ScheduleError(f"workflow {wid} already has a schedule {spec.id!r}")
        now = store_time(_now())
        store.append(
            "schedules",
            {
                "schedule_id": sid,
                "workflow_id": wid,
                "version": version,  # None: the current version when it fires
                "source": source,
                "definition": spec.model_dump(mode="json"),
                "enabled": spec.enabled,
                "status": "active",
                "active_since": now,
                "changed_by": by,
                "created_at": now,
            },
        )
    return get_schedule(store, sid)


def get_schedule(store, schedule_id: str) -> dict:
    """One schedule (with ``next_fires``), ScheduleError when unknown."""
    rows = [parse_row(r) for r in store.query("SELECT * FROM schedules WHERE schedule_id = ?", [schedule_id])]
    if not rows or rows[0]["status"] != "active":
        raise ScheduleError(f"no schedule {schedule_id!r}")
    return _with_next(rows[0])


def _with_next(r: dict, n: int = 3) -> dict:
    d = r["definition"]
    spec = ScheduleSpec.model_validate(d)
    r["next_fires"] = [_iso(t) for t in upcoming(spec.cron, spec.every_s, spec.timezone, n)] if r["enabled"] else []
    return r


def list_schedules(store, workflow: str | None = None, *, sync: bool = True, with_last: bool = True) -> list[dict]:
    """Active schedules (of one workflow id when given), with ``next_fires`` (ISO UTC) and ``last_fire``."""
    if sync:
        sync_from_library(store)
    rows = [_with_next(r) for r in _current_rows(store, workflow)]
    if with_last and rows:
        last = {
            r["schedule_id"]: r
            for r in store.query(
                "SELECT schedule_id, fire_time, status, execution_id FROM schedule_fires "
                "QUALIFY row_number() OVER (PARTITION BY schedule_id ORDER BY fire_time DESC) = 1"
            )
        }
        for r in rows:
            f = last.get(r["schedule_id"])
            r["last_fire"] = (
                {"fire_time": _iso(f["fire_time"]), "status": f["status"], "execution_id": f["execution_id"]}
                if f
                else None
            )
    return rows


def set_enabled(store, schedule_id: str, enabled: bool, *, by: str = "api") -> dict:
    """Pause (``enabled=False``) or resume a schedule. Slots while paused are never caught up."""
    with store.exclusive(REGISTRY_LOCK):
        cur = get_schedule(store, schedule_id)
        if bool(cur["enabled"]) != enabled:
            row = {
                k: cur[k]
                for k in ("schedule_id", "workflow_id", "version", "source", "definition", "status", "created_at")
            }
            row.update(
                enabled=enabled, changed_by=by, active_since=store_time(_now()) if enabled else cur["active_since"]
            )
            store.append("schedules", row)
    return get_schedule(store, schedule_id)


def remove_schedule(store, schedule_id: str, *, by: str = "api") -> None:
    """Remove an API/CLI/app schedule (a workflow file's schedule is paused, or removed by a new version)."""
    with store.exclusive(REGISTRY_LOCK):
        cur = get_schedule(store, schedule_id)
        if cur["source"] == "file":
            raise ScheduleError(
                f"schedule {schedule_id!r} is defined in the workflow file ([[schedules]]): pause it, "
                "or save a version without it"
            )
        row = {
            k: cur[k]
            for k in (
                "schedule_id",
                "workflow_id",
                "version",
                "source",
                "definition",
                "enabled",
                "created_at",
                "active_since",
            )
        }
        row.update(status="removed", changed_by=by)
        store.append("schedules", row)


def check_context(spec, context: dict | None) -> dict:
    """``context`` validated against the workflow's typed ``[inputs]`` (engine/inputs.py)."""
    from engine.inputs import validate_context

    try:
        return validate_context(spec, context or {})
    except ValueError as exc:
        raise ScheduleError(str(exc)) from None


# --------------------------------------------------------------------------------------- firing
@dataclass
class Claim:
    """A slot recorded as taken; its run is to start with ``execution_id``."""

    schedule_id: str
    workflow_id: str
    version: int | None
    fire_time: datetime
    execution_id: str
    context: dict[str, Any]
    priority: int
    note: str


MAX_ON_TIME_PER_TICK = 100


def claim_due(store, now: datetime | None = None, grace: float | None = None, owner: str | None = None) -> list[Claim]:
    """Record (under the cross-process lock) the due slots of every enabled schedule; return those to run.

    Due slots are those after ``max(the schedule's newest recorded slot, its active_since)`` up to now.
    Slots at most ``grace`` seconds old are on time: each gets its run. Older ones were missed (no
    service ran): ``catchup = "skip"`` records them ``skipped`` (one row), ``"run_once"`` runs the
    newest of them once and records the others skipped."""
    now = _aware(now) or _now()
    grace = grace_s() if grace is None else grace
    if not any(r["enabled"] for r in _current_rows(store)):  # nothing to fire: no lock taken
        return []
    claims: list[Claim] = []
    with store.exclusive(FIRE_LOCK):
        scheds = [r for r in _current_rows(store) if r["enabled"]]
        last = {
            r["schedule_id"]: _aware(r["last"])
            for r in store.query("SELECT schedule_id, max(fire_time) AS last FROM schedule_fires_history GROUP BY 1")
        }
        busy = (
            _schedules_with_live_runs(store) if any(r["definition"].get("overlap") == "skip" for r in scheds) else set()
        )
        rows: list[dict] = []
        stamp = store_time(now)
        who = owner or _who()
        cutoff = now - timedelta(seconds=grace)
        for r in scheds:
            sid = r["schedule_id"]
            try:
                spec = ScheduleSpec.model_validate(r["definition"])
            except ValueError:
                continue
            cron, every, tz = spec.cron, spec.every_s, spec.timezone
            base = max(t for t in (last.get(sid), _aware(r["active_since"])) if t is not None)
            common = {"schedule_id": sid, "workflow_id": r["workflow_id"], "fired_by": who, "created_at": stamp}

            def claim(when: datetime, note: str, _r=r, _spec=spec, _common=common) -> None:
                eid = uuid.uuid4().hex[:16]
                rows.append(
                    {
                        **_common,
                        "fire_key": fire_key(_r["schedule_id"], when),
                        "fire_time": store_time(when),
                        "execution_id": eid,
                        "status": "claimed",
                        "message": note,
                    }
                )
                claims.append(
                    Claim(
                        _r["schedule_id"],
                        _r["workflow_id"],
                        _r["version"],
                        when,
                        eid,
                        dict(_spec.context),
                        _spec.priority,
                        note,
                    )
                )

            if cutoff > base:  # slots older than the grace: missed while no service fired them
                missed, n_missed = fire_times(cron, every, tz, base, cutoff, cap=1000)
                if n_missed:
                    newest_missed = last_fire_at_or_before(cron, every, tz, cutoff)
                    assert newest_missed is not None
                    span = f"{n_missed}{'+' if n_missed > 1000 else ''} slot(s) from {_iso(missed[0])}"
                    if spec.catchup == "run_once":
                        if n_missed > 1:
                            rows.append(
                                {
                                    **common,
                                    "fire_key": fire_key(sid, missed[0]),
                                    "fire_time": store_time(missed[0]),
                                    "status": "skipped",
                                    "message": f"{span} missed while no service ran; the newest runs once",
                                }
                            )
                        claim(newest_missed, f"catch-up run for {span} missed (catchup = run_once)")
                    else:
                        rows.append(
                            {
                                **common,
                                "fire_key": fire_key(sid, newest_missed),
                                "fire_time": store_time(newest_missed),
                                "status": "skipped",
                                "message": f"{span} missed while no service ran (catchup = skip)",
                            }
                        )
            on_time, _ = fire_times(cron, every, tz, max(base, cutoff), now, cap=MAX_ON_TIME_PER_TICK)
            if on_time and spec.overlap == "skip" and (sid in busy or claims and claims[-1].schedule_id == sid):
                rows.append(
                    {
                        **common,
                        "fire_key": fire_key(sid, on_time[-1]),
                        "fire_time": store_time(on_time[-1]),
                        "status": "skipped",
                        "message": f"{len(on_time)} slot(s) skipped: the schedule's previous run is still going "
                        "(overlap = skip)",
                    }
                )
                continue
            if spec.overlap == "skip":
                on_time = on_time[-1:]  # one run at a time: the newest slot
            for when in on_time:
                claim(
                    when,
                    "on time" if (now - when).total_seconds() < 5 else f"{(now - when).total_seconds():.0f} s late",
                )
        if rows:
            taken = {
                x["fire_key"]
                for x in store.query(
                    "SELECT fire_key FROM schedule_fires_history WHERE fire_key IN (SELECT unnest(?))",
                    [[row["fire_key"] for row in rows]],
                )
            }
            if taken:  # never happens while every writer goes through this lock; kept as the last guard
                rows = [row for row in rows if row["fire_key"] not in taken]
                claims = [c for c in claims if fire_key(c.schedule_id, c.fire_time) not in taken]
            store.append_many("schedule_fires", rows)
    return claims


def _schedules_with_live_runs(store) -> set[str]:
    """Schedule ids with a run not finished yet, or a slot claimed whose run has not started yet."""
    from engine.schema import LIVE_STATUSES

    marks = ", ".join("?" for _ in LIVE_STATUSES)
    rows = store.query(
        "SELECT DISTINCT substr(s.started_by, 10) AS sid FROM execution_starters s JOIN workflow_executions e "
        f"USING (execution_id) WHERE s.started_by LIKE 'schedule:%' AND e.status IN ({marks}) "
        "UNION SELECT DISTINCT f.schedule_id FROM schedule_fires f WHERE f.status = 'claimed' AND NOT EXISTS "
        "(SELECT 1 FROM workflow_executions e WHERE e.execution_id = f.execution_id)",
        list(LIVE_STATUSES),
    )
    return {r["sid"] for r in rows}


ORPHAN_AFTER_S = 10.0  # a claim this old without a run, whose claimer is gone, is taken over


def reclaim_orphans(store, owner: str, now: datetime | None = None, grace: float | None = None) -> list[Claim]:
    """Slots claimed by a service that died before starting their run: take them over (recorded
    under the fire lock with ``owner``) when still within the grace, else record them ``failed``.

    A claimer is gone when its engine lease expired (engine/leases.py), so a slow but live claimer is
    never overtaken; the run keeps the execution id of the claim, and a claim whose execution exists
    is never started again."""
    from engine import leases

    now = _aware(now) or _now()
    grace = grace_s() if grace is None else grace
    old_enough = store_time(now - timedelta(seconds=ORPHAN_AFTER_S))
    query = (
        "SELECT f.* FROM schedule_fires f WHERE f.status = 'claimed' AND f.created_at < ? AND f.fired_by <> ? "
        "AND NOT EXISTS (SELECT 1 FROM workflow_executions e WHERE e.execution_id = f.execution_id)"
    )
    if not store.query(query, [old_enough, owner]):
        return []
    claims: list[Claim] = []
    with store.exclusive(FIRE_LOCK):
        rows = store.query(query, [old_enough, owner])
        alive: dict[str, bool] = {}
        current = {r["schedule_id"]: r for r in _current_rows(store)}
        out: list[dict] = []
        for f in rows:
            by = f["fired_by"] or ""
            if by not in alive:
                alive[by] = leases.owner_alive(store, by, owner)
            if alive[by]:
                continue
            sched = current.get(f["schedule_id"])
            when = _aware(f["fire_time"])
            assert when is not None
            row = {k: f[k] for k in ("fire_key", "schedule_id", "workflow_id", "fire_time", "execution_id")}
            row.update(fired_by=owner, created_at=store_time(now))
            late = (now - when).total_seconds()
            if sched is None or not sched["enabled"] or late > grace:
                why = "schedule removed or paused" if sched is None or not sched["enabled"] else f"{late:.0f} s late"
                out.append(
                    {**row, "status": "failed", "message": f"the service {by} stopped before starting the run ({why})"}
                )
                continue
            spec = ScheduleSpec.model_validate(sched["definition"])
            note = f"taken over from {by}, which stopped before starting the run"
            out.append({**row, "status": "claimed", "message": note})
            claims.append(
                Claim(
                    f["schedule_id"],
                    f["workflow_id"],
                    sched["version"],
                    when,
                    f["execution_id"],
                    dict(spec.context),
                    spec.priority,
                    note,
                )
            )
        if out:
            store.append_many("schedule_fires", out)
    return claims


def record_outcome(store, claim: Claim, status: str, message: str, owner: str | None = None) -> None:
    """After the start: the slot's row becomes ``started`` (or ``failed`` with the reason)."""
    store.append(
        "schedule_fires",
        {
            "fire_key": fire_key(claim.schedule_id, claim.fire_time),
            "schedule_id": claim.schedule_id,
            "workflow_id": claim.workflow_id,
            "fire_time": store_time(claim.fire_time),
            "execution_id": claim.execution_id,
            "status": status,
            "message": message,
            "fired_by": owner or _who(),
            "created_at": store_time(_now()),
        },
    )


def fires(store, schedule_id: str | None = None, limit: int = 50) -> list[dict]:
    """The newest recorded slots (of one schedule when given)."""
    sql = "SELECT * FROM schedule_fires"
    params: list = []
    if schedule_id:
        sql += " WHERE schedule_id = ?"
        params.append(schedule_id)
    return store.query(sql + f" ORDER BY fire_time DESC LIMIT {int(limit)}", params)


def next_fire_times_local(definition: dict, tz_name: str, n: int = 3) -> list[datetime]:
    """The next ``n`` fire times shown in the zone ``tz_name`` (the viewer's zone, not the schedule's)."""
    from engine.automation.specs import zone

    spec = ScheduleSpec.model_validate(definition)
    return [t.astimezone(zone(tz_name)) for t in upcoming(spec.cron, spec.every_s, spec.timezone, n)]


__all__ = [
    "Claim",
    "ScheduleError",
    "add_schedule",
    "claim_due",
    "fires",
    "get_schedule",
    "list_schedules",
    "next_fire_times_local",
    "record_outcome",
    "remove_schedule",
    "set_enabled",
    "sync_from_library",
]
