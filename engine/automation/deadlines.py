"""Deadlines (SLA): ``deadline_s`` of a workflow (``[settings]``) and of a state (its binding).

A deadline is missed when a run (or a visit of a state) is still going past it, or ended later than
it. Found from the records by the service's notifier (:mod:`engine.automation.notifier`): each miss
gets one ``deadline_missed`` audit row (metadata: key, scope, deadline_s, elapsed_s) and a
``deadline`` notification event. Unlike ``timeout_s`` a deadline never stops anything.

Visits of a state are counted in time order: entering it is the transition that led to it (the run's
start for the first state), leaving it is its own recorded transition.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict

from engine import records
from engine.automation import notify
from engine.schema import LIVE_STATUSES

EVENT_TYPE = "deadline_missed"


def _now() -> dt.datetime:
    return records.store_time(records.utc_now())


def _num(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if v > 0 else None


def _candidate_runs(store, since: dt.datetime) -> list[dict]:
    live = ", ".join(f"'{s}'" for s in LIVE_STATUSES)
    return store.query(
        "SELECT execution_id, workflow_id, workflow_name, version, status, start_time, end_time, duration_ms, "
        "json_extract(options, '$._spec.settings.deadline_s') AS run_deadline, "
        "json_extract(options, '$._spec.states') AS states, "
        "json_extract(options, '$._spec.notifications') AS notif "
        f"FROM workflow_executions WHERE (status IN ({live}) OR coalesce(end_time, updated_at) >= ?) "
        "AND (json_extract(options, '$._spec.settings.deadline_s') IS NOT NULL "
        "OR contains(CAST(json_extract(options, '$._spec.states') AS VARCHAR), '\"deadline_s\"'))",
        [since],
    )


def _state_deadlines(states_json) -> dict[str, float]:
    states = records.loads(states_json) if isinstance(states_json, str) else states_json
    out = {}
    for name, b in (states or {}).items():
        d = _num((b or {}).get("deadline_s"))
        if d:
            out[name] = d
    return out


def find_misses(store, since: dt.datetime, now: dt.datetime | None = None) -> list[dict]:
    """Every deadline miss of runs live now or ended after ``since`` (already recorded ones included)."""
    now = now or _now()
    runs = _candidate_runs(store, since)
    misses: list[dict] = []
    state_runs = []
    for r in runs:
        live = r["status"] in LIVE_STATUSES
        start = r.get("start_time")
        d = _num(r.get("run_deadline"))
        if d and start is not None:
            end = None if live else r.get("end_time")
            elapsed = ((end or now) - start).total_seconds()
            if elapsed > d and (live or end is not None):
                misses.append(_miss(r, None, 0, d, elapsed, live))
        per_state = _state_deadlines(r.get("states"))
        if per_state:
            state_runs.append((r, per_state))
    if state_runs:
        ids = [r["execution_id"] for r, _ in state_runs]
        marks = ", ".join("?" for _ in ids)
        trans = store.query(
            "SELECT execution_id, from_state, to_state, token, visit, started_at, ended_at, timestamp "
            f"FROM state_transitions WHERE execution_id IN ({marks}) ORDER BY timestamp",
            ids,
        )
        by_run: dict[str, list[dict]] = defaultdict(list)
        for t in trans:
            by_run[t["execution_id"]].append(t)
        for r, per_state in state_runs:
            misses += _state_misses(r, per_state, by_run.get(r["execution_id"], []), now)
    return misses


def _state_misses(run: dict, per_state: dict[str, float], trans: list[dict], now: dt.datetime) -> list[dict]:
    live = run["status"] in LIVE_STATUSES
    out = []
    for state, d in per_state.items():
        entries = sorted((t.get("ended_at") or t["timestamp"]) for t in trans if t.get("to_state") == state)
        exits: dict[tuple, dict] = {}
        for t in trans:  # one exit per visit (retries share it; the last attempt ends it)
            if t.get("from_state") == state:
                exits[(t.get("token"), t.get("visit"))] = t
        ends = sorted(exits.values(), key=lambda t: t.get("ended_at") or t["timestamp"])
        for k in range(max(len(entries), len(ends))):
            start = entries[k] if k < len(entries) else ends[k].get("started_at")
            if start is None:
                continue
            if k < len(ends):
                elapsed = ((ends[k].get("ended_at") or ends[k]["timestamp"]) - start).total_seconds()
            elif live:
                elapsed = (now - start).total_seconds()
            else:
                continue
            if elapsed > d:
                out.append(_miss(run, state, k, d, elapsed, live and k >= len(ends)))
    return out


def _miss(run: dict, state: str | None, visit: int, deadline_s: float, elapsed_s: float, going: bool) -> dict:
    key = f"{run['execution_id']}:deadline:{state or '(run)'}:{visit}"
    return {
        "key": key,
        "execution_id": run["execution_id"],
        "workflow_id": run.get("workflow_id"),
        "workflow_name": run.get("workflow_name"),
        "version": run.get("version"),
        "status": run.get("status"),
        "state": state,
        "visit": visit,
        "deadline_s": deadline_s,
        "elapsed_s": round(elapsed_s, 3),
        "still_going": going,
        "notifications": run.get("notif"),
    }


def recorded_keys(store, execution_ids: list[str]) -> set[str]:
    """Keys of the deadline misses already in the audit log of these runs."""
    if not execution_ids:
        return set()
    marks = ", ".join("?" for _ in execution_ids)
    rows = store.query(
        "SELECT json_extract_string(metadata, '$.key') AS key FROM audit_logs "
        f"WHERE event_type = ? AND execution_id IN ({marks})",
        [EVENT_TYPE, *execution_ids],
    )
    return {r["key"] for r in rows if r["key"]}


def has_new_misses(store, since: dt.datetime) -> bool:
    """Whether a miss not yet in the audit log exists (checked without the lock; the lock re-checks)."""
    misses = find_misses(store, since)
    if not misses:
        return False
    known = recorded_keys(store, sorted({m["execution_id"] for m in misses}))
    return any(m["key"] not in known for m in misses)


def check_deadlines(store, since: dt.datetime, settings=None) -> list[tuple[str, dict]]:
    """Record a ``deadline_missed`` audit row for each new miss; returns their notification events.

    Call it under the notifier's claim lock (:func:`engine.automation.notifier.claim` does), so two
    services never record one miss twice."""
    settings = settings or notify.load_settings()
    misses = find_misses(store, since)
    known = recorded_keys(store, sorted({m["execution_id"] for m in misses}))
    events = []
    rows = []
    for m in misses:
        if m["key"] in known:
            continue
        known.add(m["key"])
        scope = f"state '{m['state']}'" if m["state"] else "the run"
        verb = "is still going" if m["still_going"] else "ended"
        rows.append(
            {
                "id": uuid.uuid4().hex,
                "execution_id": m["execution_id"],
                "timestamp": _now(),
                "level": "warning",
                "state": m["state"],
                "event_type": EVENT_TYPE,
                "message": f"{scope} {verb} after {m['elapsed_s']:.1f} s, past its deadline of {m['deadline_s']:g} s",
                "metadata": {
                    "key": m["key"],
                    "scope": "state" if m["state"] else "run",
                    "deadline_s": m["deadline_s"],
                    "elapsed_s": m["elapsed_s"],
                    "visit": m["visit"],
                },
                "actor": "deadline-check",
            }
        )
        events.append(
            (
                m["key"],
                {
                    "kind": "deadline",
                    "execution_id": m["execution_id"],
                    "workflow_id": m["workflow_id"],
                    "workflow_name": m["workflow_name"],
                    "version": m["version"],
                    "status": m["status"],
                    "state": m["state"],
                    "deadline_s": m["deadline_s"],
                    "elapsed_s": m["elapsed_s"],
                    "link": notify.run_link(m["execution_id"], settings),
                    "notifications": m["notifications"],
                },
            )
        )
    store.append_many("audit_logs", rows)
    return events
