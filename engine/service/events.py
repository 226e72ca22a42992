"""Live events of one execution, read from the same records the monitor reads.

:class:`EventReader` turns the rows of ``state_transitions``, ``recovery_actions``, ``ai_decisions``,
``human_requests``, ``audit_logs`` and ``workflow_executions`` into an ordered list of events; each
:meth:`EventReader.poll` returns only what is new since the previous call. A reader that starts late
first gets everything that happened so far. The stream is over once the execution has a final status.

Event types: ``execution_status``, ``state_started``, ``state_finished``, ``state_failed``,
``retrying``, ``recovery_action``, ``decision``, ``waiting``, ``answered``, ``audit`` and, last,
``execution_finished``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from engine import records
from engine.dsl.model import END, START
from engine.schema import FINISHED_STATUSES
from engine.workbench import runs

# audit events already reported through a more specific record
_COVERED_AUDIT = {"state_failed", "ai_decision", "waiting", "human_answer", "recovery_chosen"}


def _iso(v: Any) -> Any:
    return v.isoformat() if isinstance(v, (dt.datetime, dt.date)) else v


def _clean(row: dict) -> dict:
    return {k: _iso(v) for k, v in row.items() if v is not None}


class EventReader:
    """Incremental reader of one execution's events (not thread-safe: one per stream)."""

    def __init__(self, store, execution_id: str):
        self.store, self.execution_id = store, execution_id
        self.seen: set[tuple] = set()
        self.status: tuple | None = None  # (status, the state a waiting run waits at) last reported
        self.finished = False
        self.sequence = 0
        self.entered: set[str] = set()  # states announced as started whose own record is not in yet

    def _new(self, key: tuple) -> bool:
        if key in self.seen:
            return False
        self.seen.add(key)
        return True

    def poll(self) -> list[dict]:
        """New events since the last call, oldest first (``execution_finished`` last)."""
        eid = self.execution_id
        ex = runs.execution(self.store, eid)
        if ex is None:
            return []
        found: list[tuple[Any, int, dict]] = []  # (timestamp, order, event)

        def add(ts, kind: str, data: dict, order: int = 0) -> None:
            found.append((ts or dt.datetime.min, order, {"type": kind, "timestamp": _iso(ts), **data}))

        for t in runs.transitions(self.store, eid):
            if not self._new(("t", t["id"])):
                continue
            state, status, ts = t["from_state"], t["status"], t["timestamp"]
            base = {"state": state, "token": t.get("token"), "attempt": t.get("attempt")}
            if state != START and (t.get("attempt") or 1) == 1 and state not in self.entered:
                add(t.get("started_at") or ts, "state_started", base, 0)  # not announced by a predecessor
            self.entered.discard(state)
            kind = "state_failed" if status == "failed" else "state_finished"
            add(
                ts,
                kind,
                {
                    **base,
                    "status": status,
                    "to_state": t.get("to_state"),
                    "duration_ms": t.get("duration_ms"),
                    "executed_on": t.get("executed_on"),
                    "transition_type": t.get("transition_type"),
                    "condition": t.get("condition_evaluated"),
                    "condition_result": t.get("condition_result"),
                    "error": t.get("error_message"),
                    "error_type": t.get("error_type"),
                },
                1,
            )
            if status != "failed":
                for target in runs.targets(t.get("to_state")):
                    if target != END and target not in self.entered:  # a fan-in is entered once
                        self.entered.add(target)
                        add(ts, "state_started", {"state": target, "after": state}, 2)
        for r in runs.recovery_actions(self.store, eid):
            key = ("r", r["timestamp"], r["error_state"], r["recovery_strategy"], r.get("attempt"))
            if not self._new(key):
                continue
            data = {
                "state": r["error_state"],
                "strategy": r["recovery_strategy"],
                "chosen_by": r.get("chosen_by"),
                "error_class": r.get("error_class"),
                "error": r.get("error_message"),
                "attempt": r.get("attempt"),
                "reasoning": r.get("reasoning"),
                "success": r.get("success"),
            }
            add(r["timestamp"], "recovery_action", data, 3)
            if r["recovery_strategy"] == "retry":
                add(r["timestamp"], "retrying", {"state": r["error_state"], "attempt": (r.get("attempt") or 1) + 1}, 4)
        for d in runs.ai_decisions(self.store, eid, ex):
            key = ("d", str(d.get("timestamp")), d.get("state"), d.get("condition"))
            if self._new(key):
                add(d.get("timestamp"), "decision", _clean(dict(d)), 2)
        for h in records.human_requests(self.store, eid):
            # the view keeps a request's newest row: an answered one was open before (a late reader sees both)
            if self._new(("h", h["request_id"], "open")):
                add(
                    h["created_at"],
                    "waiting",
                    {
                        "state": h["state"],
                        "kind": h["kind"],
                        "prompt": h["prompt"],
                        "options": records.loads(h["options"], []),
                    },
                    4,
                )
            if h["status"] == "answered" and self._new(("h", h["request_id"], "answered")):
                add(
                    h["updated_at"],
                    "answered",
                    {"state": h["state"], "kind": h["kind"], "answer": h["answer"], "by": h["answered_by"]},
                    4,
                )
        for a in runs.audit_log(self.store, eid):
            if a["event_type"] in _COVERED_AUDIT:
                continue
            key = ("a", str(a["timestamp"]), a["event_type"], a.get("state"), a["message"])
            if self._new(key):
                add(
                    a["timestamp"],
                    "audit",
                    {"event": a["event_type"], "level": a["level"], "state": a.get("state"), "message": a["message"]},
                    5,
                )
        found.sort(key=lambda x: (x[0], x[1]))
        events = [e for _, _, e in found]
        where = (ex["status"], ex.get("current_state") if ex["status"] == "waiting" else None)
        if where != self.status:  # a new status, or waiting somewhere else (a timer ended, then an approval)
            self.status = where
            events.append(
                {
                    "type": "execution_status",
                    "timestamp": _iso(ex.get("updated_at")),
                    "status": ex["status"],
                    "current_state": ex.get("current_state"),
                }
            )
        if ex["status"] in FINISHED_STATUSES and not self.finished:
            self.finished = True
            events.append(
                {
                    "type": "execution_finished",
                    "timestamp": _iso(ex.get("end_time")),
                    "status": ex["status"],
                    "error": ex.get("error_message"),
                    "duration_ms": ex.get("duration_ms"),
                    "states_visited": ex.get("states_visited"),
                    "final_context": ex.get("final_context"),
                }
            )
        for e in events:
            self.sequence += 1
            e["seq"] = self.sequence
            e["execution_id"] = eid
        return [{k: v for k, v in e.items() if v is not None} for e in events]


def sse(event: dict) -> bytes:
    """One Server-Sent Events frame: ``id``, ``event`` and a JSON ``data`` line."""
    data = json.dumps(event, default=str, ensure_ascii=False)
    return f"id: {event.get('seq', '')}\nevent: {event['type']}\ndata: {data}\n\n".encode()
