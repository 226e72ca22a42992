"""Every record the run engine writes, in one place: the row shapes (pure functions, one per kind of
row) and :class:`RecorderMixin`, the engine's methods that build a row and append it to the store.

Rows written (tables in :mod:`engine.schema`):

- ``workflow_executions``: :func:`exec_row` (a full row each time; newest ``seq`` wins) and
  :func:`exec_row_update` (a changed copy of a recorded row, for runs nobody drives);
- ``state_transitions``: :func:`step_row` (a state's completion, failure, skip, decision or join);
- ``step_logs``: :func:`step_log_row` (what an attempt printed, when it printed anything);
- ``audit_logs``: :func:`audit_row`;
- ``recovery_actions``: :func:`recovery_row` (a strategy chosen, finished by
  :func:`finished_recovery_row`) and :func:`human_recovery_row` (an escalation answered on replay);
- ``human_requests``: :func:`request_row` (open) and :func:`answered_request_row`;
- ``control_requests``: :func:`cancel_request_row`.

Row builders take the time as an argument where it matters, so tests can check shapes exactly.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engine import records
from engine.run.parts import EngineParts
from engine.run.state import Exec, Token, jsonable, now, ts
from engine.step_logs import step_logs_of

if TYPE_CHECKING:
    from engine.recovery import Failure, RecoveryDecision

log = logging.getLogger("workbench.runner")

AUDIT_MESSAGE_MAX = 2000


# ------------------------------------------------------------------------------------ row shapes
def exec_row(ex: Exec, owner: str, seq: int, at: dt.datetime, **over) -> dict:
    """The full ``workflow_executions`` row of a run as it is now (``over`` sets or adds columns)."""
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
        "options": ex.options_text(),
        "parent_execution_id": ex.parent_id,
        "rerun_of": ex.rerun_of,
        "rerun_from": ex.rerun_from,
        "owner": owner,
        "start_time": ex.start_time,
        "end_time": None,
        "duration_ms": None,
        "updated_at": at,
        "seq": seq,
    }
    row.update(over)
    return row


def exec_row_update(row: dict, at: dt.datetime, **over) -> dict:
    """A recorded execution row changed by ``over`` (JSON columns decoded, the next ``seq``)."""
    new = records.decode("workflow_executions", row)
    new.update(over, updated_at=at, seq=(row.get("seq") or 0) + 1)
    return new


def step_row(
    ex: Exec,
    token_id: str,
    state: str,
    visit: int,
    seq: int,
    at: dt.datetime,
    *,
    status: str,
    to_state: str | None,
    ttype: str,
    out: Mapping[str, Any] | None = None,
    attempt: int = 1,
    cond: str | None = None,
    cond_result: bool | None = None,
    ai: dict | None = None,
    action: str = "noop",
    executed_on: str = "inline",
    updates: Mapping[str, Any] | None = None,
    wall: float | None = None,
) -> dict:
    """A ``state_transitions`` row: a state's end (or a decision, a join) and the transition chosen.

    ``out`` is the task's result record (timings, keys, node, error); ``wall`` the epoch time used
    when it has no timings (now by default)."""
    out = out or {}
    wall = time.time() if wall is None else wall
    started = out.get("started_at") or wall
    ended = out.get("ended_at") or wall
    snapshot = updates if updates is not None else out.get("updates")
    return {
        "id": f"{ex.id}-{seq}",
        "execution_id": ex.id,
        "workflow_id": ex.workflow_id,
        "version": ex.version,
        "from_state": state,
        "to_state": to_state,
        "transition_type": ttype,
        "token": token_id,
        "visit": visit,
        "attempt": attempt,
        "status": status,
        "context_snapshot": dict(snapshot) if isinstance(snapshot, Mapping) else snapshot,
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
        "started_at": ts(started),
        "ended_at": ts(ended),
        "timestamp": at,
        "duration_ms": out.get("duration_ms", (ended - started) * 1000),
    }


def step_log_row(step: dict, text: str) -> dict:
    """A ``step_logs`` row: what the attempt a step row records printed (already bounded and redacted)."""
    return {
        "id": step["id"],
        "execution_id": step["execution_id"],
        "workflow_id": step["workflow_id"],
        "state": step["from_state"],
        "token": step["token"],
        "visit": step["visit"],
        "attempt": step["attempt"],
        "status": step["status"],
        "executed_on": step["executed_on"],
        "text": text,
        "timestamp": step["timestamp"],
    }


def step_event(row: dict) -> dict:
    """What ``on_step`` listeners get for a recorded step row."""
    return {
        "execution_id": row["execution_id"],
        "state": row["from_state"],
        "status": row["status"],
        "to_state": row["to_state"],
        "token": row["token"],
        "attempt": row["attempt"],
        "duration_ms": row["duration_ms"],
        "error": row["error_message"],
        "executed_on": row["executed_on"],
    }


def audit_row(
    execution_id: str,
    level: str,
    state: str | None,
    event: str,
    message: str,
    at: dt.datetime,
    metadata: dict | None = None,
    stack: str | None = None,
) -> dict:
    """An ``audit_logs`` line (the message cut at 2,000 characters)."""
    return {
        "id": uuid.uuid4().hex,
        "execution_id": execution_id,
        "timestamp": at,
        "level": level,
        "state": state,
        "event_type": event,
        "message": message[:AUDIT_MESSAGE_MAX],
        "metadata": metadata,
        "stack_trace": stack,
    }


def recovery_row(ex: Exec, f: Failure, d: RecoveryDecision, token_id: str, at: dt.datetime) -> dict:
    """A ``recovery_actions`` row for a strategy just chosen (``success`` and duration filled when it ends)."""
    return {
        "id": uuid.uuid4().hex,
        "execution_id": ex.id,
        "workflow_id": ex.workflow_id,
        "timestamp": at,
        "error_type": f.error_type,
        "error_class": f.error_class,
        "error_message": f.message[:1000],
        "error_state": f.state,
        "error_context": {"keys": f.context_keys[:50], "token": token_id},
        "recovery_strategy": d.strategy,
        "chosen_by": d.chosen_by,
        "ai_suggested": d.ai_suggested,
        "ai_reasoning": d.ai_reasoning or None,
        "reasoning": d.reasoning,
        "parameters": {**d.parameters, "delay_s": round(d.delay_s, 3)},
        "attempt": f.attempt,
        "success": None,
        "recovery_duration_ms": None,
    }


def finished_recovery_row(row: dict, success: bool | None, duration_ms: float) -> dict:
    """An open recovery row with its result."""
    return {**row, "success": success, "recovery_duration_ms": duration_ms}


def human_recovery_row(ex: Exec, state: str, answer: str, attempt: int, at: dt.datetime) -> dict:
    """A ``recovery_actions`` row for an escalation a person already answered (applied on replay)."""
    return {
        "id": uuid.uuid4().hex,
        "execution_id": ex.id,
        "workflow_id": ex.workflow_id,
        "timestamp": at,
        "error_state": state,
        "recovery_strategy": answer,
        "chosen_by": "human",
        "attempt": attempt,
        "reasoning": f"a person chose {answer} for the escalated failure",
        "success": answer != "abort",
        "ai_suggested": False,
    }


def request_row(
    request_id: str,
    execution_id: str,
    state: str,
    kind: str,
    prompt: str,
    options: list[str],
    details: dict | None,
    at: dt.datetime,
) -> dict:
    """An open ``human_requests`` row (an approval, decision or escalation waiting for a person)."""
    return {
        "request_id": request_id,
        "execution_id": execution_id,
        "state": state,
        "kind": kind,
        "prompt": prompt,
        "options": options,
        "details": jsonable(details or {}),
        "status": "open",
        "answer": None,
        "answered_by": None,
        "created_at": at,
        "updated_at": at,
    }


def answered_request_row(req: dict, answer: str, by: str, at: dt.datetime) -> dict:
    """A recorded request row, answered (JSON columns decoded; the store assigns the new ``seq``)."""
    row = dict(req, status="answered", answer=answer, answered_by=by, updated_at=at, seq=None)
    row["options"] = records.loads(req.get("options"), None) or []
    row["details"] = records.loads(req.get("details"), None)
    return row


def cancel_request_row(execution_id: str, at: dt.datetime) -> dict:
    """A ``control_requests`` row asking the process that drives a run to cancel it."""
    return {"id": uuid.uuid4().hex, "execution_id": execution_id, "command": "cancel", "created_at": at}


# ------------------------------------------------------------------------------------ writing them
class RecorderMixin(EngineParts):
    """The engine's writes: each method builds one row shape above and appends it to the store.

    Needs ``self.store``, ``self.owner`` and ``self._listeners`` (execution id -> on_step callbacks)."""

    def _record_exec(self, ex: Exec, **over) -> None:
        """Append the run's execution row as it is now (newest ``seq`` wins)."""
        row = exec_row(ex, self.owner, ex.next_seq(), now(), **over)
        # a full row (newest wins), but NULLs need not be sent: the store fills missing columns with NULL
        self.store.append("workflow_executions", {k: v for k, v in row.items() if v is not None})

    def _append_exec_row_raw(self, row: dict, **over) -> None:
        """Append a changed copy of a recorded execution row (a run nobody drives: cancelled in the store)."""
        self.store.append("workflow_executions", exec_row_update(row, now(), **over))

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
        self.store.append("audit_logs", audit_row(execution_id, level, state, event, message, now(), metadata, stack))

    def _record_step(self, ex: Exec, token: Token, state: str, visit: int, logs: str | None = None, **fields) -> None:
        """Append a state transition row (see :func:`step_row`), with what the attempt printed (``logs``,
        else the task record's) in ``step_logs``, and tell the run's ``on_step`` listeners."""
        row = step_row(ex, token.id, state, visit, ex.next_seq(), now(), **fields)
        self.store.append("state_transitions", row)  # NULL values are left out by the store
        text = logs or step_logs_of(fields.get("out"))
        if text:
            self.store.append("step_logs", step_log_row(row, text))
        for cb in self._listeners.get(ex.id, ()):
            try:
                cb(step_event(row))
            except BaseException as exc:
                log.warning("on_step listener of %s raised %s: %s", ex.id, type(exc).__name__, exc)

    def _open_recovery(self, ex: Exec, f: Failure, d: RecoveryDecision, token: Token) -> None:
        """A recovery strategy was chosen: keep its row open (recorded by :meth:`_close_recovery`), log it."""
        ex.open_recovery.append({"row": recovery_row(ex, f, d, token.id, now()), "t0": time.perf_counter()})
        ex.recovery_log.append(
            {
                "state": f.state,
                "strategy": d.strategy,
                "reasoning": d.reasoning,
                "error": f"{f.error_type}: {f.message[:200]}",
                "chosen_by": d.chosen_by,
            }
        )
        self._audit(
            ex.id,
            "warning",
            f.state,
            "recovery_chosen",
            f"{d.strategy}: {d.reasoning}",
            {"strategy": d.strategy, "chosen_by": d.chosen_by, "error_class": f.error_class},
        )

    def _close_recovery(self, ex: Exec, success: bool | None, duration_ms: float | None = None) -> None:
        """Record the newest open recovery row with its result (no-op when none is open)."""
        if not ex.open_recovery:
            return
        pending = ex.open_recovery.pop()
        took = duration_ms if duration_ms is not None else (time.perf_counter() - pending["t0"]) * 1000
        self.store.append("recovery_actions", finished_recovery_row(pending["row"], success, took))

    def _record_human_recovery(self, ex: Exec, state: str, answer: str, attempt: int) -> None:
        """An escalation answered before (applied on replay): its recovery row and log entry."""
        self.store.append("recovery_actions", human_recovery_row(ex, state, answer, attempt, now()))
        ex.recovery_log.append(
            {"state": state, "strategy": answer, "chosen_by": "human", "reasoning": f"a person chose {answer}"}
        )
